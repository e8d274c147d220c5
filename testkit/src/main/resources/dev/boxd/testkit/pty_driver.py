"""Runs a command on a new pseudo-terminal, for tests that need a real terminal on the client side.

usage: pty_driver.py ROWS COLS ARGV...

stdin is copied to the terminal; the bytes 0xff 'R' ROWS ',' COLS '\\n' resize it instead (the
kernel then sends SIGWINCH to the command). Terminal output is copied to stdout. Exits with the
command's exit status.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    rows, cols, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    set_size(master, rows, cols)
    stdin = sys.stdin.fileno()
    pending = b""
    inputs = [master, stdin]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            os.write(1, data)
        if stdin in ready:
            data = os.read(stdin, 65536)
            if not data:
                inputs.remove(stdin)
                continue
            pending += data
            while pending:
                mark = pending.find(b"\xff")
                if mark < 0:
                    os.write(master, pending)
                    pending = b""
                elif mark > 0:
                    os.write(master, pending[:mark])
                    pending = pending[mark:]
                else:
                    end = pending.find(b"\n")
                    if end < 0:
                        break
                    r, c = pending[2:end].decode().split(",")
                    set_size(master, int(r), int(c))
                    pending = pending[end + 1:]
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


main()
