#!/usr/bin/env python3
"""Tests of the in-VM `boxd` command line (guest/cli/boxd-cli.c), Python 3 standard library only.

A unit test of the client's side of docs/gateway-protocol.md: an in-process fake gateway plays a
scripted session per test and records every frame the client sends, while the real binary runs
with BOXD_GATEWAY pointing at it.

    python3 guest/cli/test/cli_test.py                     # builds the client with guest/cli/build.sh
    python3 guest/cli/test/cli_test.py --cli /tmp/boxd     # tests a built binary
    python3 guest/cli/test/cli_test.py -k Terminal         # a subset (unittest's -k)

The tests of the default route need root (a network namespace of their own, unshare(1)); they
fail rather than skip without it.
"""

import atexit
import errno
import fcntl
import hashlib
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = None                      # the binary under test, set in main()
MAX_PAYLOAD = 1 << 20
STDIN_CHUNK = 65536
PROTOCOL = "boxd-gateway/1"


class Hello:
    def __init__(self, payload):
        if not payload.endswith(b"\0"):
            raise AssertionError("hello is not NUL-terminated: %r" % payload[-20:])
        fields = [f.decode() for f in payload[:-1].split(b"\0")]
        if len(fields) < 5:
            raise AssertionError("hello has %d fields, expected at least 5: %r" % (len(fields), fields))
        self.version, self.cwd, self.term, self.cols, self.rows = fields[:5]
        self.args = fields[5:]


class Conn:
    """The gateway's end of one client connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.received = []          # every (type, payload) the client sent

    def send(self, ftype, payload=b""):
        self.sock.sendall(ftype.encode() + struct.pack(">I", len(payload)) + payload)

    def exit(self, code):
        self.send("X", struct.pack(">i", code))

    def recv(self, timeout=10):
        """The next frame as (type, payload), or None when the client closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 5:
                n = struct.unpack_from(">I", self.buf, 1)[0]
                if n > MAX_PAYLOAD:
                    raise AssertionError("client sent a frame of %d bytes" % n)
                if len(self.buf) >= 5 + n:
                    frame = (chr(self.buf[0]), bytes(self.buf[5:5 + n]))
                    del self.buf[:5 + n]
                    self.received.append(frame)
                    return frame
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise TimeoutError("no frame from the client within %ss" % timeout)
            data = self.sock.recv(1 << 20)
            if not data:
                if self.buf:
                    raise AssertionError("client closed mid-frame: %r" % bytes(self.buf[:20]))
                return None
            self.buf += data

    def expect(self, ftype, timeout=10):
        frame = self.recv(timeout)
        if frame is None or frame[0] != ftype:
            raise AssertionError("expected a %s frame, got %r" % (ftype, frame and (frame[0], frame[1][:40])))
        return frame[1]

    def hello(self):
        h = Hello(self.expect("H"))
        if h.version != PROTOCOL:
            raise AssertionError("hello version %r" % h.version)
        return h

    def expect_close(self, timeout=10):
        """Asserts the client closes the connection (sending nothing more)."""
        frame = self.recv(timeout)
        if frame is not None:
            raise AssertionError("expected the client to close, got %r" % ((frame[0], frame[1][:40]),))

    def quiet_for(self, seconds):
        """Asserts the client sends nothing for `seconds`."""
        try:
            frame = self.recv(seconds)
        except TimeoutError:
            return
        raise AssertionError("expected no frame, got %r" % (frame and (frame[0], frame[1][:40]),))

    def read_stdin(self, echo=False):
        """Collects I frames up to the empty one; with echo, sends each back as O."""
        data = bytearray()
        while True:
            payload = self.expect("I")
            if len(payload) > STDIN_CHUNK:
                raise AssertionError("I frame of %d bytes" % len(payload))
            if not payload:
                return bytes(data)
            data += payload
            if echo:
                self.send("O", payload)


class Result:
    def __init__(self, code, out, err, value):
        self.code, self.out, self.err, self.value = code, out, err, value


class Gateway:
    """A fake gateway: serves one client connection per run() with a script(conn)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.listener = socket.create_server((host, port))
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.address = "%s:%d" % (host, self.port)

    def close(self):
        self.listener.close()

    def serve(self, script):
        """Starts serving one connection in a thread; join() gives the script's return value."""
        outcome = {}

        def run():
            try:
                self.listener.settimeout(20)
                sock, _ = self.listener.accept()
                sock.settimeout(None)
                with sock:
                    outcome["value"] = script(Conn(sock))
            except BaseException as e:  # handed to the test's thread
                outcome["error"] = e

        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def join():
            thread.join(30)
            if thread.is_alive():
                raise AssertionError("gateway script did not finish")
            if "error" in outcome:
                raise outcome["error"]
            return outcome.get("value")
        return join

    def run(self, script, args=(), input=None, stdin=None, env=None, cwd=None, gateway=None):
        join = self.serve(script)
        proc = subprocess.run([CLI, *args], input=input, stdin=stdin, capture_output=True,
                              env=client_env(gateway or self.address, env), cwd=cwd, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr, join())


class UnixGateway(Gateway):
    """The fake gateway on a Unix socket (BOXD_GATEWAY=unix:PATH)."""

    def __init__(self, path):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.address = "unix:" + path


def client_env(gateway, extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("BOXD_GATEWAY", "TERM")}
    env["TERM"] = "xterm-256color"      # only sent when stdin and stdout are a terminal
    if gateway is not None:
        env["BOXD_GATEWAY"] = gateway
    env.update(extra or {})
    return env


def run_cli(args=(), env=None, input=b""):
    proc = subprocess.run([CLI, *args], input=input, capture_output=True, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def finish(conn, code=0):
    conn.exit(code)


class GatewayTestCase(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway()
        self.addCleanup(self.gw.close)


# ---------------------------------------------------------------------------------------------

class HelloTest(GatewayTestCase):
    def test_hello_carries_cwd_and_every_argument_and_no_terminal_under_pipes(self):
        args = ["exec", "my vm", "--", "sh", "-c", "echo 'a b'", "ünïcødé ✓ 日本", "", "last"]

        def script(conn):
            h = conn.hello()
            conn.exit(0)
            return h
        with tempfile.TemporaryDirectory(prefix="cli test ü ") as cwd:
            r = self.gw.run(script, args, input=b"", cwd=cwd)
            self.assertEqual(r.value.cwd, os.path.realpath(cwd))
        h = r.value
        self.assertEqual(h.args, args)
        self.assertEqual((h.term, h.cols, h.rows), ("", "0", "0"))
        self.assertEqual(r.code, 0, r.err)

    def test_no_arguments(self):
        def script(conn):
            h = conn.hello()
            conn.exit(0)
            return h
        r = self.gw.run(script, [], input=b"")
        self.assertEqual(r.value.args, [])

    def test_a_hello_over_1_mib_fails_before_connecting(self):
        code, out, err = run_cli(["x" * 120_000] * 10, env=client_env(self.gw.address))
        self.assertEqual(code, 255)
        self.assertIn(b"boxd: the arguments are too long", err)
        self.gw.listener.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.gw.listener.accept()


class OutputTest(GatewayTestCase):
    def test_O_goes_to_stdout_and_E_to_stderr(self):
        def script(conn):
            conn.hello()
            conn.send("O", b"out 1\n")
            conn.send("E", b"err 1\n")
            conn.send("O", b"")
            conn.send("O", "out 2 ✓\n".encode())
            conn.exit(0)
        r = self.gw.run(script, ["list"], input=b"")
        self.assertEqual((r.code, r.out, r.err), (0, "out 1\nout 2 ✓\n".encode(), b"err 1\n"))

    def test_exit_codes(self):
        for sent, expected in [(0, 0), (7, 7), (124, 124), (255, 255), (-1, 255), (256, 0)]:
            with self.subTest(code=sent):
                r = self.gw.run(lambda conn: (conn.hello(), conn.exit(sent)), ["x"], input=b"")
                self.assertEqual(r.code, expected, r.err)
                self.assertEqual(r.err, b"")

    def test_frames_of_exactly_1_mib_and_split_across_reads(self):
        blob = random.randbytes(MAX_PAYLOAD)

        def script(conn):
            conn.hello()
            frame = b"O" + struct.pack(">I", len(blob)) + blob
            conn.sock.sendall(frame[:3])        # header split
            time.sleep(0.05)
            conn.sock.sendall(frame[3:1000])
            time.sleep(0.05)
            conn.sock.sendall(frame[1000:])
            conn.send("E", b"e")
            conn.exit(3)
        r = self.gw.run(script, ["x"], input=b"")
        self.assertEqual(r.code, 3, r.err)
        self.assertEqual(hashlib.sha256(r.out).hexdigest(), hashlib.sha256(blob).hexdigest())
        self.assertEqual(r.err, b"e")

    def test_a_closed_stdout_ends_the_client_as_sigpipe_ends_a_pipeline(self):
        rfd, wfd = os.pipe()
        os.close(rfd)                       # writes to wfd now fail with EPIPE
        join = self.gw.serve(lambda conn: (conn.hello(), conn.send("O", b"y\n" * 50_000), conn.expect_close()))
        try:
            proc = subprocess.run([CLI, "exec"], stdin=subprocess.DEVNULL, stdout=wfd, stderr=subprocess.PIPE,
                                  env=client_env(self.gw.address), timeout=60)
        finally:
            os.close(wfd)
        join()
        self.assertEqual((proc.returncode, proc.stderr), (-signal.SIGPIPE, b""))

    def test_a_closed_stderr_drops_it_but_keeps_the_exit_code(self):
        rfd, wfd = os.pipe()
        os.close(rfd)
        join = self.gw.serve(lambda conn: (conn.hello(), [conn.send("E", b"e\n" * 50_000) for _ in range(10)],
                                           conn.send("O", b"still here\n"), conn.exit(4)))
        try:
            proc = subprocess.run([CLI, "exec"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=wfd,
                                  env=client_env(self.gw.address), timeout=60)
        finally:
            os.close(wfd)
        join()
        self.assertEqual((proc.returncode, proc.stdout), (4, b"still here\n"))


class FailureTest(GatewayTestCase):
    def test_connection_dropped_without_X_is_255_with_one_line(self):
        def script(conn):
            conn.hello()
            conn.send("O", b"partial")
        r = self.gw.run(script, ["x"], input=b"")
        self.assertEqual(r.code, 255)
        self.assertEqual(r.out, b"partial")
        self.assertEqual(r.err.decode(), "boxd: the boxd gateway at %s closed the connection\n" % self.gw.address)

    def test_connection_refused_is_255_with_one_line(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))            # bound, not listening: connect is refused
        port = s.getsockname()[1]
        try:
            code, out, err = run_cli(["list"], env=client_env("127.0.0.1:%d" % port))
        finally:
            s.close()
        self.assertEqual((code, out), (255, b""))
        self.assertEqual(err.decode(), "boxd: cannot reach the boxd gateway at 127.0.0.1:%d: Connection refused\n" % port)

    def assert_protocol_error(self, raw, what):
        def script(conn):
            conn.hello()
            conn.sock.sendall(raw)
            time.sleep(0.5)                 # the client must not wait for more
        t0 = time.monotonic()
        r = self.gw.run(script, ["x"], input=b"")
        self.assertEqual(r.code, 255)
        self.assertRegex(r.err.decode(), r"^boxd: protocol error from the boxd gateway at %s: %s" % (self.gw.address, what))
        self.assertLess(time.monotonic() - t0, 5)

    def test_a_frame_over_1_mib_is_a_protocol_error(self):
        self.assert_protocol_error(b"O" + struct.pack(">I", MAX_PAYLOAD + 1), "payload over 1 MiB")

    def test_an_unknown_frame_type_is_a_protocol_error(self):
        self.assert_protocol_error(b"Q" + struct.pack(">I", 0), "unknown frame type")

    def test_wrong_payload_sizes_are_protocol_errors(self):
        self.assert_protocol_error(b"X" + struct.pack(">I", 3) + b"\0\0\0", "exit code must be 4 bytes")
        self.assert_protocol_error(b"N" + struct.pack(">I", 1) + b"!", "payload must be empty")


class GatewayAddressTest(unittest.TestCase):
    def test_bad_BOXD_GATEWAY_values(self):
        for value in ["nonsense", "gateway.example:9002", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
                      "10.0.0.1:9002x", "10.0.0.1:-1", "10.0.0.1:9002:1", "::1"]:
            with self.subTest(value=value):
                code, out, err = run_cli(["list"], env=client_env(value))
                self.assertEqual(code, 255)
                self.assertEqual(err.decode(), "boxd: BOXD_GATEWAY=%s: expected HOST or HOST:PORT "
                                 "(an IPv4 address, a port 1-65535) or unix:PATH\n" % value)

    def test_a_unix_socket(self):
        # the laptop CLI's resident process listens on one
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "cli.sock")
            gw = UnixGateway(path)
            try:
                r = gw.run(lambda conn: (conn.hello(), conn.send("O", b"over unix\n"), conn.exit(5)), ["list"], input=b"")
            finally:
                gw.close()
        self.assertEqual((r.code, r.out), (5, b"over unix\n"), r.err)

    def test_nobody_on_the_unix_socket_runs_the_fallback_with_the_same_arguments(self):
        with tempfile.TemporaryDirectory() as d:
            fallback = os.path.join(d, "fallback")
            with open(fallback, "w") as f:
                f.write('#!/bin/sh\nprintf "%s|" "$@"; echo "direct=$BOXD_CLI_DIRECT gateway=${BOXD_GATEWAY-unset}"; exit 4\n')
            os.chmod(fallback, 0o755)
            missing = "unix:" + os.path.join(d, "nobody.sock")
            code, out, err = run_cli(["exec", "vm", "--", "a b"], env=client_env(missing, {"BOXD_GATEWAY_FALLBACK": fallback}))
            self.assertEqual((code, out.decode()), (4, "exec|vm|--|a b|direct=start gateway=unset\n"), err)
            code, out, err = run_cli(["list"], env=client_env(missing))
            self.assertEqual(code, 255)
            self.assertEqual(err.decode(), "boxd: cannot reach the boxd gateway at %s: No such file or directory\n" % missing)
        code, out, err = run_cli(["list"], env=client_env("unix:"))
        self.assertEqual(code, 255)
        self.assertIn("expected unix:PATH", err.decode())

    def test_host_with_port(self):
        gw = Gateway()
        try:
            r = gw.run(lambda conn: (conn.hello(), conn.exit(0)), ["x"], input=b"", gateway="127.0.0.1:%d" % gw.port)
        finally:
            gw.close()
        self.assertEqual(r.code, 0, r.err)

    def test_host_alone_means_port_9002(self):
        # any 127/8 address is loopback: pick one nobody else listens on
        for _ in range(20):
            host = "127.%d.%d.%d" % (random.randrange(1, 255), random.randrange(1, 255), random.randrange(2, 255))
            try:
                gw = Gateway(host, 9002)
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
        try:
            r = gw.run(lambda conn: (conn.hello(), conn.exit(6)), ["x"], input=b"", gateway=host)
        finally:
            gw.close()
        self.assertEqual(r.code, 6, r.err)

    def in_network_namespace(self, setup, *args):
        if os.geteuid() != 0:
            self.fail("this test needs root (unshare -n for a network namespace with a default route)")
        proc = subprocess.run(["unshare", "-n", "sh", "-euc", setup + "\nexec \"$@\"", "sh", *args],
                              capture_output=True, env=client_env(None), timeout=60)
        return proc.returncode, proc.stdout, proc.stderr

    def test_default_route_gateway_port_9002(self):
        # A veth with a default route via 10.9.9.2, an address that is also local, so the fake
        # gateway can listen on it. The metric-50 route via 10.9.9.3 must lose to metric 10.
        setup = """
            ip link set lo up
            ip link add v0 type veth peer name v1
            ip link set v0 up; ip link set v1 up
            ip addr add 10.9.9.1/24 dev v0
            ip addr add 10.9.9.2/32 dev lo
            ip route add default via 10.9.9.3 dev v0 metric 50
            ip route add default via 10.9.9.2 dev v0 metric 10
        """
        code, out, err = self.in_network_namespace(setup, sys.executable, os.path.abspath(__file__),
                                                   "--cli", CLI, "--route-helper")
        self.assertEqual(code, 0, err.decode())
        result = json.loads(out)
        self.assertEqual(result["code"], 9, result["stderr"])
        self.assertEqual(result["args"], ["info"])

    def test_no_default_route_is_255_with_one_line(self):
        code, out, err = self.in_network_namespace("ip link set lo up", CLI, "list")
        self.assertEqual(code, 255)
        self.assertEqual(err.decode(), "boxd: cannot find the boxd gateway: no default route in /proc/net/route "
                         "(set BOXD_GATEWAY=HOST[:PORT])\n")


def route_helper():
    """Inside the namespace of test_default_route_gateway_port_9002: serve one client."""
    gw = Gateway("10.9.9.2", 9002)

    def script(conn):
        h = conn.hello()
        conn.exit(9)
        return h.args
    r = gw.run(script, ["info"], input=b"", gateway=None)
    print(json.dumps({"code": r.code, "stderr": r.err.decode(), "args": r.value}))


class StdinTest(GatewayTestCase):
    def test_stdin_is_not_read_before_N(self):
        rfd, wfd = os.pipe()
        os.write(wfd, b"for the next command\n")

        def script(conn):
            conn.hello()
            conn.quiet_for(0.5)
            conn.send("O", b"done\n")
            conn.exit(0)
        try:
            r = self.gw.run(script, ["list"], stdin=rfd)
            os.set_blocking(rfd, False)
            left = os.read(rfd, 100)
        finally:
            os.close(rfd)
            os.close(wfd)
        self.assertEqual((r.code, r.out), (0, b"done\n"), r.err)
        self.assertEqual(left, b"for the next command\n")

    def test_stdin_is_relayed_after_N_and_ends_with_an_empty_I(self):
        def script(conn):
            conn.hello()
            conn.send("O", b"ready\n")
            conn.send("N")
            data = conn.read_stdin()
            conn.exit(0)
            return data
        r = self.gw.run(script, ["cp", "-", "vm:/tmp/x"], input=b"line 1\nline 2\n")
        self.assertEqual((r.code, r.out, r.value), (0, b"ready\n", b"line 1\nline 2\n"), r.err)

    def test_empty_stdin_sends_one_empty_I(self):
        def script(conn):
            conn.hello()
            conn.send("N")
            frame = conn.expect("I")
            conn.send("N")                  # a second N changes nothing
            conn.quiet_for(0.3)
            conn.exit(0)
            return frame
        r = self.gw.run(script, ["x"], stdin=subprocess.DEVNULL)
        self.assertEqual((r.code, r.value), (0, b""), r.err)

    def test_5_MiB_round_trip_intact(self):
        blob = random.randbytes(5 << 20)

        def script(conn):
            conn.hello()
            conn.send("N")
            data = conn.read_stdin(echo=True)
            sizes = [len(p) for t, p in conn.received if t == "I"]
            conn.exit(0)
            return data, sizes
        r = self.gw.run(script, ["exec", "vm", "--", "cat"], input=blob)
        data, sizes = r.value
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(hashlib.sha256(data).digest(), hashlib.sha256(blob).digest())
        self.assertEqual(hashlib.sha256(r.out).digest(), hashlib.sha256(blob).digest())
        self.assertLessEqual(max(sizes), STDIN_CHUNK)
        self.assertEqual(sizes[-1], 0)

    def test_no_W_without_a_terminal(self):
        pid = {}

        def script(conn):
            conn.hello()
            while "pid" not in pid:
                time.sleep(0.01)
            os.kill(pid["pid"], signal.SIGWINCH)
            conn.quiet_for(0.3)
            conn.exit(0)
        join = self.gw.serve(script)
        proc = subprocess.Popen([CLI, "x"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=client_env(self.gw.address))
        pid["pid"] = proc.pid
        out, err = proc.communicate(timeout=30)
        join()
        self.assertEqual(proc.returncode, 0, err)


# ---------------------------------------------------------------------------------------------

def raw(attrs):
    iflag, oflag, cflag, lflag = attrs[:4]
    return not lflag & (termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN) and not oflag & termios.OPOST


def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def wait_until(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting until " + what)
        time.sleep(0.01)


class TerminalTest(GatewayTestCase):
    """The client on a pty of its own (its controlling terminal, so resizing sends SIGWINCH)."""

    def start(self, script, args=("connect", "vm")):
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        set_winsize(master, 100, 30)
        self.master, self.slave = master, slave
        self.cooked = termios.tcgetattr(slave)
        self.proc = None  # set once Popen returns, which may be after the client has connected
        join = self.gw.serve(script)
        self.proc = subprocess.Popen(
            [CLI, *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            env=client_env(self.gw.address, {"TERM": "xterm-boxd"}))
        self.output = bytearray()
        # drain the pty so the client's writes never block
        threading.Thread(target=self.drain, daemon=True).start()
        _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err, join()

    def drain(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def attrs(self):
        return termios.tcgetattr(self.slave)

    def test_hello_raw_mode_and_window_changes(self):
        def script(conn):
            h = conn.hello()
            conn.send("R")
            wait_until(lambda: raw(self.attrs()), "the terminal is raw")
            set_winsize(self.master, 120, 40)
            window = struct.unpack(">HH", conn.expect("W"))
            conn.send("C")
            wait_until(lambda: self.attrs() == self.cooked, "the terminal is restored")
            conn.send("O", b"hi\n")
            conn.send("R")
            wait_until(lambda: raw(self.attrs()), "the terminal is raw again")
            conn.exit(5)
            return h, window
        code, err, (h, window) = self.start(script)
        self.assertEqual(code, 5, err)
        self.assertEqual((h.term, h.cols, h.rows, h.args), ("xterm-boxd", "100", "30", ["connect", "vm"]))
        self.assertEqual(window, (120, 40))
        self.assertEqual(self.attrs(), self.cooked)     # restored at X
        wait_until(lambda: b"hi\r\n" in self.output, "the output arrives (\\n as \\r\\n while cooked)")

    def test_terminal_restored_when_the_connection_drops(self):
        def script(conn):
            conn.hello()
            conn.send("R")
            wait_until(lambda: raw(self.attrs()), "the terminal is raw")
        code, err, _ = self.start(script)
        self.assertEqual(code, 255)
        self.assertEqual(err.decode(), "boxd: the boxd gateway at %s closed the connection\n" % self.gw.address)
        self.assertEqual(self.attrs(), self.cooked)

    def test_terminal_restored_when_killed(self):
        def script(conn):
            conn.hello()
            conn.send("R")
            wait_until(lambda: raw(self.attrs()), "the terminal is raw")
            wait_until(lambda: self.proc is not None, "the test knows the client's process")
            self.proc.send_signal(signal.SIGTERM)
            conn.recv()                     # EOF: the client is gone
        code, err, _ = self.start(script)
        self.assertEqual(code, -signal.SIGTERM, err)
        self.assertEqual(self.attrs(), self.cooked)


# ---------------------------------------------------------------------------------------------

def main():
    global CLI
    argv = sys.argv[:]
    helper = "--route-helper" in argv
    if helper:
        argv.remove("--route-helper")
    if "--cli" in argv:
        i = argv.index("--cli")
        CLI = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    else:
        out = tempfile.mkdtemp(prefix="boxd-cli-test.")
        atexit.register(shutil.rmtree, out, True)
        CLI = os.path.join(out, "boxd")
        subprocess.run(["sh", os.path.join(HERE, "..", "build.sh"), CLI], check=True)
    if helper:
        route_helper()
        return
    unittest.main(argv=argv)


if __name__ == "__main__":
    main()
