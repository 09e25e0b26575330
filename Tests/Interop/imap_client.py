#!/usr/bin/env python3
"""Interop: Python's imaplib (an independent IMAP client) against ternd.

Usage: imap_client.py HOST IMAPS_PORT IMAP_PORT USER PASSWORD
Runs every command imaplib can send that Tern implements and checks the answers; exits 1 with a message on the
first mismatch.
"""
import imaplib
import ssl
import sys

host, imaps_port, imap_port, user, password = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


# STARTTLS on the plaintext port, then LOGIN.
plain = imaplib.IMAP4(host, imap_port)
check("LOGINDISABLED" in plain.capabilities, "LOGINDISABLED before STARTTLS")
ok(plain.starttls(ssl_context=ctx), "STARTTLS")
ok(plain.login(user, password), "LOGIN after STARTTLS")
check(plain.logout()[0] == "BYE", "LOGOUT")

m = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=ctx)
try:
    m.login(user, "wrong password 9")
    check(False, "wrong password accepted")
except imaplib.IMAP4.error as error:
    check("AUTHENTICATIONFAILED" in str(error), f"wrong password reply: {error}")
ok(m.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode()), "AUTHENTICATE PLAIN")
ok(m.capability(), "CAPABILITY")
ok(m.noop(), "NOOP")
ok(m._simple_command("ENABLE", "CONDSTORE"), "ENABLE")
ok(m.namespace(), "NAMESPACE")
boxes = ok(m.list(), "LIST")
check(any(b"\\Sent" in line for line in boxes), f"special-use in LIST: {boxes}")
ok(m.create("Interop/Sub"), "CREATE")
ok(m.subscribe("Interop/Sub"), "SUBSCRIBE")
check(any(b"Interop/Sub" in line for line in ok(m.lsub(), "LSUB")), "LSUB shows the subscription")
ok(m.rename("Interop/Sub", "Interop/Renamed"), "RENAME")
ok(m.unsubscribe("Interop/Renamed"), "UNSUBSCRIBE")
status = ok(m.status("INBOX", "(MESSAGES UIDNEXT UNSEEN)"), "STATUS")
check(b"MESSAGES 0" in status[0], f"STATUS: {status}")

messages = []
for n in range(1, 6):
    body = (f"From: Sender {n} <s{n}@example.org>\r\nTo: {user}\r\nSubject: interop {n}\r\n"
            f"Date: Sat, 21 Nov 2026 1{n}:00:00 +0000\r\nMessage-ID: <interop{n}@example.org>\r\n\r\n"
            f"Body number {n}\r\n").encode()
    messages.append(body)
    data = ok(m.append("INBOX", "(\\Seen)" if n % 2 else None, imaplib.Time2Internaldate(1_700_000_000 + n), body), "APPEND")
    check(b"APPENDUID" in data[0], f"APPENDUID: {data}")

typ, data = m.select("INBOX")
check(typ == "OK" and data == [b"5"], f"SELECT: {typ} {data}")
ok(m.check(), "CHECK")
# Byte-identical bodies.
for n, body in enumerate(messages, start=1):
    data = ok(m.fetch(str(n), "(BODY.PEEK[])"), "FETCH BODY.PEEK[]")
    check(data[0][1] == body, f"message {n} came back different")
data = ok(m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"), "UID FETCH")
check(len([d for d in data if d != b")"]) == 5, f"UID FETCH count: {data}")
check(b'INTERNALDATE "14-Nov-2023 22:13:21 +0000"' in data[0], f"INTERNALDATE kept: {data[0]}")
check(ok(m.search(None, "UNSEEN"), "SEARCH UNSEEN") == [b"2 4"], "SEARCH UNSEEN")
check(ok(m.search(None, "SUBJECT", '"interop 3"'), "SEARCH SUBJECT") == [b"3"], "SEARCH SUBJECT")
check(ok(m.uid("SEARCH", "FROM", "s5@"), "UID SEARCH") == [b"5"], "UID SEARCH FROM")
check(ok(m.sort("(REVERSE DATE)", "UTF-8", "ALL"), "SORT") == [b"5 4 3 2 1"], "SORT REVERSE DATE")
check(ok(m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL"), "UID SORT") == [b"1 2 3 4 5"], "UID SORT SUBJECT")
check(ok(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"), "THREAD") == [b"(1)(2)(3)(4)(5)"], "THREAD ORDEREDSUBJECT")
check(ok(m.thread("REFERENCES", "UTF-8", "ALL"), "THREAD REFERENCES") == [b"(1)(2)(3)(4)(5)"], "THREAD REFERENCES")
data = ok(m.store("1:2", "+FLAGS", "(\\Flagged)"), "STORE")
check(len(data) == 2 and b"\\Flagged" in data[0], f"STORE reply: {data}")
data = ok(m.copy("1", "Archive"), "COPY")
check(ok(m.status("Archive", "(MESSAGES)"), "STATUS Archive")[0].endswith(b"(MESSAGES 1)"), "COPY landed")
ok(m.uid("MOVE", "2", "Trash"), "UID MOVE")
ok(m.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
expunged = ok(m.expunge(), "EXPUNGE")
check(expunged[-1] == b"1", f"EXPUNGE reply: {expunged}")  # earlier: the MOVE's expunge of 2
ok(m.getquotaroot("INBOX"), "GETQUOTAROOT")
ok(m.unselect(), "UNSELECT")
typ, data = m.select("Trash", readonly=True)
check(typ == "OK" and data == [b"1"], f"EXAMINE Trash: {typ} {data}")
typ, data = m.store("1", "+FLAGS", "(\\Seen)")
check(typ == "NO" and b"READ-ONLY" in data[0], f"read-only STORE: {typ} {data}")
ok(m.close(), "CLOSE")
ok(m.delete("Interop/Renamed"), "DELETE")
# IDLE (Python 3.14 has imaplib idle; older ones do not): raw commands.
m.select("INBOX")
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
check(m.readline().startswith(b"+"), "IDLE continuation")
m.send(b"DONE\r\n")
check(m.readline().startswith(tag + b" OK"), "IDLE done")
check(m.logout()[0] == "BYE", "LOGOUT")
print("imaplib interop: all checks passed")
