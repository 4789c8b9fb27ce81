"""Runs a command in a pseudo-terminal (stdin, stdout and stderr all the terminal, as in an interactive shell),
waits for a prompt to appear in its output, types an answer and Enter, and reads on until the command ends.

    python3 pty-run.py <prompt regex> <answer> <timeout seconds> <command> [args...]

Prints one JSON object on stdout: {"code": exit code or null, "signal": signal or null, "answered": whether the
prompt appeared, "timed_out": bool, "output": everything the terminal showed, escape sequences removed}.
No sleeps: the answer is written when the prompt text has been read, so a slow machine only makes it wait longer.
Used by test/e2e/confirm-tty.test.ts.
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")


def main() -> None:
    prompt = re.compile(sys.argv[1])
    answer = sys.argv[2]
    deadline = time.monotonic() + float(sys.argv[3])
    command = sys.argv[4:]

    pid, fd = pty.fork()
    if pid == 0:
        # The child: a terminal of 120 columns (a progress bar needs a width), then the command.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execvp(command[0], command)

    raw = b""
    answered = False
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not chunk:
            break
        raw += chunk
        if not answered and prompt.search(ANSI.sub("", raw.decode("utf-8", "replace"))):
            os.write(fd, answer.encode() + b"\r")  # Enter: the terminal turns CR into the newline readline waits for
            answered = True

    _, status = os.waitpid(pid, 0)
    os.close(fd)
    print(json.dumps({
        "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "answered": answered,
        "timed_out": timed_out,
        "output": ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", ""),
    }))


main()
