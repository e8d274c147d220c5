#!/usr/bin/python3
"""A VM's life through the gRPC API, as a third-party client sees it.

The stubs are generated here, by stock protoc (python3 -m grpc_tools.protoc), from SPEC §8's
messages alone (api/src/test/proto-spec): nothing of boxd's own proto is used. Then, against a
running server: Whoami, CreateVm, GetVm, ListVms, Exec (stdout and stderr apart, exit code,
stdin, cancel), ExposePort twice (the public port stays), StopVm, StartVm, DestroyVm, and GetVm
NOT_FOUND after it. Exits 0 when every answer is as SPEC §8 and §12 say, 1 with what differed.

    /usr/bin/python3 api/src/test/python/lifecycle.py --address localhost:9443 \\
        --ca CA.pem --token JWT [--name NAME] [--server-name localhost]

Needs the Debian packages python3-grpcio, python3-grpc-tools and python3-protobuf
(scripts/install-deps.sh); /usr/bin/python3 is Debian's, which has them.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import grpc

SPEC_PROTO = pathlib.Path(__file__).resolve().parent.parent / "proto-spec"


class Mismatch(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Mismatch(what)


def generate_stubs(into):
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + str(SPEC_PROTO), "--python_out=" + into,
                    "--grpc_python_out=" + into, "boxd/api/v1/boxd_spec.proto"], check=True)
    sys.path.insert(0, into)
    from boxd.api.v1 import boxd_spec_pb2, boxd_spec_pb2_grpc  # noqa: E402 (made just above)
    return boxd_spec_pb2, boxd_spec_pb2_grpc


class Client:
    def __init__(self, pb, pb_grpc, args):
        options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
        credentials = grpc.ssl_channel_credentials(root_certificates=pathlib.Path(args.ca).read_bytes())
        self.channel = grpc.secure_channel(args.address, credentials, options=options)
        self.stub = pb_grpc.BoxdApiStub(self.channel)
        self.pb = pb
        self.metadata = [("authorization", "Bearer " + args.token)]

    def call(self, method, request, timeout=30):
        return getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout)

    def exec(self, vm_id, command, stdin=(), timeout=120):
        """stdout, stderr and exit code of a command; stdin chunks are sent, then a half-close."""
        def chunks():
            yield self.pb.ExecChunk(vm_id=vm_id, command=command)
            for piece in stdin:
                yield self.pb.ExecChunk(stdin=piece)
        out, err, code = b"", b"", 0
        for chunk in self.stub.Exec(chunks(), metadata=self.metadata, timeout=timeout):
            if chunk.exit_code:
                code = chunk.exit_code
            if chunk.is_stderr:
                err += chunk.data
            else:
                out += chunk.data
        return out, err, code


def expect_code(code, call, what):
    try:
        call()
    except grpc.RpcError as e:
        check(e.code() == code, "%s: expected %s, got %s (%s)" % (what, code.name, e.code().name, e.details()))
        check(e.details(), what + ": the status carries no message")
        return
    raise Mismatch(what + ": expected " + code.name + ", the call succeeded")


def exec_cancel(client, vm_id):
    """A cancelled Exec ends its command: its process is gone from the guest soon after."""
    stop_sending = threading.Event()

    def chunks():
        yield client.pb.ExecChunk(vm_id=vm_id, command="echo started; exec sleep 6123")
        stop_sending.wait(60)  # no half-close: the call stays open until cancelled

    call = client.stub.Exec(chunks(), metadata=client.metadata, timeout=120)
    try:
        first = next(call)
        check(first.data == b"started\n", "Exec before cancel: expected 'started', got %r" % first.data)
        call.cancel()
        try:
            for _ in call:
                pass
            raise Mismatch("Exec after cancel: the stream went on")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.CANCELLED, "Exec after cancel: expected CANCELLED, got " + e.code().name)
    finally:
        stop_sending.set()
    deadline = time.monotonic() + 20
    while True:
        out, _, _ = client.exec(vm_id, "pgrep -f 'sleep [6]123' >/dev/null && echo alive || echo gone")
        if out == b"gone\n":
            return
        check(time.monotonic() < deadline, "Exec cancel: the command still runs in the guest 20 s after the cancel")
        time.sleep(0.5)


def lifecycle(client, name):
    pb = client.pb
    who = client.call("Whoami", pb.WhoamiRequest())
    check(who.user_id, "Whoami: empty user_id")

    created = client.call("CreateVm", pb.CreateVmRequest(name=name), timeout=300)
    vm_id = created.vm_id
    try:
        check(vm_id and vm_id != name, "CreateVm: vm_id %r should be an id, not the name" % vm_id)
        check(created.name == name, "CreateVm: name %r, expected %r" % (created.name, name))
        check(created.status == "running", "CreateVm: status %r, expected running" % created.status)
        check(created.url.startswith("https://" + name + "."), "CreateVm: url %r is not https://NAME.<zone>" % created.url)
        check(created.boot_time_ms > 0, "CreateVm: boot_time_ms is 0")

        got = client.call("GetVm", pb.GetVmRequest(vm_id=vm_id))
        check((got.vm_id, got.name, got.status) == (vm_id, name, "running"), "GetVm: %s" % got)
        check(not got.isolated, "GetVm: isolated without asking")
        listed = client.call("ListVms", pb.ListVmsRequest())
        check(any(v.vm_id == vm_id and v.name == name for v in listed.vms), "ListVms: %s missing" % vm_id)

        out, err, code = client.exec(vm_id, "echo out; echo err >&2; exit 7")
        check((out, err, code) == (b"out\n", b"err\n", 7), "Exec: got stdout %r, stderr %r, exit %d" % (out, err, code))
        out, err, code = client.exec(vm_id, "true")
        check((out, err, code) == (b"", b"", 0), "Exec of true: got %r %r %d" % (out, err, code))
        out, _, code = client.exec(vm_id, "cat", stdin=[b"hello ", b"world"])
        check((out, code) == (b"hello world", 0), "Exec with stdin: got %r, exit %d" % (out, code))
        exec_cancel(client, vm_id)

        first = client.call("ExposePort", pb.ExposePortRequest(vm=name, vm_port=8080, protocol="tcp"))
        check((first.vm_id, first.vm_port, first.protocol, first.vm_name) == (vm_id, 8080, "tcp", name), "ExposePort: %s" % first)
        check(40000 <= first.public_port <= 60000, "ExposePort: public_port %d outside 40000-60000" % first.public_port)
        again = client.call("ExposePort", pb.ExposePortRequest(vm=vm_id, vm_port=8080, protocol="tcp"))
        check(again.public_port == first.public_port, "ExposePort again: public port %d, was %d" % (again.public_port, first.public_port))

        client.call("StopVm", pb.StopVmRequest(vm_id=vm_id), timeout=120)
        status = client.call("GetVm", pb.GetVmRequest(vm_id=vm_id)).status
        check(status == "stopped", "after StopVm: status %r, expected stopped" % status)
        client.call("StartVm", pb.StartVmRequest(vm_id=vm_id), timeout=300)
        status = client.call("GetVm", pb.GetVmRequest(vm_id=vm_id)).status
        check(status == "running", "after StartVm: status %r, expected running" % status)
        out, _, code = client.exec(vm_id, "echo back")
        check((out, code) == (b"back\n", 0), "Exec after StartVm: got %r, exit %d" % (out, code))
    except BaseException:
        try:
            client.call("DestroyVm", pb.DestroyVmRequest(vm_id=vm_id), timeout=120)
        except grpc.RpcError:
            pass
        raise
    client.call("DestroyVm", pb.DestroyVmRequest(vm_id=vm_id), timeout=120)
    expect_code(grpc.StatusCode.NOT_FOUND, lambda: client.call("GetVm", pb.GetVmRequest(vm_id=vm_id)), "GetVm after DestroyVm")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", required=True, help="HOST:PORT of the gRPC API, such as localhost:9443")
    parser.add_argument("--ca", required=True, help="PEM file of the CA the server's certificate is signed by (boxd ca --quiet)")
    parser.add_argument("--token", default=os.environ.get("BOXD_TOKEN"), help="bearer token (default: $BOXD_TOKEN)")
    parser.add_argument("--name", default="grpc-%d" % (os.getpid() % 100000), help="name of the VM to make (default grpc-PID)")
    parser.add_argument("--server-name", help="TLS name to check the certificate against, when --address names another")
    args = parser.parse_args()
    if not args.token:
        parser.error("a token is needed: --token JWT or BOXD_TOKEN")
    with tempfile.TemporaryDirectory(prefix="boxd-spec-stubs-") as stubs:
        pb, pb_grpc = generate_stubs(stubs)
        client = Client(pb, pb_grpc, args)
        try:
            lifecycle(client, args.name)
        except Mismatch as e:
            print("lifecycle: FAIL: " + str(e), file=sys.stderr)
            return 1
        except grpc.RpcError as e:
            print("lifecycle: FAIL: a call failed with %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
        finally:
            client.channel.close()
    print("lifecycle: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
