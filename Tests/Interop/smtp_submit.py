#!/usr/bin/env python3
"""Interop: independent SMTP clients submit mail to ternd, an independent IMAP client reads it back.

Usage: smtp_submit.py HOST SUBMISSION_PORT SUBMISSIONS_PORT IMAPS_PORT SENDER RECIPIENT PASSWORD WORKDIR
Sends one message each with Python's smtplib (STARTTLS on the submission port, implicit TLS on the submissions
port, AUTH PLAIN and LOGIN), swaks (STARTTLS, AUTH) and curl (smtps:// and smtp:// with --ssl-reqd), then reads the
recipient's INBOX with imaplib: every message must be there, byte for byte, apart from the trace header fields
Tern adds on top (Return-Path, Delivered-To, Received). Prints "ok N" or exits 1 naming the first mismatch.
"""
import imaplib
import os
import smtplib
import ssl
import subprocess
import sys

host, sub_port, subs_port, imaps_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sender, recipient, password, workdir = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def fail(what):
    print("FAILED:", what, file=sys.stderr)
    sys.exit(1)


def message(client):
    # 8-bit UTF-8, a line that starts with a dot, a long line, trailing blank lines: all must arrive unchanged.
    return (
        f"From: Alice <{sender}>\r\n"
        f"To: <{recipient}>\r\n"
        f"Subject: sent with {client}\r\n"
        "Date: Sun, 22 Nov 2026 10:00:00 +0100\r\n"
        f"Message-ID: <{client.replace(' ', '-')}@interop.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"Grüße from {client}.\r\n"
        ".a line that starts with a dot\r\n"
        + "x" * 900 + "\r\n"
        "\r\n"
    ).encode("utf-8")


sent = {}

# smtplib: STARTTLS on the submission port, AUTH PLAIN.
with smtplib.SMTP(host, sub_port) as s:
    s.ehlo()
    if "auth" in s.esmtp_features:
        fail("AUTH offered before STARTTLS")
    s.starttls(context=ctx)
    s.ehlo()
    s.login(sender, password)
    refused = s.sendmail(sender, [recipient], message("smtplib starttls"))
    if refused:
        fail(f"smtplib starttls: refused {refused}")
    sent["smtplib starttls"] = message("smtplib starttls")

# smtplib: implicit TLS (RFC 8314), AUTH LOGIN, BDAT is not used by smtplib; sendmail with SMTPUTF8 off.
with smtplib.SMTP_SSL(host, subs_port, context=ctx) as s:
    s.ehlo()
    s.user, s.password = sender, password
    code, text = s.auth("LOGIN", s.auth_login)
    if code != 235:
        fail(f"AUTH LOGIN: {code} {text}")
    s.sendmail(sender, [recipient], message("smtplib ssl"))
    sent["smtplib ssl"] = message("smtplib ssl")
    try:
        s.sendmail(recipient, [recipient], message("spoofed"))
        fail("a sender the account does not own was accepted")
    except smtplib.SMTPSenderRefused as e:
        if e.smtp_code != 553:
            fail(f"spoofed sender: {e.smtp_code} {e.smtp_error}")

# swaks: STARTTLS and AUTH PLAIN, data from a file.
path = os.path.join(workdir, "swaks.eml")
with open(path, "wb") as f:
    f.write(message("swaks")[:-2])  # swaks ends the data with CRLF "." CRLF itself
result = subprocess.run(
    ["swaks", "--server", f"{host}:{sub_port}", "--tls", "--auth", "PLAIN", "--auth-user", sender,
     "--auth-password", password, "--from", sender, "--to", recipient, "--data", "@" + path, "--silent", "2"],
    capture_output=True, text=True, timeout=60)
if result.returncode != 0:
    fail(f"swaks exited {result.returncode}: {result.stdout} {result.stderr}")
sent["swaks"] = message("swaks")

# curl: smtps:// and smtp:// with --ssl-reqd.
for name, url in (("curl smtps", f"smtps://{host}:{subs_port}"), ("curl starttls", f"smtp://{host}:{sub_port}")):
    path = os.path.join(workdir, name.replace(" ", "-") + ".eml")
    with open(path, "wb") as f:
        f.write(message(name))
    args = ["curl", "-s", "-S", "-k", "--url", url, "--mail-from", sender, "--mail-rcpt", recipient,
            "--user", f"{sender}:{password}", "--upload-file", path]
    if url.startswith("smtp://"):
        args.insert(1, "--ssl-reqd")
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        fail(f"{name} exited {result.returncode}: {result.stderr}")
    sent[name] = message(name)


def without_trace(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.split(b":", 1)[0].lower() in (b"return-path", b"delivered-to", b"received")
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept) + sep + body


m = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=ctx)
m.login(recipient, password)
typ, data = m.select("INBOX")
if typ != "OK" or int(data[0]) != len(sent):
    fail(f"INBOX has {data}, expected {len(sent)} messages")
typ, data = m.fetch("1:*", "(BODY.PEEK[])")
received = [item[1] for item in data if isinstance(item, tuple)]
by_subject = {}
for raw in received:
    subject = [line for line in raw.split(b"\r\n") if line.startswith(b"Subject: sent with ")][0]
    by_subject[subject[len(b"Subject: sent with "):].decode()] = raw
for name, original in sent.items():
    got = by_subject.get(name)
    if got is None:
        fail(f"{name}: not in INBOX")
    if not got.startswith(b"Return-Path: <" + sender.encode() + b">\r\nDelivered-To: " + recipient.encode() + b"\r\nReceived: "):
        fail(f"{name}: trace headers missing: {got[:200]!r}")
    if without_trace(got) != original:
        fail(f"{name}: bytes differ:\n{without_trace(got)!r}\n{original!r}")
m.logout()
print("ok", len(sent))
