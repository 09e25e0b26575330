#!/usr/bin/env python3
"""Interop checks of ternd's TLS with Python's ssl module (an independent OpenSSL client), against the test-only
echo listeners. Usage: echo_tls.py CHECK PLAIN_PORT TLS_PORT. Prints one line per check; exits 1 on failure."""
import socket
import ssl
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0/1.1 are offered on purpose

HOST = "127.0.0.1"


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def context(minimum=None, maximum=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            fail("connection closed while reading a line (got %r)" % data)
        data += chunk
    return data


def starttls_injection(plain_port, _tls_port):
    """CVE-2011-0411: a command pipelined after STARTTLS must not run after the handshake."""
    sock = socket.create_connection((HOST, plain_port), timeout=10)
    sock.sendall(b"STARTTLS\r\nINJECTED\r\n")
    if read_line(sock) != b"OK begin TLS\r\n":
        fail("no STARTTLS answer")
    tls = context().wrap_socket(sock, server_hostname="localhost")
    tls.sendall(b"after-handshake\r\n")
    line = read_line(tls)
    if line != b"after-handshake\r\n":
        fail("first line after the handshake was %r: injected plaintext was executed" % line)
    tls.sendall(b"STATS\r\n")
    stats = read_line(tls)
    if b"secure=true" not in stats:
        fail("not secure after STARTTLS: %r" % stats)
    print("ok starttls-injection %s" % tls.version())


def old_versions_refused(_plain_port, tls_port):
    for name, version in (("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1)):
        ctx = context(version, version, "DEFAULT:@SECLEVEL=0")
        try:
            with socket.create_connection((HOST, tls_port), timeout=10) as sock:
                with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                    fail("%s handshake succeeded (%s)" % (name, tls.version()))
        except ssl.SSLError as error:
            if "PROTOCOL_VERSION" not in str(error).upper():
                fail("%s refused for another reason: %s" % (name, error))
            print("ok refused %s: %s" % (name, error.reason))


def modern_versions_accepted(_plain_port, tls_port):
    for name, version in (("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)):
        with socket.create_connection((HOST, tls_port), timeout=10) as sock:
            with context(version, version).wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"hello " + name.encode() + b"\r\n")
                if read_line(tls) != b"hello " + name.encode() + b"\r\n":
                    fail("no echo over " + name)
                print("ok %s %s" % (tls.version(), tls.cipher()[0]))


CHECKS = {
    "starttls-injection": starttls_injection,
    "old-versions-refused": old_versions_refused,
    "modern-versions-accepted": modern_versions_accepted,
}

if __name__ == "__main__":
    CHECKS[sys.argv[1]](int(sys.argv[2]), int(sys.argv[3]))
