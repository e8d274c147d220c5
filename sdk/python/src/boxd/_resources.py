"""The sync client's resources: machines, files, proxies, snapshots."""
from __future__ import annotations

import os
import time
from typing import BinaryIO, Iterator, List, Mapping, Optional, Union

import grpc

from . import _convert
from ._convert import Command
from ._exec import ExecStream
from ._pb import pb
from ._transport import BOOT_DEADLINE, Transport
from .errors import APIConnectionError, AuthenticationError, ConflictError, from_rpc_error
from .types import DirEntry, ExecResult, Machine, Proxy, Snapshot

Data = Union[bytes, bytearray, memoryview, str]
FileSource = Union[str, "os.PathLike[str]", BinaryIO]
READY = "running"
# States a VM cannot leave towards running by waiting.
HOPELESS = ("failed", "stopped", "destroying")


class Machines:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, name: Optional[str] = None, isolated: bool = False, from_snapshot: Optional[str] = None,
               image: Optional[str] = None, vcpu: Optional[int] = None, memory_mib: Optional[int] = None,
               auto_suspend_timeout: Optional[int] = None) -> Machine:
        """Creates and boots a VM; returns once the server reports it (normally running)."""
        request = _convert.create_request(name, isolated, from_snapshot, image, vcpu, memory_mib, auto_suspend_timeout)
        return _convert.created_machine(self._t.unary("CreateVm", request, BOOT_DEADLINE))

    def get(self, id_or_name: str) -> Machine:
        return _convert.machine(self._t.unary("GetVm", pb.GetVmRequest(vm_id=id_or_name)))

    def list(self) -> List[Machine]:
        return [_convert.machine(vm) for vm in self._t.unary("ListVms", pb.ListVmsRequest()).vms]

    def delete(self, id: str) -> None:
        self._t.unary("DestroyVm", pb.DestroyVmRequest(vm_id=id))

    def fork(self, src: str, name: Optional[str] = None, auto_suspend_timeout: Optional[int] = None) -> Machine:
        """Copies ``src`` (memory, disk and processes) into a new VM, named ``SRC-fork`` unless named."""
        answer = self._t.unary("ForkVm", _convert.fork_request(src, name, auto_suspend_timeout), BOOT_DEADLINE)
        return _convert.forked_machine(answer) or self.get(answer.vm_id)

    def start(self, id: str) -> None:
        self._t.unary("StartVm", pb.StartVmRequest(vm_id=id), BOOT_DEADLINE)

    def stop(self, id: str) -> None:
        self._t.unary("StopVm", pb.StopVmRequest(vm_id=id))

    def reboot(self, id: str) -> None:
        self._t.unary("RebootVm", pb.RebootVmRequest(vm_id=id), BOOT_DEADLINE)

    def pause(self, id: str) -> int:
        """Freezes the VM in RAM (standby); returns the VMM's time to do so, in microseconds."""
        return self._t.unary("PauseVm", pb.PauseVmRequest(vm_id=id)).suspend_us

    def resume(self, id: str) -> int:
        """Wakes a paused VM; returns ``resume_us``, the VMM's time to continue it."""
        return self._t.unary("ResumeVm", pb.ResumeVmRequest(vm_id=id)).resume_us

    def hibernate(self, id: str) -> Machine:
        return _convert.machine(self._t.unary("HibernateVm", pb.HibernateVmRequest(vm_id=id)))

    def set_auto_suspend(self, id: str, timeout: int) -> Machine:
        return _convert.machine(self._t.unary("SetAutoSuspend", pb.SetAutoSuspendRequest(vm_id=id, timeout_secs=timeout)))

    def wait_until_ready(self, id: str, timeout: float = 180, poll_interval: float = 0.5) -> Machine:
        """Polls until the VM is running; ConflictError if it failed or stopped, APIConnectionError
        (DEADLINE_EXCEEDED) if it is still not running after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            vm = self.get(id)
            if vm.status == READY:
                return vm
            if vm.status in HOPELESS:
                raise ConflictError(grpc.StatusCode.FAILED_PRECONDITION,
                                    f"VM '{id}' is {vm.status}, it will not become ready" + (f": {vm.detail}" if vm.detail else ""))
            if time.monotonic() >= deadline:
                raise APIConnectionError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                         f"VM '{id}' is still {vm.status} after {timeout:g} s")
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def exec(self, id: str, command: Command, env: Optional[Mapping[str, str]] = None,
             timeout: Optional[int] = None, stdin: Optional[Data] = None) -> ExecResult:
        """Runs ``command`` as user boxd in /home/boxd: a str through the shell, a list as argv.
        ``timeout`` (seconds) kills it with exit code 124. stdin is ``stdin`` and then its end."""
        for attempt in range(2):
            stdout, stderr = bytearray(), bytearray()
            with self.stream_exec(id, command, env=env, timeout=timeout) as stream:
                if stdin:
                    stream.write(bytes(stdin) if not isinstance(stdin, str) else stdin)
                stream.close_stdin()
                try:
                    for chunk in stream:
                        if chunk.stream == "stdout":
                            stdout += chunk.data
                        elif chunk.stream == "stderr":
                            stderr += chunk.data
                except AuthenticationError:
                    if attempt == 0 and not stream.received_output and self._t.credentials.rejected(stream.token):
                        continue
                    raise
                return ExecResult(exit_code=stream.exit_code or 0, stdout=bytes(stdout), stderr=bytes(stderr))
        raise AssertionError("unreachable")

    def stream_exec(self, id: str, command: Command, env: Optional[Mapping[str, str]] = None,
                    timeout: Optional[int] = None, tty: bool = False) -> ExecStream:
        """Starts ``command``; use as ``with boxd.machines.stream_exec(id, command=...) as s:`` and
        iterate ``s``. stdin stays open for ``s.write`` until ``s.close_stdin()``."""
        return ExecStream(self._t, _convert.exec_start(id, command, env, timeout, tty), timeout)


class Files:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def upload(self, id: str, path: str, data: Optional[Data] = None, file: Optional[FileSource] = None,
               mode: int = 0) -> int:
        """Writes ``data`` (or the local ``file``: a path or a binary file object) to ``path`` in the
        VM (relative to /home/boxd); any size, streamed. Returns the bytes written."""
        pieces = _pieces(data, file)
        _, metadata = self._t.metadata()
        try:
            answer = self._t.stub.UploadFileStream(_convert.upload_chunks(id, path, pieces, mode), metadata=metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e
        return answer.bytes_written

    def download(self, id: str, path: str, to: Optional[Union[str, "os.PathLike[str]", BinaryIO]] = None) -> Union[bytes, int]:
        """The file at ``path`` in the VM: its bytes, or, with ``to`` (a path or a binary file object),
        written there as it streams in, and the number of bytes."""
        _, metadata = self._t.metadata()
        call = self._t.stub.DownloadFileStream(pb.DownloadFileRequest(vm_id=id, path=path), metadata=metadata)
        try:
            if to is None:
                return b"".join(chunk.data for chunk in call)
            if isinstance(to, (str, os.PathLike)):
                with open(to, "wb") as out:
                    return _copy(call, out)
            return _copy(call, to)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e

    def list_dir(self, id: str, path: str = ".") -> List[DirEntry]:
        return [_convert.dir_entry(e) for e in self._t.unary("ListDir", pb.ListDirRequest(vm_id=id, path=path)).entries]


class Proxies:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, id: str) -> List[Proxy]:
        return [_convert.proxy(p) for p in self._t.unary("ListProxies", pb.ListProxiesRequest(vm_name=id)).proxies]

    def create(self, id: str, name: str, port: int) -> Proxy:
        """A route ``https://NAME.VM.<zone>`` to ``port`` of the VM."""
        return _convert.proxy(self._t.unary("CreateProxy", pb.CreateProxyRequest(vm_name=id, name=name, port=port)))

    def set_port(self, id: str, port: int, name: Optional[str] = None) -> Proxy:
        """Points a route (the VM's default one unless ``name``) at ``port``; 0: the port the guest listens on."""
        answer = self._t.unary("SetProxyPort", pb.SetProxyPortRequest(vm_name=id, name=name or "", port=port))
        return _convert.proxy(answer.proxy)

    def delete(self, id: str, name: str) -> None:
        self._t.unary("DeleteProxy", pb.DeleteProxyRequest(vm_name=id, name=name))


class Snapshots:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, vm: str, name: str) -> Snapshot:
        return _convert.snapshot(self._t.unary("SaveSnapshot", pb.SaveSnapshotRequest(vm_id=vm, name=name), BOOT_DEADLINE))

    def list(self) -> List[Snapshot]:
        return [_convert.snapshot(s) for s in self._t.unary("ListSnapshots", pb.ListSnapshotsRequest()).snapshots]

    def get(self, name: str) -> Snapshot:
        return _convert.find_snapshot(self.list(), name)

    def delete(self, name: str) -> None:
        self._t.unary("DeleteSnapshot", pb.DeleteSnapshotRequest(name=name))


def _pieces(data: Optional[Data], file: Optional[FileSource]) -> Iterator[bytes]:
    if (data is None) == (file is None):
        raise ValueError("upload needs exactly one of data= and file=")
    if data is not None:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return (raw[at:at + _convert.FILE_CHUNK] for at in range(0, len(raw), _convert.FILE_CHUNK))
    if isinstance(file, (str, os.PathLike)):
        return _read_path(file)
    return iter(lambda: file.read(_convert.FILE_CHUNK), b"")  # type: ignore[union-attr]


def _read_path(path: Union[str, "os.PathLike[str]"]) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(_convert.FILE_CHUNK), b"")


def _copy(chunks: Iterator["pb.FileChunk"], out: BinaryIO) -> int:
    total = 0
    for chunk in chunks:
        out.write(chunk.data)
        total += len(chunk.data)
    return total
