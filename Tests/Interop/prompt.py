#!/usr/bin/env python3
"""Drives ternctl's hidden password prompt through a real pseudo-terminal.
Usage: prompt.py FIRST SECOND -- TERNCTL ARGS...   Prints what the terminal showed; exits with ternctl's status."""
import os
import pty
import signal
import sys

signal.alarm(30)  # never hang a test run

first, second = sys.argv[1], sys.argv[2]
command = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(command[0], command)
shown = b""
answers = [first, second]
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
    if answers and (shown.endswith(b"New password: ") or shown.endswith(b"Repeat it: ")):
        os.write(fd, (answers.pop(0) + "\n").encode())
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(status))
