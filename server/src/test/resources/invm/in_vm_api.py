"""Calls the boxd API from inside a VM the way an SDK there does: the default gateway, port 9003,
plaintext, no token. Prints one JSON object: each call's answer ("ok") or its status ("code",
"details"). Stubs from stock grpc_tools are in ~/sdk (boxd/api/v1/boxd_pb2*.py).

usage: python3 in_vm_api.py [--other VM] [--destroy-self]
"""
import argparse
import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.expanduser("~/sdk"))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from boxd.api.v1 import boxd_pb2, boxd_pb2_grpc  # noqa: E402


def default_gateway():
    """The gateway of the default route with the lowest metric, as /proc/net/route lists it."""
    best = None
    with open("/proc/net/route") as routes:
        next(routes)
        for line in routes:
            fields = line.split()
            destination, gateway, flags, metric = fields[1], fields[2], int(fields[3], 16), int(fields[6])
            if destination == "00000000" and flags & 0x2 and (best is None or metric < best[0]):
                best = (metric, socket.inet_ntoa(struct.pack("<L", int(gateway, 16))))
    if best is None:
        sys.exit("no default route in /proc/net/route")
    return best[1]


def call(method, request):
    try:
        return {"ok": json_format.MessageToDict(method(request, timeout=60), preserving_proto_field_name=True)}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--other")
    parser.add_argument("--destroy-self", action="store_true")
    args = parser.parse_args()
    target = default_gateway() + ":9003"
    with grpc.insecure_channel(target) as channel:
        api = boxd_pb2_grpc.BoxdApiStub(channel)
        out = {"target": target}
        out["whoami"] = call(api.Whoami, boxd_pb2.WhoamiRequest())
        out["list"] = call(api.ListVms, boxd_pb2.ListVmsRequest())
        out["self"] = call(api.GetVm, boxd_pb2.GetVmRequest())
        if args.other:
            out["other"] = call(api.GetVm, boxd_pb2.GetVmRequest(vm_id=args.other))
        if args.destroy_self and "ok" in out["self"]:
            out["destroy_self"] = call(api.DestroyVm, boxd_pb2.DestroyVmRequest(vm_id=out["self"]["ok"]["vm_id"]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
