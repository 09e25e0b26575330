#!/usr/bin/env python3
"""Interop: mbsync (isync) two-way sync of 300 messages with ternd.

Usage: mbsync_sync.py WORKDIR IMAPS_PORT USER PASSWORD CERTIFICATE
1. 300 local messages go up; the server has them byte for byte.
2. Changes on both sides (new mail, flags, deletions) cross over.
3. A further run changes nothing on either side.
Exits 1 with a message on the first mismatch.
"""
import imaplib
import os
import ssl
import subprocess
import sys

work, port, user, password, certificate = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
local = os.path.join(work, "local")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def message(n, tag="local"):
    return (f"From: {tag} {n} <{tag}{n}@example.org>\r\nTo: {user}\r\nSubject: {tag} message {n}\r\n"
            f"Date: Sat, 21 Nov 2026 10:{n % 60:02d}:00 +0000\r\nMessage-ID: <{tag}{n}@example.org>\r\n\r\n"
            f"Body of {tag} message {n}\r\n" + ("x" * (n % 7) * 100) + "\r\n").encode()


inbox = os.path.join(local, "INBOX")
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(inbox, sub), exist_ok=True)
originals = {}
for n in range(1, 301):
    body = message(n)
    originals[f"<local{n}@example.org>"] = body
    flags = "S" if n % 3 == 0 else ""
    with open(os.path.join(inbox, "cur", f"1700000000.{n}_0.tern-test:2,{flags}"), "wb") as f:
        f.write(body)

rc = os.path.join(work, "mbsyncrc")
with open(rc, "w") as f:
    f.write(f"""IMAPAccount tern
Host localhost
Port {port}
User {user}
Pass "{password}"
SSLType IMAPS
CertificateFile {certificate}

IMAPStore remote
Account tern

MaildirStore near
Path {local}/
Inbox {inbox}
SubFolders Verbatim

Channel sync
Far :remote:
Near :near:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
""")


def mbsync():
    result = subprocess.run(["mbsync", "-c", rc, "-V", "sync"], capture_output=True, text=True, timeout=300)
    check(result.returncode == 0, f"mbsync exit {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def server_state():
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    m.login(user, password)
    typ, data = m.select("INBOX", readonly=True)
    state = {}
    if int(data[0]) > 0:
        typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                head, body = item
                uid = int(head.split(b"UID ")[1].split(b" ")[0].rstrip(b")"))
                flags = head.split(b"FLAGS (")[1].split(b")")[0].decode()
                state[uid] = (flags, body)
    m.logout()
    return state


def local_state():
    files = {}
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(inbox, sub)):
            with open(os.path.join(inbox, sub, name), "rb") as f:
                files[sub + "/" + name] = f.read()
    return files


def without_tuid(body):
    """mbsync adds an X-TUID header to what it uploads (to find the message again); the rest must be identical."""
    return b"".join(line for line in body.splitlines(keepends=True) if not line.startswith(b"X-TUID: "))


def message_id(body):
    for line in body.splitlines():
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return None


# 1. Up.
mbsync()
state = server_state()
check(len(state) == 300, f"server has {len(state)} messages after the first sync")
by_id = {message_id(body): (flags, body) for flags, body in state.values()}
check(all(without_tuid(by_id.get(mid, (None, b""))[1]) == body for mid, body in originals.items()), "bytes differ on the server")
check(all(("\\Seen" in by_id[f"<local{n}@example.org>"][0]) == (n % 3 == 0) for n in range(1, 301)), "flags differ")

# 2. Changes on both sides.
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
m.login(user, password)
for n in range(1, 6):
    m.append("INBOX", None, None, message(n, tag="remote"))
m.select("INBOX")
uids = sorted(state)
m.uid("STORE", ",".join(str(u) for u in uids[0:10]), "+FLAGS", "(\\Flagged)")
m.uid("STORE", ",".join(str(u) for u in uids[10:15]), "+FLAGS", "(\\Deleted)")
m.expunge()
m.logout()
removed_remote = {message_id(state[u][1]) for u in uids[10:15]}
files = sorted(os.listdir(os.path.join(inbox, "cur")))
deleted_local = set()
seen_local = set()
for name in files[100:105]:
    with open(os.path.join(inbox, "cur", name), "rb") as f:
        deleted_local.add(message_id(f.read()))
    os.unlink(os.path.join(inbox, "cur", name))
for name in files[200:210]:
    with open(os.path.join(inbox, "cur", name), "rb") as f:
        mid = message_id(f.read())
    base, info = name.split(":2,")
    if "S" in info:
        continue
    seen_local.add(mid)
    os.rename(os.path.join(inbox, "cur", name), os.path.join(inbox, "cur", base + ":2," + "".join(sorted(info + "S"))))
mbsync()

state = server_state()
ids = {message_id(body): flags for flags, body in state.values()}
check(len(state) == 300 + 5 - 5 - len(deleted_local - removed_remote), f"server count after changes: {len(state)}")
check(all(f"<remote{n}@example.org>" in ids for n in range(1, 6)), "remote mail lost")
check(not (deleted_local & set(ids)), "local deletions did not reach the server")
check(not (removed_remote & set(ids)), "remote deletions came back")
check(all("\\Seen" in ids[mid] for mid in seen_local), "local \\Seen did not reach the server")
files = local_state()
local_ids = {message_id(body): name for name, body in files.items()}
check(all(f"<remote{n}@example.org>" in local_ids for n in range(1, 6)), "new server mail did not arrive locally")
check(not (removed_remote & set(local_ids)), "server deletions did not reach the local side")
flagged = [mid for mid, name in local_ids.items() if ":2," in name and "F" in name.split(":2,")[1]]
check(len(flagged) == 10 - len(deleted_local & {message_id(state.get(u, ('', b''))[1]) for u in uids[0:10]}), f"flags did not come down: {len(flagged)}")

# 3. Nothing left to do: a further run changes nothing on either side.
before_server, before_local = server_state(), local_state()
mbsync()
check(server_state() == before_server, "a further run changed the server")
check(local_state() == before_local, "a further run changed the local side")
print(f"mbsync interop: all checks passed ({len(before_server)} messages in sync)")
