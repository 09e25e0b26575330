#!/usr/bin/env python3
"""Interop: independent POP3 clients against ternd, an independent IMAP client as the reference.

Usage: pop3_client.py HOST POP3_PORT POP3S_PORT IMAPS_PORT USER OTHER_USER PASSWORD TERN_CONFIG TERNCTL
1. imaplib APPENDs messages (8-bit UTF-8, dot lines, a long line, a lone dot line) to USER's INBOX.
2. poplib over POP3_SSL (995 style) RETRs every message: the bytes must equal imaplib's BODY.PEEK[]; TOP, LIST,
   UIDL and STAT agree. poplib over POP3 + STLS (110 style): USER is refused before STLS with [AUTH], CAPA
   changes after it, UIDLs are the same as in the first session; DELE 1 + QUIT and IMAP no longer sees it.
3. fetchmail (Debian) over POP3S fetches everything with an MDA into files and deletes: the files hold the
   messages, and the INBOX is empty over IMAP.
4. `ternctl deleted restore USER --all` brings every message back, byte for byte.
Prints "ok poplib N", "ok fetchmail N", "ok restore N" or exits 1 naming the first mismatch.
"""
import getpass
import imaplib
import os
import poplib
import re
import ssl
import stat
import subprocess
import sys
import tempfile

host, pop3_port, pop3s_port, imaps_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
user, other, password, config, ternctl = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def fail(what):
    print("FAILED:", what, file=sys.stderr)
    sys.exit(1)


def imap_messages():
    """INBOX over IMAP, BODY.PEEK[] bytes in UID order."""
    imap = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=ctx)
    imap.login(user, password)
    typ, data = imap.select("INBOX", readonly=True)
    if typ != "OK":
        fail(f"IMAP SELECT: {data}")
    count = int(data[0])
    result = []
    if count:
        typ, data = imap.fetch(f"1:{count}", "(BODY.PEEK[])")
        result = [item[1] for item in data if isinstance(item, tuple)]
    imap.logout()
    return result


messages = [
    (
        f"From: Bob <{other}>\r\nTo: <{user}>\r\nSubject: message {n}\r\n"
        "Date: Sun, 22 Nov 2026 10:00:00 +0100\r\n"
        f"Message-ID: <pop3-{n}@interop.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Grüße, number {n}.\r\n"
        ".a line that starts with a dot\r\n"
        ".\r\n"
        "..two dots\r\n"
        + "y" * 900 + "\r\n"
        "last line\r\n"
    ).encode("utf-8")
    for n in range(1, 4)
]

# 1. Deliver through IMAP.
imap = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=ctx)
imap.login(user, password)
for message in messages:
    typ, data = imap.append("INBOX", None, None, message)
    if typ != "OK":
        fail(f"APPEND: {data}")
imap.logout()
reference = imap_messages()
if reference != messages:
    fail("IMAP does not return the appended bytes")

# 2a. poplib over implicit TLS.
pop = poplib.POP3_SSL(host, pop3s_port, context=ctx, timeout=30)
if not pop.getwelcome().startswith(b"+OK"):
    fail(f"greeting {pop.getwelcome()!r}")
pop.user(user)
pop.pass_(password)
count, size = pop.stat()
if count != len(messages) or size != sum(len(m) for m in messages):
    fail(f"STAT {count} {size}")
_, listing, _ = pop.list()
if [int(line.split()[1]) for line in listing] != [len(m) for m in messages]:
    fail(f"LIST {listing}")
_, uidls, _ = pop.uidl()
uidls = [line.split()[1] for line in uidls]
for number, expected in enumerate(reference, start=1):
    _, lines, octets = pop.retr(number)
    got = b"\r\n".join(lines) + b"\r\n"
    if got != expected:
        fail(f"RETR {number}: {got[:200]!r} != {expected[:200]!r}")
_, top, _ = pop.top(1, 1)
if b"\r\n".join(top) + b"\r\n" != reference[0].split(b"\r\n\r\n", 1)[0] + "\r\n\r\nGrüße, number 1.\r\n".encode():
    fail(f"TOP 1 1: {top!r}")
pop.quit()

# 2b. poplib over STLS on the plaintext port.
pop = poplib.POP3(host, pop3_port, timeout=30)
capabilities = pop.capa()
if "STLS" not in capabilities or "USER" in capabilities:
    fail(f"CAPA before TLS: {capabilities}")
try:
    pop.user(user)
    fail("USER accepted before STLS")
except poplib.error_proto as error:
    if b"[AUTH]" not in error.args[0]:
        fail(f"USER before STLS: {error}")
pop.stls(context=ctx)
capabilities = pop.capa()
if "USER" not in capabilities or "STLS" in capabilities or "UIDL" not in capabilities:
    fail(f"CAPA after TLS: {capabilities}")
pop.user(user)
pop.pass_(password)
_, again, _ = pop.uidl()
if [line.split()[1] for line in again] != uidls:
    fail(f"UIDL differs between sessions: {again} {uidls}")
pop.dele(1)
try:
    pop.dele(1)
    fail("DELE of a deleted message accepted")
except poplib.error_proto:
    pass
pop.quit()
if imap_messages() != reference[1:]:
    fail("IMAP still sees the message deleted with POP3")
print(f"ok poplib {len(messages)}")

# 3. fetchmail over POP3S: fetch all, deliver to files through an MDA, delete.
with tempfile.TemporaryDirectory() as work:
    out = os.path.join(work, "mail")
    os.mkdir(out)
    mda = os.path.join(work, "deliver.sh")
    with open(mda, "w") as f:
        f.write(f'#!/bin/sh\nexec cat > "{out}/msg.$$"\n')
    os.chmod(mda, 0o755)
    rc = os.path.join(work, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(
            "set no bouncemail\n"
            "set invisible\n"
            f"poll {host} protocol pop3 port {pop3s_port}\n"
            f'    user "{user}" there with password "{password}" is "{getpass.getuser()}" here\n'
            "    ssl no sslcertck\n"
            "    fetchall no keep no rewrite no stripcr\n"
            f'    mda "{mda}"\n'
        )
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
    env = dict(os.environ, HOME=work, FETCHMAILHOME=work)
    run = subprocess.run(["fetchmail", "-f", rc, "-v", "--nosyslog", "--nodetach"], env=env, capture_output=True,
                         timeout=60)
    if run.returncode != 0:
        fail(f"fetchmail exit {run.returncode}: {run.stdout.decode(errors='replace')}{run.stderr.decode(errors='replace')}")
    files = sorted(os.listdir(out))
    fetched = sorted(open(os.path.join(out, name), "rb").read() for name in files)
    # fetchmail hands lines to the MDA as it received them; line ends are compared without CR.
    normalized = sorted(m.replace(b"\r\n", b"\n") for m in reference[1:])
    if [m.replace(b"\r\n", b"\n") for m in fetched] != normalized:
        fail(f"fetchmail delivered {len(fetched)} files: {[f[:300] for f in fetched]!r}")
    if imap_messages():
        fail("the INBOX is not empty after fetchmail")
    print(f"ok fetchmail {len(fetched)}")

# 4. Everything deleted through POP3 comes back.
restore = subprocess.run([ternctl, "deleted", "restore", user, "--all", "--config", config], capture_output=True,
                         timeout=60)
if restore.returncode != 0:
    fail(f"ternctl deleted restore: {restore.stderr.decode(errors='replace')}")
back = imap_messages()
if sorted(back) != sorted(messages):
    fail(f"restored {len(back)} messages, not the originals")
print(f"ok restore {len(back)}")
