#!/usr/bin/env python3
"""Host-side test harness for boxd-agent (Python 3 standard library only).

It builds nothing: pass the agent binary (guest/agent/build.sh OUT builds one).  Run as root:

    guest/agent/build.sh /tmp/boxd-agent
    sudo python3 guest/agent/test/agent_test.py --agent /tmp/boxd-agent          # everything
    sudo python3 guest/agent/test/agent_test.py --agent /tmp/boxd-agent -k tty   # a subset

By default the agent runs in a *sandbox*: private mount, UTS and network namespaces
(unshare(1)) with a copy of /etc bind-mounted over /etc and an empty tmpfs on /run.  The copy
gets a user `boxd` (the agent's default user) whose home is in the test directory, a fake
systemctl records what the agent asks of it, and eth0 is a veth.  So IDENTITY can really set the hostname, write
/etc/hosts, configure eth0, and so on without touching this machine.  Two things do reach the
machine: TIME/IDENTITY set the real clock (to the current time, so the jump is the message's
latency) and `entropy` is mixed into the real kernel pool.

--no-sandbox runs the agent directly (IDENTITY tests are skipped); --user picks the exec user.

The harness speaks the protocol of docs/agent-protocol.md itself (class Session) and checks
ordering rules on every frame: STARTED before output, META before GET data, nothing after a
channel's EXIT/DONE/ERROR, and never more than 1 MiB of unacknowledged DATA.
"""

import argparse
import collections
import errno
import hashlib
import json
import os
import pwd
import random
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HELLO, EXEC, DATA, RESIZE, SIGNAL, PUT, GET, IDENTITY, TIME = range(1, 10)
OUT, HELLO_R, STARTED, META, DONE, ERR, EXIT, ACK, ERROR = (
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x8F)
NAMES = {HELLO: "HELLO", EXEC: "EXEC", DATA: "DATA", RESIZE: "RESIZE", SIGNAL: "SIGNAL",
         PUT: "PUT", GET: "GET", IDENTITY: "IDENTITY", TIME: "TIME", OUT: "OUT",
         HELLO_R: "HELLO", STARTED: "STARTED", META: "META", DONE: "DONE", ERR: "ERR",
         EXIT: "EXIT", ACK: "ACK", ERROR: "ERROR"}
MAX_PAYLOAD = 65536
CREDIT = 1 << 20
SYNC = b"BXSYNC\r\n"


class ProtocolViolation(AssertionError):
    pass


def frame(ftype, chan, payload=b""):
    return struct.pack(">IBI", 5 + len(payload), ftype, chan) + payload


def mkmap(params):
    """params: dict or list of (key, value); values str or bytes."""
    items = params.items() if isinstance(params, dict) else params
    out = bytearray()
    for k, v in items:
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            for x in v:
                out += k.encode() + b"\0" + (x if isinstance(x, bytes) else str(x).encode()) + b"\0"
        else:
            out += k.encode() + b"\0" + (v if isinstance(v, bytes) else str(v).encode()) + b"\0"
    return bytes(out)


def error_message(p):
    """An ERROR payload: the UTF-8 message, then NUL and the errno as u32 (0 = none)."""
    if len(p) < 5 or p[-5] != 0:
        raise ProtocolViolation("ERROR payload without its NUL and errno: %r" % p)
    return p[:-5].decode(), struct.unpack(">I", p[-4:])[0]


class Chan:
    def __init__(self, cid, kind, sink=False):
        self.id, self.kind = cid, kind
        self.out, self.err = bytearray(), bytearray()
        self.sink = sink                  # count and hash output instead of keeping it
        self.out_len, self.out_hash = 0, hashlib.sha256()
        self.pid = self.exit = self.error = self.errno = self.done = self.meta = None
        self.acked = self.sent = 0
        self.finished = False
        self.t_start = time.monotonic()
        self.t_end = None


class Session:
    """One host connection to the agent."""

    default_user = None   # sent as `user` unless a request names one (None: the agent's default)

    def __init__(self, path, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.rbuf = bytearray()
        self.roff = 0
        self.chans = {}
        self.next_id = 1
        self.conn_errors = []             # ERROR frames on channel 0
        self.version = None

    def close(self):
        self.sock.close()

    # ---- raw I/O ----
    def send(self, ftype, chan, payload=b""):
        self.sock.sendall(frame(ftype, chan, payload))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(0, timeout))
        if not r:
            return False
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("agent closed the connection")
        if self.roff > (1 << 20):
            del self.rbuf[:self.roff]
            self.roff = 0
        self.rbuf += data
        return True

    def recv_frame(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            avail = len(self.rbuf) - self.roff
            if avail >= 4:
                n = struct.unpack_from(">I", self.rbuf, self.roff)[0]
                if n < 5 or n > 5 + MAX_PAYLOAD:
                    raise ProtocolViolation("agent sent bad frame length %d" % n)
                if avail >= 4 + n:
                    t, c = struct.unpack_from(">BI", self.rbuf, self.roff + 4)
                    p = bytes(self.rbuf[self.roff + 9:self.roff + 4 + n])
                    self.roff += 4 + n
                    return t, c, p
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._fill(left)

    def hello(self, timeout=10):
        """Sends HELLO and skips everything up to BXSYNC + nonce, as the host must."""
        nonce = os.urandom(16)
        self.send(HELLO, 0, nonce)
        marker = SYNC + nonce
        deadline = time.monotonic() + timeout
        while True:
            i = self.rbuf.find(marker, self.roff)
            if i >= 0:
                self.roff = i + len(marker)
                break
            # keep only a possible partial marker
            keep = max(self.roff, len(self.rbuf) - len(marker))
            del self.rbuf[:keep]
            self.roff = 0
            if time.monotonic() > deadline:
                raise AssertionError("no BXSYNC reply to HELLO")
            self._fill(deadline - time.monotonic())
        f = self.recv_frame(timeout)
        assert f and f[0] == HELLO_R and f[1] == 0, "expected HELLO reply, got %r" % (f,)
        assert f[2][:16] == nonce, "HELLO reply with wrong nonce"
        self.version = f[2][16:].decode()
        self.chans = {}
        self.next_id = 1
        return self.version

    # ---- channel bookkeeping ----
    def new_chan(self, kind, sink=False):
        c = Chan(self.next_id, kind, sink)
        self.next_id += 1
        self.chans[c.id] = c
        return c

    def dispatch(self, f):
        t, cid, p = f
        if cid == 0:
            if t == ERROR:
                self.conn_errors.append(error_message(p)[0])
                return
            raise ProtocolViolation("unexpected %s on channel 0" % NAMES.get(t, hex(t)))
        c = self.chans.get(cid)
        if c is None:
            if t == ERROR:   # reply to a frame for a channel we never opened (tests do that)
                self.conn_errors.append("chan %d: %s" % (cid, error_message(p)[0]))
                return
            raise ProtocolViolation("%s for unknown channel %d" % (NAMES.get(t, hex(t)), cid))
        if c.finished:
            raise ProtocolViolation("%s on channel %d after it finished" % (NAMES.get(t), cid))
        if t in (OUT, ERR):
            if c.kind == "exec" and c.pid is None:
                raise ProtocolViolation("output before STARTED on channel %d" % cid)
            if c.kind == "get" and c.meta is None:
                raise ProtocolViolation("GET data before META on channel %d" % cid)
            if c.sink and t == OUT:
                c.out_len += len(p)
                c.out_hash.update(p)
            else:
                (c.out if t == OUT else c.err).extend(p)
        elif t == STARTED:
            assert len(p) == 4
            c.pid = struct.unpack(">I", p)[0]
        elif t == ACK:
            c.acked += struct.unpack(">I", p)[0]
            if c.acked > c.sent:
                raise ProtocolViolation("ACK beyond what was sent on channel %d" % cid)
        elif t == META:
            c.meta = struct.unpack(">IQ", p)
        elif t == EXIT:
            c.exit = struct.unpack(">i", p)[0]
            c.finished = True
        elif t == DONE:
            c.done = struct.unpack(">Q", p)[0]
            c.finished = True
        elif t == ERROR:
            c.error, c.errno = error_message(p)
            c.finished = True
        else:
            raise ProtocolViolation("unexpected frame type %s" % hex(t))
        if c.finished:
            c.t_end = time.monotonic()

    def pump(self, cond, timeout=30, what="condition"):
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for " + what)
            f = self.recv_frame(min(left, 1.0))
            if f:
                self.dispatch(f)

    def poll_frames(self, seconds):
        """Handles frames for a while (or, with 0, whatever is already here)."""
        deadline = time.monotonic() + seconds
        while True:
            f = self.recv_frame(max(0, deadline - time.monotonic()))
            if not f:
                return
            self.dispatch(f)

    # ---- requests ----
    def exec(self, cmd, sink=False, **params):
        c = self.new_chan("exec", sink)
        if self.default_user:
            params.setdefault("user", self.default_user)
        env = params.pop("env", None)
        items = [("cmd", cmd)] + [(k, v) for k, v in params.items()]
        if env:
            items.append(("env", list(env)))
        self.send(EXEC, c.id, mkmap(items))
        return c

    def stream_data(self, c, chunks, eof=True, stop=lambda: False):
        """Sends DATA chunks (<= 64 KiB each) within the 1 MiB credit, handling frames."""
        for chunk in chunks:
            for i in range(0, len(chunk), MAX_PAYLOAD):
                piece = chunk[i:i + MAX_PAYLOAD]
                while c.sent + len(piece) - c.acked > CREDIT:
                    if c.finished or stop():
                        return False
                    f = self.recv_frame(0.1)
                    if f:
                        self.dispatch(f)
                if c.finished or stop():
                    return False
                self.send(DATA, c.id, piece)
                c.sent += len(piece)
            self.poll_frames(0)
        if eof and not c.finished:
            self.send(DATA, c.id, b"")
        return True

    def wait(self, c, timeout=30):
        self.pump(lambda: c.finished, timeout, "channel %d (%s) to finish" % (c.id, c.kind))
        return c

    def run(self, cmd, stdin=None, timeout=30, **params):
        c = self.exec(cmd, **params)
        if stdin is not None:
            self.stream_data(c, [stdin])
        return self.wait(c, timeout)

    def put(self, path, chunks, **params):
        c = self.new_chan("put")
        if self.default_user:
            params.setdefault("user", self.default_user)
        self.send(PUT, c.id, mkmap(dict(path=path, **params)))
        self.stream_data(c, chunks)
        return c

    def get(self, path, sink=False, **params):
        c = self.new_chan("get", sink)
        if self.default_user:
            params.setdefault("user", self.default_user)
        self.send(GET, c.id, mkmap(dict(path=path, **params)))
        return c


# ------------------------------------------------------------------------------------------
# Process helpers

def proc_stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] = state, [1] = ppid, [2] = pgrp, [11] utime, [12] stime
    return rest


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and int(st[2]) == pgid and st[0] != "Z":
                out.append(int(d))
    return out


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and int(st[1]) == pid:
                out.append((int(d), st[0]))
    return out


def cpu_ticks(pid):
    st = proc_stat(pid)
    return int(st[11]) + int(st[12])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_until(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# ------------------------------------------------------------------------------------------
# Test environment

class Env:
    """Starts the agent (sandboxed or not) and knows the test user."""

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="boxd-agent-test.")
        os.chmod(self.tmp, 0o755)
        self.sock = os.path.join(self.tmp, "agent.sock")
        self.sandbox = not args.no_sandbox
        self.proc = None
        self.log = open(os.path.join(self.tmp, "agent.log"), "w+")
        if self.sandbox:
            self._make_sandbox()
        else:
            name = args.user or self._default_user()
            pw = pwd.getpwnam(name)
            self.user, self.uid, self.gid, self.home = name, pw.pw_uid, pw.pw_gid, pw.pw_dir
            self.extra_gid = None
        # a directory the test user owns, for absolute-path PUT/GET
        self.work = os.path.join(self.tmp, "work")
        os.mkdir(self.work)
        os.chown(self.work, self.uid, self.gid)
        self.rootonly = os.path.join(self.tmp, "rootonly")
        os.mkdir(self.rootonly, 0o755)
        with open(os.path.join(self.rootonly, "secret"), "w") as f:
            f.write("root only\n")
        os.chmod(os.path.join(self.rootonly, "secret"), 0o600)

    @staticmethod
    def _default_user():
        """boxd if it exists, else the first ordinary user with a home, else root."""
        users = sorted(pwd.getpwall(), key=lambda p: p.pw_uid)
        for p in users:
            if p.pw_name == "boxd":
                return p.pw_name
        for p in users:
            if 1000 <= p.pw_uid < 60000 and os.path.isdir(p.pw_dir):
                return p.pw_name
        return "root"

    @staticmethod
    def _user_exists(name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def _make_sandbox(self):
        etc = os.path.join(self.tmp, "etc")
        subprocess.run(["cp", "-a", "/etc", etc], check=True)
        self.etc = etc
        used_uids = {int(l.split(":")[2]) for l in open(etc + "/passwd") if l.count(":") >= 6}
        used_gids = {int(l.split(":")[2]) for l in open(etc + "/group") if l.count(":") >= 3}
        uid = next(u for u in range(1000, 60000) if u not in used_uids and u not in used_gids)
        extra = next(g for g in range(1500, 60000) if g not in used_gids and g != uid)
        self.user = self.args.user or "boxd"
        self.home = os.path.join(self.tmp, "home", self.user)
        os.makedirs(self.home)
        if self.user == "boxd":
            with open(etc + "/passwd", "a") as f:
                f.write("boxd:x:%d:%d:boxd test user:%s:/bin/sh\n" % (uid, uid, self.home))
            with open(etc + "/group", "a") as f:
                f.write("boxd:x:%d:\nboxdextra:x:%d:someone,boxd\n" % (uid, extra))
            self.uid, self.gid, self.extra_gid = uid, uid, extra
            os.chown(self.home, uid, uid)
        else:
            pw = pwd.getpwnam(self.user)
            self.uid, self.gid, self.home, self.extra_gid = pw.pw_uid, pw.pw_gid, pw.pw_dir, None
        self.systemctl_log = os.path.join(self.tmp, "systemctl.log")
        fake = os.path.join(self.tmp, "systemctl")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho \"$@\" >> %s\n" % self.systemctl_log)
        os.chmod(fake, 0o755)
        self.fake_systemctl = fake

    def start(self):
        agent = os.path.abspath(self.args.agent)
        cmd = [agent, "--unix", self.sock] + (["--verbose"] if self.args.verbose else [])
        if self.sandbox:
            script = "\n".join([
                "set -e",
                'mount --bind "$T/etc" /etc',
                '[ -e /usr/bin/systemctl ] && mount --bind "$T/systemctl" /usr/bin/systemctl || true',
                # a /run of its own: the agent looks for /run/sshd.pid, not this machine's
                "mount -t tmpfs -o mode=755 boxd-run /run",
                "ip link set lo up",
                "ip link add eth0 type veth peer name boxdpeer0",
                'exec "$@"',
            ])
            cmd = ["unshare", "--mount", "--uts", "--net", "--propagation", "private",
                   "sh", "-c", script, "sh"] + cmd
        env = dict(os.environ, T=self.tmp)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=env)
        if not wait_until(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 10):
            raise RuntimeError("agent did not start")
        if self.proc.poll() is not None:
            raise RuntimeError("agent exited: " + self.agent_log())
        return self.proc.pid

    def agent_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        if self.args.keep:
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# Tests.  Each gets (env, session) with a fresh HELLO'd connection.

TESTS = []
MEASURE = collections.OrderedDict()


def test(fn):
    TESTS.append(fn)
    return fn


def expect_exit(c, code):
    assert c.error is None, "channel failed: %s" % c.error
    assert c.exit == code, "exit %r, want %r (out=%r err=%r)" % (c.exit, code, bytes(c.out[:300]),
                                                                   bytes(c.err[:300]))


@test
def hello_and_version(env, s):
    assert s.version, "empty version"
    v2 = s.hello()     # a second HELLO on the same connection is fine
    assert v2 == s.version
    c = s.run("echo ok")
    expect_exit(c, 0)
    assert c.out == b"ok\n"


@test
def exit_codes(env, s):
    expect_exit(s.run("exit 7"), 7)
    expect_exit(s.run("true"), 0)
    c = s.run("no_such_command_boxd_xyz")
    expect_exit(c, 127)
    assert b"not found" in c.err, c.err
    expect_exit(s.run("kill -9 $$"), 128 + 9)
    expect_exit(s.run("exit 255"), 255)


@test
def stdout_and_stderr_apart(env, s):
    c = s.run("echo out1; echo err1 >&2; echo out2; printf 'e2' >&2")
    expect_exit(c, 0)
    assert c.out == b"out1\nout2\n", c.out
    assert c.err == b"err1\ne2", c.err


@test
def binary_output(env, s):
    data = os.urandom(3 << 20)
    path = os.path.join(env.work, "bin.dat")
    with open(path, "wb") as f:
        f.write(data)
    c = s.run("cat %s" % path, user="root")
    expect_exit(c, 0)
    assert bytes(c.out) == data


@test
def environment(env, s):
    if env.sandbox:
        os.makedirs(env.etc + "/boxd", exist_ok=True)
        with open(env.etc + "/boxd/env", "w") as f:
            f.write("# comment\nBOXD_VM_ID=vm-123\nBOXD_VM_NAME=fromfile\nnot a line\n")
    c = s.run("env", env=["FOO=bar baz", "BOXD_VM_NAME=override", "LANG=C"])
    expect_exit(c, 0)
    e = dict(l.split("=", 1) for l in c.out.decode().splitlines() if "=" in l)
    assert e["HOME"] == env.home, e
    assert e["USER"] == env.user and e["LOGNAME"] == env.user, e
    assert e["SHELL"], e
    assert e["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", e["PATH"]
    assert e["LANG"] == "C", "request env must win"
    assert e["FOO"] == "bar baz"
    assert "TERM" not in e, "TERM only for a tty"
    if env.sandbox:
        assert e["BOXD_VM_ID"] == "vm-123" and e["BOXD_VM_NAME"] == "override", e
        os.unlink(env.etc + "/boxd/env")
    c = s.run("true", env=["NOEQUALS"])
    assert c.error and "NOEQUALS" in c.error, c.error


@test
def user_groups_and_cwd(env, s):
    c = s.run("id -u; id -g; id -G; pwd")
    expect_exit(c, 0)
    lines = c.out.decode().split("\n")
    assert int(lines[0]) == env.uid and int(lines[1]) == env.gid, lines
    if env.extra_gid is not None:
        assert str(env.extra_gid) in lines[2].split(), "supplementary group missing: %s" % lines[2]
    assert lines[3] == env.home, lines
    c = s.run("pwd; id -u", cwd="/tmp", user="root")
    expect_exit(c, 0)
    assert c.out == b"/tmp\n0\n", c.out
    c = s.run("true", user="no_such_user_boxd")
    assert c.error == "no such user: no_such_user_boxd", c.error
    s.conn_errors.clear()
    c = s.run("true", cwd="/nonexistent/dir", stdin=b"pipelined stdin is dropped silently")
    assert c.error == "cwd: no such file or directory: /nonexistent/dir", c.error
    s.poll_frames(0.2)
    assert not s.conn_errors, s.conn_errors
    c = s.run("true", cwd=env.rootonly + "/secret")
    assert c.error and c.error.startswith("cwd: "), c.error
    c = s.exec("x")
    s.send(EXEC, c.id + 100, b"cmd\0true")   # no final NUL
    s.pump(lambda: any("malformed EXEC" in e for e in s.conn_errors), 5, "malformed EXEC error")
    c = s.run("pwd", user="nobody")    # home /nonexistent: falls back to / like sshd
    expect_exit(c, 0)
    assert c.out == b"/\n", c.out
    c = s.run("true", tty="0", rows="abc")
    assert c.error == "invalid rows or cols", c.error


@test
def stdin_small(env, s):
    c = s.run("cat", stdin=b"hello\x00world\xff")
    expect_exit(c, 0)
    assert c.out == b"hello\x00world\xff"
    assert c.acked == c.sent == 12
    c = s.run("wc -c", stdin=b"")
    expect_exit(c, 0)
    assert c.out.strip() == b"0"


@test
def stdin_large_with_credits(env, s):
    data = os.urandom(5 << 20)
    t = time.monotonic()
    c = s.run("sha256sum", stdin=data, timeout=60)
    dt = time.monotonic() - t
    expect_exit(c, 0)
    assert c.out.split()[0].decode() == hashlib.sha256(data).hexdigest()
    assert c.acked == c.sent == len(data), (c.acked, c.sent)
    MEASURE["stdin 5 MiB -> sha256sum"] = "%.0f MiB/s" % (5 / dt)


@test
def stdin_not_read_does_not_stall_others(env, s):
    slow = s.exec("sleep 3; echo slow-done")
    s.pump(lambda: slow.pid is not None, 5, "STARTED")
    big = os.urandom(3 << 20)
    stop_at = time.monotonic() + 1.0
    # The agent must stop ACKing once the pipe is full: we block on credit.
    s.stream_data(slow, [big], eof=False, stop=lambda: time.monotonic() > stop_at)
    assert slow.acked < 1 << 20, "acked %d while the child reads nothing" % slow.acked
    assert slow.sent - slow.acked <= CREDIT
    t = time.monotonic()
    fast = s.run("cat | sha256sum", stdin=big[:1 << 20], timeout=10)
    expect_exit(fast, 0)
    assert fast.out.split()[0].decode() == hashlib.sha256(big[:1 << 20]).hexdigest()
    assert time.monotonic() - t < 2.5, "a child not reading stdin stalled another channel"
    assert not slow.finished, "slow should still run"
    s.wait(slow, 10)
    expect_exit(slow, 0)
    assert slow.out == b"slow-done\n"


@test
def stdin_after_child_closed_it(env, s):
    # head exits after the first line; the rest of stdin must still be ACKed (EPIPE path)
    c = s.exec("head -c 10 >/dev/null; sleep 0.5; echo fine")
    data = os.urandom(3 << 20)
    s.stream_data(c, [data])
    s.wait(c, 10)
    expect_exit(c, 0)
    assert c.out == b"fine\n"


@test
def tty_window_size(env, s):
    c = s.run("stty size; tty; echo $TERM; test -t 0 && test -t 1 && test -t 2 && echo all-tty",
              tty="1", rows="33", cols="101")
    expect_exit(c, 0)
    out = c.out.decode()
    assert "33 101" in out, out
    assert "/dev/pts/" in out and "xterm-256color" in out and "all-tty" in out, out
    assert c.err == b"", "a tty sends everything as OUT"
    c = s.run("echo $TERM; stty size", tty="1", term="vt100")
    assert "vt100" in c.out.decode() and "24 80" in c.out.decode(), c.out


@test
def tty_bulk_output(env, s):
    # all output must arrive although the child is gone (EIO) before it is read
    c = s.run("head -c 5000000 /dev/zero | tr '\\0' a", tty="1", sink=True, timeout=60)
    expect_exit(c, 0)
    assert c.out_len == 5000000, c.out_len
    c = s.run("seq 1 100000", tty="1", timeout=60)
    expect_exit(c, 0)
    assert c.out.replace(b"\r\n", b"\n") == b"".join(b"%d\n" % i for i in range(1, 100001))


@test
def tty_resize_and_input(env, s):
    c = s.exec("stty size; read x; stty size; echo got:$x", tty="1", rows="24", cols="80")
    s.pump(lambda: b"24 80" in c.out, 5, "first stty size")
    s.send(RESIZE, c.id, struct.pack(">HH", 50, 132))
    s.send(DATA, c.id, b"abc\n")
    c.sent += 4
    s.wait(c, 5)
    expect_exit(c, 0)
    assert b"50 132" in c.out and b"got:abc" in c.out, c.out
    assert c.acked == 4


@test
def tty_eof(env, s):
    # EOF in the middle of a line needs two VEOFs; the agent must handle that.
    c = s.run("cat >/dev/null; echo eof-seen", stdin=b"partial line", tty="1", timeout=5)
    expect_exit(c, 0)
    assert b"eof-seen" in c.out, c.out
    c = s.run("wc -l", stdin=b"a\nb\n", tty="1", timeout=5)
    expect_exit(c, 0)
    assert b"2" in c.out.split(b"\n")[-2] or b"2\r" in c.out, c.out


@test
def tty_signal_exit_code(env, s):
    c = s.exec("sleep 100", tty="1")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    time.sleep(0.1)
    s.send(SIGNAL, c.id, bytes([signal.SIGKILL]))
    s.wait(c, 5)
    expect_exit(c, 128 + 9)


@test
def timeout_kills_group(env, s):
    t = time.monotonic()
    c = s.run("sleep 100 & sleep 100 & echo started; sleep 100", timeout_ms="500", timeout=10)
    dt = time.monotonic() - t
    expect_exit(c, 124)
    assert c.out == b"started\n"
    assert 0.4 < dt < 2.0, "took %.2fs" % dt
    assert wait_until(lambda: not group_members(c.pid), 2), group_members(c.pid)
    MEASURE["timeout_ms=500 -> EXIT"] = "%.0f ms" % (dt * 1000)


@test
def timeout_with_escaped_grandchild(env, s):
    # A setsid'd grandchild escapes the group kill but holds stdout for 2 s; EXIT must not
    # wait for it beyond the agent's grace period.
    t = time.monotonic()
    c = s.run("setsid sh -c 'sleep 2' & sleep 100", timeout_ms="300", timeout=10)
    dt = time.monotonic() - t
    expect_exit(c, 124)
    assert dt < 1.5, "took %.2fs" % dt


@test
def signals(env, s):
    c = s.exec("sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.send(SIGNAL, c.id, bytes([signal.SIGTERM]))
    s.wait(c, 5)
    expect_exit(c, 128 + 15)
    c = s.exec("trap 'echo trapped; exit 3' TERM; sleep 100 & wait")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    time.sleep(0.3)
    s.send(SIGNAL, c.id, bytes([signal.SIGTERM]))
    s.wait(c, 5)
    expect_exit(c, 3)
    assert c.out == b"trapped\n"
    assert wait_until(lambda: not group_members(c.pid), 2)
    # signal 0 is a no-op; a malformed SIGNAL fails the channel (and kills it)
    c = s.exec("sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.send(SIGNAL, c.id, b"\x00")
    s.poll_frames(0.2)
    assert not c.finished
    s.send(SIGNAL, c.id, b"\x0f\x0f")
    s.wait(c, 5)
    assert c.error == "malformed SIGNAL payload", c.error
    assert wait_until(lambda: not group_members(c.pid), 2)


def random_chunks(total, seed, chunk=1 << 20):
    rnd = random.Random(seed)
    left = total
    while left:
        n = min(chunk, left)
        yield rnd.randbytes(n)
        left -= n


@test
def put_get_100mb(env, s):
    size = env.args.big_mb << 20
    h = hashlib.sha256()
    for ch in random_chunks(size, 42):
        h.update(ch)
    want = h.hexdigest()
    rel = "big.bin" if env.sandbox else os.path.join(env.work, "big.bin")
    full = os.path.join(env.home, rel) if env.sandbox else rel
    t = time.monotonic()
    c = s.put(rel, random_chunks(size, 42), mode="640")
    s.wait(c, 300)
    dt_put = time.monotonic() - t
    assert c.error is None, c.error
    assert c.done == size and c.acked == size, (c.done, c.acked)
    st = os.stat(full)
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (env.uid, env.gid), (st.st_uid, st.st_gid)
    with open(full, "rb") as f:
        hd = hashlib.sha256()
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            hd.update(b)
    assert hd.hexdigest() == want, "file on disk differs"
    t = time.monotonic()
    g = s.get(rel, sink=True)
    s.wait(g, 300)
    dt_get = time.monotonic() - t
    assert g.error is None, g.error
    assert g.meta == (0o640, size), g.meta
    assert g.done == size == g.out_len
    assert g.out_hash.hexdigest() == want, "GET content differs"
    assert not [n for n in os.listdir(os.path.dirname(full)) if n.startswith(".boxd-put")]
    MEASURE["PUT %d MiB" % env.args.big_mb] = "%.1f s (%.0f MiB/s)" % (dt_put, env.args.big_mb / dt_put)
    MEASURE["GET %d MiB" % env.args.big_mb] = "%.1f s (%.0f MiB/s)" % (dt_get, env.args.big_mb / dt_get)
    os.unlink(full)


@test
def put_get_small_and_modes(env, s):
    p = os.path.join(env.work, "small.txt")
    c = s.wait(s.put(p, [b"hello\n"]))
    assert c.done == 6 and c.error is None
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
    c = s.wait(s.put(p, [b"replaced"], mode="0600"))
    assert c.done == 8
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == 0o600 and open(p, "rb").read() == b"replaced"
    g = s.wait(s.get(p))
    assert g.meta == (0o600, 8) and g.out == b"replaced" and g.done == 8
    e = os.path.join(env.work, "empty")
    c = s.wait(s.put(e, []))
    assert c.done == 0 and os.path.getsize(e) == 0
    g = s.wait(s.get(e))
    assert g.meta == (0o644, 0) and g.done == 0 and g.out == b""
    c = s.wait(s.put(os.path.join(env.work, "x"), [b"x"], mode="9z"))
    assert c.error == "invalid mode: 9z", c.error
    c = s.wait(s.put(os.path.join(env.work, "exe"), [b"#!/bin/sh\necho hi\n"], mode="755"))
    assert c.error is None
    r = s.run(os.path.join(env.work, "exe"))
    expect_exit(r, 0)
    assert r.out == b"hi\n"


@test
def file_errors(env, s):
    home = env.home
    g = s.wait(s.get("no/such/file"))
    assert g.error == "no such file or directory: %s/no/such/file" % home, g.error
    g = s.wait(s.get(env.work))
    assert g.error == "is a directory: %s" % env.work, g.error
    g = s.wait(s.get("/dev/null", user="root"))
    assert g.error == "not a regular file: /dev/null", g.error
    secret = os.path.join(env.rootonly, "secret")
    if env.uid == 0:
        raise Skip("the exec user is root: no permission checks to test")
    g = s.wait(s.get(secret))
    assert g.error == "permission denied: %s" % secret, g.error
    g = s.wait(s.get(secret, user="root"))
    assert g.out == b"root only\n"
    # writing as the user where only root may write
    target = os.path.join(env.rootonly, "evil")
    c = s.wait(s.put(target, [b"x" * 1000]))
    assert c.error == "permission denied: %s" % target, c.error
    assert not os.path.exists(target) and os.listdir(env.rootonly) == ["secret"]
    c = s.wait(s.put(secret, [b"x"]))
    assert c.error == "permission denied: %s" % secret, c.error
    assert open(secret).read() == "root only\n"
    # missing parents, then mkdirs=1
    deep = os.path.join(env.work, "a/b/c/file")
    c = s.wait(s.put(deep, [b"x"]))
    assert c.error == "no such file or directory: %s" % deep, c.error
    c = s.wait(s.put(deep, [b"deep"], mkdirs="1"))
    assert c.error is None and open(deep, "rb").read() == b"deep"
    for d in ("a", "a/b", "a/b/c"):
        st = os.stat(os.path.join(env.work, d))
        assert (st.st_uid, st.st_gid) == (env.uid, env.gid), d
    c = s.wait(s.put(os.path.join(env.rootonly, "sub/file"), [b"x"], mkdirs="1"))
    assert c.error == "permission denied: %s/sub" % env.rootonly, c.error
    c = s.wait(s.put(env.work, [b"x"]))
    assert c.error == "is a directory: %s" % env.work, c.error
    c = s.wait(s.put("", [b"x"]))
    assert c.error == "missing path", c.error
    c = s.wait(s.get("x", user="no_such_user_boxd"))
    assert c.error == "no such user: no_such_user_boxd", c.error
    # DATA on a GET, RESIZE on a PUT: the channel fails
    big = os.path.join(env.work, "big-for-get")
    with open(big, "wb") as f:
        f.write(os.urandom(32 << 20))
    g = s.get(big, sink=True)
    s.send(DATA, g.id, b"nope")
    s.wait(g)
    assert g.error and "DATA" in g.error, g.error
    assert not [n for n in os.listdir(env.work) if n.startswith(".boxd-put")]


@test
def error_carries_errno(env, s):
    # The host decides on the number, not on the text.
    g = s.wait(s.get("no/such/file"))
    assert (g.error, g.errno) == ("no such file or directory: %s/no/such/file" % env.home, errno.ENOENT), (g.error, g.errno)
    g = s.wait(s.get(env.work))
    assert g.errno == errno.EISDIR, (g.error, g.errno)
    g = s.wait(s.get("/dev/null", user="root"))
    assert g.errno == errno.EINVAL, (g.error, g.errno)
    c = s.wait(s.put(os.path.join(env.work, "no/such/dir/file"), [b"x"]))
    assert c.errno == errno.ENOENT, (c.error, c.errno)
    c = s.wait(s.put(os.path.join(env.work, "file-as-parent"), [b"x"]))
    c = s.wait(s.put(os.path.join(env.work, "file-as-parent/child"), [b"x"]))
    assert c.errno == errno.ENOTDIR, (c.error, c.errno)
    if env.uid != 0:
        c = s.wait(s.put(os.path.join(env.rootonly, "evil"), [b"x"]))
        assert (c.error, c.errno) == ("permission denied: %s/evil" % env.rootonly, errno.EACCES), (c.error, c.errno)
    # an error that no system call gave: errno 0
    c = s.wait(s.get("x", user="no_such_user_boxd"))
    assert (c.error, c.errno) == ("no such user: no_such_user_boxd", 0), (c.error, c.errno)
    r = s.run("true", cwd="/no/such/dir")
    assert r.errno == errno.ENOENT and r.error == "cwd: no such file or directory: /no/such/dir", (r.error, r.errno)


@test
def put_as_root_and_temp_cleanup_on_reset(env, s):
    p = os.path.join(env.rootonly, "byroot")
    c = s.wait(s.put(p, [b"root file"], user="root", mode="600"))
    assert c.error is None
    st = os.stat(p)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    os.unlink(p)
    # half a PUT, then a new HELLO: the temp file must go away
    c = s.new_chan("put")
    s.send(PUT, c.id, mkmap(dict(path=os.path.join(env.work, "half"), user=env.user)))
    s.send(DATA, c.id, b"x" * 1000)
    c.sent = 1000
    s.pump(lambda: c.acked == 1000, 5, "ACK")
    assert [n for n in os.listdir(env.work) if n.startswith(".boxd-put")], "temp file expected"
    s.hello()
    assert not [n for n in os.listdir(env.work) if n.startswith(".boxd-put")], "temp file left"
    assert not os.path.exists(os.path.join(env.work, "half"))


@test
def concurrent_64_execs(env, s):
    n = 64
    t = time.monotonic()
    chans = [s.exec("echo start %d; sleep 0.5; echo end %d >&2; exit %d" % (i, i, i))
             for i in range(n)]
    s.pump(lambda: all(c.finished for c in chans), 30, "64 execs")
    dt = time.monotonic() - t
    for i, c in enumerate(chans):
        expect_exit(c, i)
        assert c.out == b"start %d\n" % i and c.err == b"end %d\n" % i
    assert dt < 5, "64 concurrent execs took %.1fs" % dt
    MEASURE["64 concurrent execs of 'sleep 0.5'"] = "%.0f ms" % (dt * 1000)
    # 100 at once, each echoing 200 KiB of stdin back
    data = [os.urandom(200 << 10) for _ in range(100)]
    chans = [s.exec("cat") for _ in range(100)]
    for c, d in zip(chans, data):
        s.stream_data(c, [d])
    s.pump(lambda: all(c.finished for c in chans), 60, "100 cats")
    for c, d in zip(chans, data):
        expect_exit(c, 0)
        assert bytes(c.out) == d


@test
def huge_output(env, s):
    size = env.args.huge_mb << 20
    t = time.monotonic()
    c = s.exec("yes | head -c %d" % size, sink=True)
    peak = 0
    deadline = time.monotonic() + 600
    while not c.finished:
        assert time.monotonic() < deadline
        f = s.recv_frame(1)
        if f:
            s.dispatch(f)
        if c.out_len % (64 << 20) < 65536:
            peak = max(peak, rss_kb(env.agent_pid))
    dt = time.monotonic() - t
    expect_exit(c, 0)
    assert c.out_len == size, c.out_len
    h = hashlib.sha256()
    block = b"y\n" * (1 << 19)
    for _ in range(size // len(block)):
        h.update(block)
    h.update(block[:size % len(block)])
    assert c.out_hash.hexdigest() == h.hexdigest()
    assert peak < 64 << 10, "agent RSS %d KiB during bulk output" % peak
    MEASURE["yes | head -c %d MiB" % env.args.huge_mb] = "%.1f s (%.0f MiB/s), agent RSS peak %d KiB" % (
        dt, env.args.huge_mb / dt, peak)


@test
def slow_reader_keeps_agent_memory_bounded(env, s):
    # The host stops reading; the agent must throttle the child, not buffer its output.
    c = s.exec("yes | head -c 300000000", sink=True)
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    time.sleep(2)
    rss = rss_kb(env.agent_pid)
    assert rss < 64 << 10, "agent RSS %d KiB while the host is not reading" % rss
    s.wait(c, 120)
    expect_exit(c, 0)
    assert c.out_len == 300000000


@test
def hellos_queued_back_to_back(env, s):
    # A host that resent HELLO before the agent ran has several queued: only the last is
    # answered, so no stale BXSYNC follows the one the host syncs on.
    c = s.exec("sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    nonces = [os.urandom(16) for _ in range(3)]
    s.send_raw(b"".join(frame(HELLO, 0, n) for n in nonces))
    marker = SYNC + nonces[-1]
    deadline = time.monotonic() + 5
    while s.rbuf.find(marker, s.roff) < 0:
        assert time.monotonic() < deadline, "no reply to the last HELLO"
        s._fill(1)
    before = bytes(s.rbuf[s.roff:s.rbuf.find(marker, s.roff)])
    assert SYNC not in before, "an earlier HELLO was answered too"
    s.roff = s.rbuf.find(marker, s.roff) + len(marker)
    f = s.recv_frame(5)
    assert f[0] == HELLO_R and f[2][:16] == nonces[-1]
    s.chans, s.next_id = {}, 1
    assert wait_until(lambda: not group_members(c.pid), 2)
    expect_exit(s.run("exit 2"), 2)
    s.poll_frames(0.3)     # nothing stale may follow


@test
def malformed_frames(env, s):
    pid = env.agent_pid
    cases = [
        ("length < 5", struct.pack(">IB", 3, EXEC) + b"\0\0\0"),
        ("length beyond any frame", struct.pack(">IBI", 5 + (16 << 20) + 1, DATA, 1)),
        ("payload > 65536 on channel 0", struct.pack(">IBI", 5 + 65537, IDENTITY, 0)),
        ("unknown type on channel 0", frame(0x42, 0, b"abc")),
        ("guest->host type on channel 0", frame(OUT, 0, b"abc")),
        ("EXEC on channel 0", frame(EXEC, 0, mkmap({"cmd": "true"}))),
        ("short HELLO", frame(HELLO, 0, b"short")),
    ]
    for name, raw in cases:
        running = s.exec("sleep 100")
        s.pump(lambda: running.pid is not None, 5, "STARTED")
        s.conn_errors.clear()
        s.send_raw(raw + b"\xde\xad" * 50)      # trailing garbage is skipped too
        s.pump(lambda: any("protocol error" in e for e in s.conn_errors), 5,
               "protocol error for " + name)
        # the connection state was dropped: the running exec is killed
        assert wait_until(lambda: not group_members(running.pid), 2), name
        s.hello()
        c = s.run("echo alive")
        assert c.out == b"alive\n", name
    # garbage before HELLO on a fresh connection (which replaces the old one)
    s2 = Session(env.sock)
    env.replace_session(s2)
    s2.send_raw(os.urandom(5000) + b"\0\0\0\x15")
    s2.hello()
    expect_exit(s2.run("exit 3"), 3)
    s = s2
    # unknown channel
    s.conn_errors.clear()
    s.send(DATA, 999, b"x")
    s.send(RESIZE, 998, b"\0\1\0\1")
    s.send(SIGNAL, 997, b"\x0f")
    s.pump(lambda: len(s.conn_errors) >= 3, 5, "unknown channel errors")
    assert s.conn_errors == ["chan 999: unknown channel 999", "chan 998: unknown channel 998",
                             "chan 997: unknown channel 997"], s.conn_errors
    # malformed RESIZE on a live exec fails it
    c = s.exec("sleep 100", tty="1")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.send(RESIZE, c.id, b"\0\1\0")
    s.wait(c)
    assert c.error == "malformed RESIZE payload", c.error
    # reusing a live channel id
    c = s.exec("sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.send(EXEC, c.id, mkmap({"cmd": "true"}))
    s.wait(c)
    assert c.error == "channel %d already in use" % c.id, c.error
    # fuzz: random frames of harmless types and random bytes; the agent must survive
    rnd = random.Random(7)
    for _ in range(300):
        t = rnd.choice([DATA, RESIZE, SIGNAL, GET, HELLO, 0x0A, 0x7F, 0xFF])
        p = rnd.randbytes(rnd.choice([0, 1, 3, 4, 16, 100, 5000]))
        s.send_raw(frame(t, rnd.choice([0, 1, 2, 5000, 2 ** 32 - 1]), p))
        if rnd.random() < 0.1:
            s.send_raw(rnd.randbytes(rnd.randrange(1, 200)))
    # (random HELLOs got BXSYNC replies, so resync instead of parsing frames)
    time.sleep(0.5)
    assert os.path.exists("/proc/%d" % pid) and proc_stat(pid)[0] != "Z", "agent died"
    s.hello()
    expect_exit(s.run("exit 5"), 5)


@test
def one_bad_request_fails_only_itself(env, s):
    running = s.exec("read line; echo got $line")
    s.pump(lambda: running.pid is not None, 5, "STARTED")
    # a request over the frame limit: refused on its channel, naming the limit
    big = s.exec("echo " + "x" * (100 << 10))
    s.wait(big, 10)
    assert big.error == "request of %d bytes exceeds the agent's limit of 65536 bytes per frame" % (
        len(mkmap([("cmd", "echo " + "x" * (100 << 10))] + ([("user", s.default_user)] if s.default_user else []))),
    ), big.error
    assert big.pid is None
    # an oversized DATA frame fails the exec it was for, not its neighbour
    victim = s.exec("sleep 100")
    s.pump(lambda: victim.pid is not None, 5, "STARTED")
    s.send_raw(frame(DATA, victim.id, b"y" * (MAX_PAYLOAD + 1)))
    s.wait(victim, 10)
    assert victim.error.startswith("request of 65537 bytes exceeds"), victim.error
    assert wait_until(lambda: not group_members(victim.pid), 2), "the failed exec's group lives on"
    # a frame type the agent does not know, on a channel
    s.send(0x42, 4242, b"abc")
    s.pump(lambda: "chan 4242: unknown frame type 0x42" in s.conn_errors, 5, "unknown type error")
    # the running exec never noticed
    assert not s.conn_errors or all(e.startswith("chan ") for e in s.conn_errors), s.conn_errors
    s.stream_data(running, [b"hello\n"])
    s.wait(running, 10)
    expect_exit(running, 0)
    assert running.out == b"got hello\n", running.out
    expect_exit(s.run("echo still"), 0)


@test
def signal_aborts_a_transfer(env, s):
    # an upload whose source failed: SIGNAL ends it, and no part of it becomes the file
    target = os.path.join(env.work, "aborted")
    c = s.new_chan("put")
    s.send(PUT, c.id, mkmap(dict(path=target, user=env.user)))
    s.send(DATA, c.id, b"x" * 1000)
    c.sent = 1000
    s.pump(lambda: c.acked == 1000, 5, "ACK")
    s.send(SIGNAL, c.id, b"\x09")
    s.wait(c, 5)
    assert c.error == "upload aborted by the host", c.error
    assert not os.path.exists(target)
    assert not [n for n in os.listdir(env.work) if n.startswith(".boxd-put")], "temp file left"
    # a download whose reader went away
    src = os.path.join(env.work, "big-source")
    with open(src, "wb") as f:
        f.write(os.urandom(32 << 20))
    os.chmod(src, 0o644)
    g = s.get(src, sink=True)
    s.pump(lambda: g.out_len > 0, 5, "GET data")
    s.send(SIGNAL, g.id, b"\x09")
    s.wait(g, 10)
    assert g.error == "download aborted by the host", g.error
    assert g.out_len < 32 << 20
    os.unlink(src)
    expect_exit(s.run("exit 4"), 4)


@test
def reconnect_mid_exec(env, s):
    # 1. HELLO again on the same connection
    c = s.exec("sleep 100 & sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    time.sleep(0.1)
    s.hello()
    assert wait_until(lambda: not group_members(c.pid), 2), "process group survived HELLO"
    # 2. the host goes away; a new connection sends HELLO
    c = s.exec("sleep 100")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.close()
    assert wait_until(lambda: not group_members(c.pid), 2), "process group survived hangup"
    s2 = Session(env.sock)
    s2.hello()
    expect_exit(s2.run("exit 4"), 4)
    # 3. HELLO while a flood of output is in flight: the host skips to BXSYNC + nonce
    c = s2.exec("yes", sink=True)
    s2.pump(lambda: c.out_len > 1 << 20, 10, "output flood")
    s2.hello()
    assert wait_until(lambda: not group_members(c.pid), 2)
    expect_exit(s2.run("echo after"), 0)
    # 4. disconnect in the middle of sending a frame; the next connection starts clean
    s2.send_raw(struct.pack(">IBI", 5 + 60000, DATA, 1) + b"x" * 1000)
    s2.close()
    s3 = Session(env.sock)
    s3.hello()
    expect_exit(s3.run("exit 6"), 6)
    # 5. a second client replaces the first
    c = s3.exec("sleep 100")
    s3.pump(lambda: c.pid is not None, 5, "STARTED")
    s4 = Session(env.sock)
    s4.hello()
    assert wait_until(lambda: not group_members(c.pid), 2)
    expect_exit(s4.run("exit 8"), 8)
    s3.close()
    env.replace_session(s4)


def sandbox_ip(env, *args):
    """ip(8) run by the harness in the sandbox's network namespace (not through the agent),
    so the checks see the kernel's state whatever the agent reports.  -j: parsed JSON."""
    out = subprocess.run(["nsenter", "--net=/proc/%d/ns/net" % env.agent_pid, "ip", "-j"] + list(args),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def check_sandbox_net(env, mac, cidr, gateway):
    link = sandbox_ip(env, "link", "show", "dev", "eth0")[0]
    assert link["address"] == mac, link
    assert "UP" in link["flags"], link
    addrs = sandbox_ip(env, "addr", "show", "dev", "eth0")[0]["addr_info"]
    # every other address is gone (as with `ip addr flush`), IPv6 included
    assert ["%s/%d" % (a["local"], a["prefixlen"]) for a in addrs] == [cidr], addrs
    assert addrs[0]["family"] == "inet" and addrs[0]["scope"] == "global", addrs
    routes = sandbox_ip(env, "-4", "route", "show", "default")
    assert [(r["gateway"], r["dev"]) for r in routes] == [(gateway, "eth0")], routes


@test
def identity(env, s):
    if not env.sandbox:
        raise Skip("needs the sandbox")
    etc = env.etc
    with open(etc + "/hosts", "w") as f:
        f.write("127.0.0.1\tlocalhost\n127.0.1.1\told-name\n::1\tlocalhost ip6-localhost\n")
    os.makedirs(etc + "/ssh", exist_ok=True)
    for n in ("ssh_host_rsa_key", "ssh_host_rsa_key.pub", "ssh_host_ecdsa_key",
              "ssh_host_ecdsa_key.pub", "ssh_host_ed25519_key-cert.pub"):
        open(os.path.join(etc, "ssh", n), "w").write("old\n")
    os.makedirs(etc + "/boxd", exist_ok=True)
    with open(etc + "/boxd/env", "w") as f:
        f.write("KEEP=me\nBOXD_VM_ID=old\n")
    # what a golden may carry: its own addresses (IPv4 and IPv6) and a default route
    nsip = ["nsenter", "--net=/proc/%d/ns/net" % env.agent_pid, "ip"]
    for cmd in (["link", "set", "eth0", "down"], ["addr", "flush", "dev", "eth0"],
                ["addr", "add", "192.168.99.7/24", "dev", "eth0"],
                ["addr", "add", "192.168.99.8/24", "dev", "eth0"],
                ["addr", "add", "fd00:99::7/64", "dev", "eth0", "nodad"],
                ["link", "set", "eth0", "up"],
                ["route", "replace", "default", "via", "192.168.99.1"]):
        subprocess.run(nsip + cmd, check=True)
    params = dict(identity_params())
    c = s.new_chan("identity")
    t = time.monotonic()
    s.send(IDENTITY, c.id, mkmap(identity_params()))
    s.wait(c, 20)
    MEASURE["IDENTITY round trip (first, link up)"] = "%.2f ms" % ((time.monotonic() - t) * 1000)
    assert c.error is None, c.error
    assert c.done == 0
    check_sandbox_net(env, "52:54:00:12:34:56", "10.77.0.5/24", "10.77.0.1")
    assert open(etc + "/hostname").read() == "vm-test-1\n"
    hosts = open(etc + "/hosts").read()
    assert hosts == "127.0.0.1\tlocalhost\n127.0.1.1\tvm-test-1\n::1\tlocalhost ip6-localhost\n", hosts
    assert open(etc + "/machine-id").read() == "0123456789abcdef0123456789abcdef\n"
    assert open(etc + "/resolv.conf").read().endswith("nameserver 10.77.0.1\nnameserver 1.1.1.1\n")
    assert open(etc + "/boxd/env").read() == (
        "KEEP=me\nBOXD_VM_ID=vm-1234\nBOXD_VM_NAME=my vm\nBOXD_GATEWAY=10.77.0.1\n")
    assert sorted(n for n in os.listdir(etc + "/ssh") if n.startswith("ssh_host_")) == [
        "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]
    k = os.stat(etc + "/ssh/ssh_host_ed25519_key")
    assert stat.S_IMODE(k.st_mode) == 0o600 and k.st_uid == 0
    assert open(etc + "/ssh/ssh_host_ed25519_key").read() == params["host_key_ed25519"] + "\n"
    assert open(etc + "/ssh/ssh_host_ed25519_key.pub").read() == params["host_key_ed25519_pub"]
    platform = etc + "/boxd/authorized_keys/boxd"
    assert open(platform).read() == params["authorized_keys"] + "\n"
    p = os.stat(platform)
    assert stat.S_IMODE(p.st_mode) == 0o644 and p.st_uid == 0, oct(p.st_mode)
    assert wait_until(lambda: os.path.exists(env.systemctl_log), 3)
    assert wait_until(lambda: open(env.systemctl_log).read() == "--no-block start ssh.service\n", 3), \
        open(env.systemctl_log).read()
    r = s.run("hostname; ip -o link show eth0; ip -o -4 addr show eth0; ip route; echo $BOXD_VM_NAME",
              user="root")
    out = r.out.decode()
    assert out.startswith("vm-test-1\n"), out
    assert "52:54:00:12:34:56" in out and "10.77.0.5/24" in out, out
    assert "default via 10.77.0.1 dev eth0" in out, out
    assert out.endswith("my vm\n"), out
    # again on the running link: a live MAC change, the old address and route replaced
    c = s.new_chan("identity")
    s.send(IDENTITY, c.id, mkmap([("mac", "52:54:00:AB:cd:01"), ("ip", "10.78.1.9/16"),
                                  ("gateway", "10.78.0.1")]))
    s.wait(c, 20)
    assert c.error is None, c.error
    check_sandbox_net(env, "52:54:00:ab:cd:01", "10.78.1.9/16", "10.78.0.1")
    # and on a link that is down (which dropped the default route): it comes up, without
    # `ip` the address stays
    subprocess.run(nsip + ["link", "set", "eth0", "down"], check=True)
    c = s.new_chan("identity")
    s.send(IDENTITY, c.id, mkmap([("mac", "52:54:00:12:34:56"), ("gateway", "10.78.0.1")]))
    s.wait(c, 20)
    assert c.error is None, c.error
    check_sandbox_net(env, "52:54:00:12:34:56", "10.78.1.9/16", "10.78.0.1")
    # failures name the step, and bad values change nothing
    for params, prefix in [
        ([("ip", "not-an-ip")], "network: invalid ip (want IPv4/prefix): not-an-ip"),
        ([("ip", "10.0.0.1/33")], "network: invalid ip (want IPv4/prefix): 10.0.0.1/33"),
        ([("mac", "52:54:00:12:34")], "network: invalid mac: 52:54:00:12:34"),
        ([("gateway", "gw")], "network: invalid gateway: gw"),
        ([("iface", "nosuchif0"), ("gateway", "10.77.0.1")],
         "network: interface nosuchif0: no such device"),
        # the kernel refuses a multicast MAC
        ([("mac", "01:00:5e:00:00:01")], "network: set eth0 address 01:00:5e:00:00:01: "),
        ([("gateway", "10.99.0.1")], "network: default route via 10.99.0.1 dev eth0: "),
        ([("hostname", "bad name")], "hostname: invalid value: bad name"),
        ([("machine_id", "xyz")], "machine_id: invalid value"),
        ([("entropy", "abc")], "entropy: invalid hex"),
        ([("time_ns", "soon")], "time_ns: invalid value: soon"),
        ([("vm_name", "a\nb")], "vm_name: invalid value (contains a newline)"),
    ]:
        c = s.new_chan("identity")
        s.send(IDENTITY, c.id, mkmap(params))
        s.wait(c, 20)
        assert c.error and c.error.startswith(prefix), (params, c.error)
    check_sandbox_net(env, "52:54:00:12:34:56", "10.78.1.9/16", "10.78.0.1")
    # an empty IDENTITY is fine
    c = s.new_chan("identity")
    s.send(IDENTITY, c.id, b"")
    s.wait(c)
    assert c.done == 0


def identity_params(**over):
    """A full IDENTITY request, as the worker sends it after a restore."""
    params = collections.OrderedDict([
        ("hostname", "vm-test-1"), ("machine_id", "0123456789abcdef0123456789abcdef"),
        ("iface", "eth0"), ("mac", "52:54:00:12:34:56"), ("ip", "10.77.0.5/24"),
        ("gateway", "10.77.0.1"), ("dns", "10.77.0.1,1.1.1.1"), ("vm_id", "vm-1234"),
        ("vm_name", "my vm"),
        ("host_key_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"),
        ("host_key_ed25519_pub", "ssh-ed25519 AAAAC3Nza test@boxd\n"),
        ("authorized_keys", "ssh-ed25519 AAAAC3Nzaplatform boxd-platform"),
        ("entropy", os.urandom(64).hex()), ("time_ns", str(time.time_ns())),
    ])
    params.update(over)
    return list(params.items())


@test
def identity_round_trip(env, s):
    """Round trip of a full IDENTITY (network, files, host key, sshd start) and of its network
    part alone, medians of 30."""
    if not env.sandbox:
        raise Skip("needs the sandbox")
    for what, keys in [("full", None), ("network only", ("iface", "mac", "ip", "gateway"))]:
        times = []
        for i in range(30):
            c = s.new_chan("identity")
            params = identity_params(mac="52:54:00:12:34:%02x" % (0x40 + i % 2),
                                     ip="10.77.0.%d/24" % (10 + i % 2), time_ns=str(time.time_ns()))
            if keys:
                params = [(k, v) for k, v in params if k in keys]
            t = time.monotonic()
            s.send(IDENTITY, c.id, mkmap(params))
            s.wait(c, 20)
            times.append(time.monotonic() - t)
            assert c.error is None and c.done == 0, c.error
        times.sort()
        MEASURE["IDENTITY round trip, %s (median of 30)" % what] = "%.2f ms (min %.2f, max %.2f)" % (
            times[len(times) // 2] * 1000, times[0] * 1000, times[-1] * 1000)
    # let the fake systemctl runs finish: the end-of-run check wants no leftover processes
    wait_until(lambda: not [p for p, st in children_of(env.agent_pid) if st != "Z"], 5)


@test
def identity_sshd_start(env, s):
    """sshd is never restarted for a new host key (it loads its keys anew for each connection)
    and is started only when it is not running; "start" leaves an sshd that is starting alone."""
    if not env.sandbox:
        raise Skip("needs the sandbox")
    etc, run = env.etc, "/proc/%d/root/run" % env.agent_pid
    k1 = "-----BEGIN OPENSSH PRIVATE KEY-----\nK1\n-----END OPENSSH PRIVATE KEY-----\n"
    k2 = "-----BEGIN OPENSSH PRIVATE KEY-----\nK2\n-----END OPENSSH PRIVATE KEY-----"

    def calls():
        try:
            return open(env.systemctl_log).read().splitlines()
        except FileNotFoundError:
            return []

    def identity_then(key, start, why):
        before = len(calls())
        c = s.new_chan("identity")
        s.send(IDENTITY, c.id, mkmap([("host_key_ed25519", key), ("hostname", "vm-ssh")]))
        s.wait(c, 20)
        assert c.error is None, c.error
        if start:
            assert wait_until(lambda: len(calls()) == before + 1, 3), "sshd not started: " + why
            assert calls()[-1] == "--no-block start ssh.service", calls()
        else:
            time.sleep(0.3)
            assert len(calls()) == before, "systemctl ran: " + why

    fake_sshd = None
    try:
        identity_then(k1, True, "not running")
        shutil.copy("/bin/sleep", env.tmp + "/sshd")
        fake_sshd = subprocess.Popen([env.tmp + "/sshd", "60"])
        open(run + "/sshd.pid", "w").write("%d\n" % fake_sshd.pid)
        identity_then(k2, False, "running, with another key")
        open(etc + "/ssh/ssh_host_rsa_key", "w").write("old\n")
        identity_then(k1, False, "running, with a key that was removed")
        assert not os.path.exists(etc + "/ssh/ssh_host_rsa_key")
        fake_sshd.kill()
        fake_sshd.wait()
        identity_then(k1, True, "pid file of a dead sshd")
        assert open(etc + "/ssh/ssh_host_ed25519_key").read() == k1
    finally:
        if fake_sshd and fake_sshd.poll() is None:
            fake_sshd.kill()
            fake_sshd.wait()
        if os.path.exists(run + "/sshd.pid"):
            os.unlink(run + "/sshd.pid")
    wait_until(lambda: not [p for p, st in children_of(env.agent_pid) if st != "Z"], 5)


@test
def time_frame(env, s):
    c = s.new_chan("time")
    s.send(TIME, c.id, struct.pack(">Q", time.time_ns()))
    s.wait(c)
    assert c.done == 0 and c.error is None, c.error
    c = s.new_chan("time")
    s.send(TIME, c.id, b"\0\0\0")
    s.wait(c)
    assert c.error == "malformed TIME payload", c.error


@test
def exec_round_trip(env, s):
    n = 200
    t = time.monotonic()
    for _ in range(n):
        expect_exit(s.run("true"), 0)
    dt = (time.monotonic() - t) / n
    MEASURE["exec round trip ('true', sequential)"] = "%.2f ms" % (dt * 1000)
    t = time.monotonic()
    for _ in range(n):
        c = s.new_chan("time")
        s.send(TIME, c.id, struct.pack(">Q", time.time_ns()))
        s.wait(c)
    MEASURE["TIME round trip"] = "%.3f ms" % ((time.monotonic() - t) / n * 1000)


@test
def idle_costs_nothing(env, s):
    c = s.exec("sleep 3")
    s.pump(lambda: c.pid is not None, 5, "STARTED")
    s.poll_frames(0.2)
    t0 = cpu_ticks(env.agent_pid)
    time.sleep(2)
    used = cpu_ticks(env.agent_pid) - t0
    assert used <= 1, "idle agent used %d ticks in 2 s" % used
    s.wait(c, 5)
    MEASURE["idle CPU (2 s, one exec running)"] = "%d ticks" % used


@test
def device_mode_on_a_pty(env, s):
    """--device on a pty slave: same code path as the virtio port (no sockets), and after
    the 'host' side closes, POLLHUP handling must not spin."""
    import tty as ttymod
    master, slave = os.openpty()
    ttymod.setraw(slave)
    name = os.ttyname(slave)   # kept open: a master with no slave open reads EIO
    log = open(os.path.join(env.tmp, "device-agent.log"), "w")
    p = subprocess.Popen([os.path.abspath(env.args.agent), "--device", name],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        # a Session on top of the master fd
        ds = Session.__new__(Session)
        ds.rbuf, ds.roff, ds.chans, ds.next_id, ds.conn_errors = bytearray(), 0, {}, 1, []

        class FdSock:
            def __init__(self, fd):
                self.fd = fd

            def fileno(self):
                return self.fd

            def sendall(self, data):
                mv = memoryview(data)
                while mv:
                    n = os.write(self.fd, mv[:4096])
                    mv = mv[n:]

            def recv(self, n):
                return os.read(self.fd, n)

            def close(self):
                os.close(self.fd)

        ds.sock = FdSock(master)
        ds.hello()
        c = ds.run("echo via-device; exit 9", user="root")
        expect_exit(c, 9)
        assert c.out == b"via-device\n"
        big = ds.run("head -c 3000000 /dev/zero | tr '\\0' 'z'", sink=True, user="root")
        assert big.out_len == 3000000 and big.exit == 0
        # the host side goes away
        c = ds.exec("sleep 100", user="root")
        ds.pump(lambda: c.pid is not None, 5, "STARTED")
        ds.sock.close()
        assert wait_until(lambda: not group_members(c.pid), 2), "exec survived the hangup"
        time.sleep(1.2)    # past the fast re-poll phase
        t0 = cpu_ticks(p.pid)
        time.sleep(2)
        used = cpu_ticks(p.pid) - t0
        MEASURE["disconnected device: CPU in 2 s"] = "%d ticks" % used
        assert used <= 2, "disconnected agent used %d ticks in 2 s" % used
    finally:
        p.terminate()
        p.wait()
        log.close()
        os.close(slave)


class Skip(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="path of the boxd-agent binary")
    ap.add_argument("--no-sandbox", action="store_true", help="run the agent without namespaces")
    ap.add_argument("--user", help="exec user (default: boxd, created inside the sandbox)")
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--big-mb", type=int, default=100, help="PUT/GET size (default 100)")
    ap.add_argument("--huge-mb", type=int, default=1024, help="bulk output size (default 1024)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", action="store_true", help="run the agent with --verbose")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the agent switches users and the sandbox needs namespaces")

    env = Env(args)
    failed = []
    try:
        env.agent_pid = env.start()
        if env.user != "boxd":
            Session.default_user = env.user
        fds_at_start = sorted(os.listdir("/proc/%d/fd" % env.agent_pid))
        # with the sandbox, unshare exec'd sh which exec'd the agent: same pid
        holder = {}

        def replace_session(new):
            holder["s"] = new
        env.replace_session = replace_session

        for fn in TESTS:
            if args.k and not any(k in fn.__name__ for k in args.k):
                continue
            t = time.monotonic()
            s = Session(env.sock)
            holder["s"] = s
            try:
                s.hello()
                fn(env, s)
                print("PASS  %-45s %6.2fs" % (fn.__name__, time.monotonic() - t), flush=True)
            except Skip as e:
                print("SKIP  %-45s (%s)" % (fn.__name__, e), flush=True)
            except Exception:
                failed.append(fn.__name__)
                print("FAIL  %-45s %6.2fs" % (fn.__name__, time.monotonic() - t), flush=True)
                traceback.print_exc()
            finally:
                try:
                    holder["s"].close()
                except OSError:
                    pass
                if holder["s"] is not s:
                    try:
                        s.close()
                    except OSError:
                        pass
            if env.proc.poll() is not None:
                failed.append("agent died")
                print("agent died; log:\n" + env.agent_log())
                break
        # nothing may be left behind: after the last hangup every child is gone
        time.sleep(0.3)
        left = [p for p, st in children_of(env.agent_pid) if st != "Z"]
        if left:
            failed.append("leftover processes %s" % left)
            print("FAIL  leftover processes:", left)
        else:
            print("PASS  no leftover processes")
        MEASURE["agent RSS after all tests"] = "%d KiB" % rss_kb(env.agent_pid)
        fds = sorted(os.listdir("/proc/%d/fd" % env.agent_pid))
        if fds != fds_at_start:
            failed.append("fd leak")
            print("FAIL  agent fds: %d at start, %d at the end" % (len(fds_at_start), len(fds)))
        else:
            print("PASS  no leaked fds (%d open)" % len(fds))
    finally:
        env.cleanup()
    if MEASURE:
        print("\nmeasurements:")
        for k, v in MEASURE.items():
            print("  %-45s %s" % (k, v))
    log = env.agent_log() if not env.log.closed else ""
    if failed:
        print("\nagent log:\n" + log[-4000:])
        print("FAILED:", ", ".join(failed))
        sys.exit(1)
    print("\nall tests passed")


if __name__ == "__main__":
    main()
