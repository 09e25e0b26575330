#!/usr/bin/env python3
# bench/migrate/gen_maildir.py - writes N generated messages into a Dovecot Maildir++ folder tree, for
# bench/migrate/run.sh: the old account that `ternctl migrate` and `mbsync` both copy.
#
# Usage: gen_maildir.py MAILDIR N SEED
# Prints "messages N", "bytes B" (the file sizes; Dovecot serves them with CRLF line ends, a bit larger) and one
# "folder NAME COUNT" line per folder.
#
# Deterministic (random.Random(SEED)). Sizes are varied and average ~11 KB (so the default 5,000 messages are
# ~55 MB): 76 % short text (1-6 KB), 17 % longer text or HTML alternatives (6-30 KB), 6 % with a base64 attachment
# of 30-80 KB, 1 % with one of 100-200 KB. Flags (maildir info :2,DFRST) on a share of messages; internal dates
# (the files' mtimes) spread over ten years. Folders: INBOX, Sent, Drafts, Archive, Archive/2023, Projects,
# Lists/dev (Maildir++ names .Archive.2023 etc.; the namespace separator is "/").

import base64
import email.utils
import os
import random
import sys

WORDS = ("the of and to in is was for on that with as by at from this have not are but be or an they which "
         "one you had all were we there been has more will if their can when who would so what out up about into "
         "than them its some could only other time new mail server folder message copy migrate account old tern "
         "release schedule meeting report invoice draft review budget quarter project team please thanks").split()
FOLDERS = [("INBOX", 40), ("Sent", 15), ("Drafts", 2), ("Archive", 13), ("Archive/2023", 12), ("Projects", 10),
           ("Lists/dev", 8)]


def text(rng, size):
    lines, length = [], 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines) + "\n"


def attachment(rng, size):
    data = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()
    return "\n".join(data[i:i + 76] for i in range(0, len(data), 76)) + "\n"


def message(rng, index, folder, date):
    kind = rng.random()
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
    headers = (f"Return-Path: <sender{index % 97}@old.example>\n"
               f"Received: from mx.old.example by old.example with ESMTPS id {index:08x}; {date}\n"
               f"From: Sender {index % 97} <sender{index % 97}@old.example>\n"
               f"To: Old User <old@example.com>\n"
               f"Subject: {subject} ({folder} #{index})\n"
               f"Date: {date}\n"
               f"Message-ID: <bench.{index}@old.example>\n"
               f"MIME-Version: 1.0\n")
    if kind < 0.76:
        return headers + "Content-Type: text/plain; charset=us-ascii\n\n" + text(rng, rng.randint(1000, 6000))
    boundary = f"=_bench_{index:08x}"
    if kind < 0.93:
        plain = text(rng, rng.randint(3000, 15000))
        html = "<html><body><p>" + plain.replace("\n", "</p>\n<p>") + "</p></body></html>\n"
        return (headers + f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
                f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n{plain}"
                f"--{boundary}\nContent-Type: text/html; charset=us-ascii\n\n{html}--{boundary}--\n")
    size = rng.randint(30_000, 80_000) if kind < 0.99 else rng.randint(100_000, 200_000)
    return (headers + f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
            f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n{text(rng, rng.randint(300, 2000))}"
            f"--{boundary}\nContent-Type: application/octet-stream; name=\"file{index}.bin\"\n"
            f"Content-Disposition: attachment; filename=\"file{index}.bin\"\nContent-Transfer-Encoding: base64\n\n"
            f"{attachment(rng, size)}--{boundary}--\n")


def main():
    root, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    weights = [w for _, w in FOLDERS]
    counts = {name: 0 for name, _ in FOLDERS}
    total = 0
    for name, _ in FOLDERS:
        path = root if name == "INBOX" else os.path.join(root, "." + name.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
    with open(os.path.join(root, "subscriptions"), "w") as f:
        f.write("".join(name + "\n" for name, _ in FOLDERS if name != "INBOX"))
    now = 1_760_000_000
    for index in range(count):
        folder = rng.choices([n for n, _ in FOLDERS], weights)[0]
        when = now - rng.randint(0, 10 * 365 * 86400)
        date = email.utils.formatdate(when, localtime=False)
        body = message(rng, index, folder, date).encode()
        flags = ""
        if folder == "Drafts":
            flags += "D"
        if rng.random() < 0.08:
            flags += "F"
        if rng.random() < 0.25:
            flags += "R"
        if folder in ("Sent", "Drafts") or rng.random() < 0.7:
            flags += "S"
        if rng.random() < 0.01:
            flags += "T"
        path = root if folder == "INBOX" else os.path.join(root, "." + folder.replace("/", "."))
        name = f"{when}.M{index}P1.bench,S={len(body)}:2,{flags}"
        file = os.path.join(path, "cur", name)
        with open(file, "wb") as f:
            f.write(body)
        os.utime(file, (when, when))
        counts[folder] += 1
        total += len(body)
    print(f"messages {count}")
    print(f"bytes {total}")
    for name, _ in FOLDERS:
        print(f"folder {name} {counts[name]}")


if __name__ == "__main__":
    main()
