#!/usr/bin/env python3
"""COMPRESS=DEFLATE (RFC 4978) against ternd with Python's zlib as the independent peer.

Usage: imap_compress.py HOST IMAPS_PORT USER PASSWORD
Logs in over TLS, sends COMPRESS DEFLATE pipelined with a NOOP (compressed right after the command, as RFC 4978
allows), then APPENDs and FETCHes a message through the compressed stream; every server burst must decode
completely (sync flush), with nothing left waiting in the decompressor.
"""
import socket
import ssl
import sys
import zlib

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=10))


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


buffer = b""


def read_plain_line():
    global buffer
    while b"\r\n" not in buffer:
        data = sock.recv(65536)
        check(data, "connection closed")
        buffer += data
    line, buffer = buffer.split(b"\r\n", 1)
    return line


check(read_plain_line().startswith(b"* OK"), "greeting")
sock.sendall(f'a LOGIN "{user}" "{password}"\r\n'.encode())
check(read_plain_line().startswith(b"a OK"), "login")

compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
decompressor = zlib.decompressobj(-15)
# COMPRESS, then at once a compressed NOOP (the server must decompress bytes it had buffered).
sock.sendall(b"b COMPRESS DEFLATE\r\n" + compressor.compress(b"c NOOP\r\n") + compressor.flush(zlib.Z_SYNC_FLUSH))
check(read_plain_line() == b"b OK DEFLATE active", "COMPRESS reply uncompressed")
plain = decompressor.decompress(buffer)
buffer = b""


def read_line():
    global plain
    while b"\r\n" not in plain:
        data = sock.recv(65536)
        check(data, "connection closed while compressed")
        plain += decompressor.decompress(data)
    line, plain = plain.split(b"\r\n", 1)
    return line


def send(data):
    sock.sendall(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))


check(read_line().startswith(b"c OK"), "NOOP pipelined after COMPRESS")
message = b"From: a@example.org\r\nSubject: compressed\r\n\r\n" + b"All work and no play. " * 500 + b"\r\n"
send(b"d APPEND INBOX {%d}\r\n" % len(message))
check(read_line().startswith(b"+"), "continuation")
send(message + b"\r\n")
check(read_line().startswith(b"d OK [APPENDUID"), "APPEND through the compressed stream")
send(b"e SELECT INBOX\r\n")
while True:
    line = read_line()
    if line.startswith(b"e "):
        check(line.startswith(b"e OK"), "SELECT")
        break
send(b"f FETCH 1 BODY.PEEK[]\r\n")
header = read_line()
check(header.endswith(b"{%d}" % len(message)), f"FETCH literal header: {header[:60]}")
while len(plain) < len(message):
    plain += decompressor.decompress(sock.recv(65536))
check(plain[:len(message)] == message, "fetched bytes differ")
plain = plain[len(message):]
check(read_line() == b")", "end of FETCH")
check(read_line().startswith(b"f OK"), "FETCH OK")
check(not decompressor.unconsumed_tail, "nothing left unflushed")
send(b"g COMPRESS DEFLATE\r\n")
check(read_line().startswith(b"g NO [COMPRESSIONACTIVE]"), "second COMPRESS refused")
send(b"h LOGOUT\r\n")
check(read_line().startswith(b"* BYE"), "BYE")
print("compress: all checks passed")
