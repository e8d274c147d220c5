"""Requests from arguments and results from answers: the pure part that the sync and async
clients share, so that both build exactly the same calls."""
from __future__ import annotations

import shlex
from typing import Iterator, Mapping, Optional, Sequence, Union

import grpc

from ._pb import pb
from .errors import NotFoundError
from .types import DirEntry, ExecChunk, Identity, Machine, Proxy, Snapshot

Command = Union[str, Sequence[str]]
# Pieces of a file upload: well under gRPC's 4 MiB message limit.
FILE_CHUNK = 1 << 20

_MACHINE_FIELDS = tuple(Machine.__dataclass_fields__)


def machine(vm: "pb.GetVmResponse") -> Machine:
    return Machine(**{name: getattr(vm, name) for name in _MACHINE_FIELDS})


def created_machine(response: "pb.CreateVmResponse") -> Machine:
    if response.HasField("vm"):
        return machine(response.vm)
    # A server that answers with the SPEC §8 fields only.
    return Machine(vm_id=response.vm_id, name=response.name, public_ip=response.public_ip, url=response.url,
                   image=response.image, status=response.status, boot_time_ms=response.boot_time_ms)


def create_request(name: Optional[str], isolated: bool, from_snapshot: Optional[str], image: Optional[str],
                   vcpu: Optional[int], memory_mib: Optional[int],
                   auto_suspend_timeout: Optional[int]) -> "pb.CreateVmRequest":
    request = pb.CreateVmRequest(name=name or "", isolated=isolated, from_snapshot=from_snapshot or "",
                                 image=image or "")
    # Optional fields: unset means the server's default, so only what the caller gave is set.
    if vcpu is not None:
        request.vcpus = vcpu
    if memory_mib is not None:
        request.memory_mib = memory_mib
    if auto_suspend_timeout is not None:
        request.auto_suspend_timeout_secs = auto_suspend_timeout
    return request


def fork_request(source: str, name: Optional[str], auto_suspend_timeout: Optional[int]) -> "pb.ForkVmRequest":
    request = pb.ForkVmRequest(source_vm_id=source, name=name or "")
    if auto_suspend_timeout is not None:
        request.auto_suspend_timeout_secs = auto_suspend_timeout
    return request


def forked_machine(response: "pb.ForkVmResponse") -> Optional[Machine]:
    return machine(response.vm) if response.HasField("vm") else None


def shell_command(command: Command) -> str:
    """A string runs as given (by the guest's shell); a list is argv, quoted so the shell runs it as is."""
    if isinstance(command, str):
        if not command:
            raise ValueError("exec needs a command: an empty string was given")
        return command
    argv = list(command)
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"exec needs a command: a str or a non-empty list of str, not {command!r}")
    return shlex.join(argv)


def exec_start(vm: str, command: Command, env: Optional[Mapping[str, str]], timeout: Optional[int],
               tty: bool = False) -> "pb.ExecChunk":
    return pb.ExecChunk(vm_id=vm, command=shell_command(command), env=dict(env or {}),
                        timeout_secs=int(timeout or 0), tty=tty)


def stdin_chunks(data: Union[bytes, str]) -> Iterator["pb.ExecChunk"]:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    for at in range(0, len(raw), FILE_CHUNK):
        yield pb.ExecChunk(stdin=raw[at:at + FILE_CHUNK])


def stdin_eof() -> "pb.ExecChunk":
    return pb.ExecChunk(stdin_eof=True)


def output_chunk(chunk: "pb.ExecChunk") -> Optional[ExecChunk]:
    if chunk.data:
        return ExecChunk(stream="stderr" if chunk.is_stderr else "stdout", data=chunk.data)
    return None


def proxy(p: "pb.Proxy") -> Proxy:
    return Proxy(name=p.name, vm_name=p.vm_name, domain=p.domain, port=p.port)


def snapshot(s: "pb.Snapshot") -> Snapshot:
    return Snapshot(id=s.id, name=s.name, vm=s.vm, created_at=s.created_at, size_bytes=s.size_bytes)


def find_snapshot(snapshots: Sequence[Snapshot], name: str) -> Snapshot:
    for s in snapshots:
        if s.name == name or s.id == name:
            return s
    raise NotFoundError(grpc.StatusCode.NOT_FOUND, f"snapshot '{name}' not found")


def dir_entry(e: "pb.DirEntry") -> DirEntry:
    return DirEntry(name=e.name, type=e.type, size=e.size, mode=e.mode, modified_at=e.modified_at)


def identity(w: "pb.WhoamiResponse") -> Identity:
    return Identity(user_id=w.user_id, name=w.name, key_fingerprints=list(w.key_fingerprints))


def upload_chunks(vm: str, path: str, pieces: Iterator[bytes], mode: int) -> Iterator["pb.FileChunk"]:
    """The upload stream: the first chunk names the file (and carries data if there is any)."""
    first = True
    for piece in pieces:
        if first:
            yield pb.FileChunk(vm_id=vm, path=path, mode=mode, data=piece)
            first = False
        elif piece:
            yield pb.FileChunk(data=piece)
    if first:
        yield pb.FileChunk(vm_id=vm, path=path, mode=mode)
