"""AsyncBoxd: the same client as Boxd, every call awaited (grpc.aio)."""
from __future__ import annotations

import asyncio
import os
import time
from types import TracebackType
from typing import Any, AsyncIterator, BinaryIO, List, Mapping, Optional, Type, Union

import grpc
import grpc.aio

from . import _convert
from ._async_transport import AsyncTransport
from ._config import PathOrPem, resolve
from ._convert import Command
from ._exec import TIMEOUT_GRACE_SECS
from ._pb import pb
from ._resources import HOPELESS, READY, Data, FileSource, _pieces
from ._transport import BOOT_DEADLINE
from .errors import APIConnectionError, AuthenticationError, ConflictError, from_rpc_error
from .types import DirEntry, ExecChunk, ExecResult, Identity, Machine, Proxy, Snapshot


class AsyncExecStream:
    """A running command: ``async for chunk in stream``; ``await stream.write(b)`` and
    ``await stream.close_stdin()`` feed its stdin. Leaving ``async with`` before the exit cancels it."""

    def __init__(self, transport: AsyncTransport, start: "pb.ExecChunk", timeout: Optional[int]) -> None:
        self._t = transport
        self._start = start
        self._timeout = timeout
        self._call: Any = None
        self._stdin_closed = False
        self._exit_code: Optional[int] = None
        self.token: Optional[str] = None
        self.received_output = False

    async def _open(self) -> "AsyncExecStream":
        self.token, metadata = await self._t.metadata()
        deadline = self._timeout + TIMEOUT_GRACE_SECS if self._timeout else None
        self._call = self._t.stub.Exec(metadata=metadata, timeout=deadline)
        await self._send(self._start)
        return self

    async def _send(self, chunk: "pb.ExecChunk") -> None:
        try:
            await self._call.write(chunk)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e
        except asyncio.InvalidStateError:
            pass  # the call already ended; reading it tells how

    async def write(self, data: Union[bytes, str]) -> None:
        if self._stdin_closed:
            raise ValueError("stdin of this exec is closed already")
        for chunk in _convert.stdin_chunks(data):
            await self._send(chunk)

    async def close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            await self._send(_convert.stdin_eof())
            try:
                await self._call.done_writing()
            except (grpc.RpcError, asyncio.InvalidStateError):
                pass  # the call already ended; reading it tells how

    @property
    def exit_code(self) -> Optional[int]:
        return self._exit_code

    def __aiter__(self) -> AsyncIterator[ExecChunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[ExecChunk]:
        code = 0
        try:
            while True:
                answer = await self._call.read()
                if answer is grpc.aio.EOF:
                    break
                out = _convert.output_chunk(answer)
                if out is not None:
                    self.received_output = True
                    yield out
                if answer.exit_code:
                    code = answer.exit_code
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e
        self._exit_code = code
        yield ExecChunk(stream="exit", exit_code=code)

    def cancel(self) -> None:
        self._call.cancel()

    async def __aenter__(self) -> "AsyncExecStream":
        return await self._open()

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        if self._exit_code is None and self._call is not None:
            self._call.cancel()


class AsyncMachines:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, name: Optional[str] = None, isolated: bool = False, from_snapshot: Optional[str] = None,
                     image: Optional[str] = None, vcpu: Optional[int] = None, memory_mib: Optional[int] = None,
                     auto_suspend_timeout: Optional[int] = None) -> Machine:
        request = _convert.create_request(name, isolated, from_snapshot, image, vcpu, memory_mib, auto_suspend_timeout)
        return _convert.created_machine(await self._t.unary("CreateVm", request, BOOT_DEADLINE))

    async def get(self, id_or_name: str) -> Machine:
        return _convert.machine(await self._t.unary("GetVm", pb.GetVmRequest(vm_id=id_or_name)))

    async def list(self) -> List[Machine]:
        return [_convert.machine(vm) for vm in (await self._t.unary("ListVms", pb.ListVmsRequest())).vms]

    async def delete(self, id: str) -> None:
        await self._t.unary("DestroyVm", pb.DestroyVmRequest(vm_id=id))

    async def fork(self, src: str, name: Optional[str] = None, auto_suspend_timeout: Optional[int] = None) -> Machine:
        answer = await self._t.unary("ForkVm", _convert.fork_request(src, name, auto_suspend_timeout), BOOT_DEADLINE)
        return _convert.forked_machine(answer) or await self.get(answer.vm_id)

    async def start(self, id: str) -> None:
        await self._t.unary("StartVm", pb.StartVmRequest(vm_id=id), BOOT_DEADLINE)

    async def stop(self, id: str) -> None:
        await self._t.unary("StopVm", pb.StopVmRequest(vm_id=id))

    async def reboot(self, id: str) -> None:
        await self._t.unary("RebootVm", pb.RebootVmRequest(vm_id=id), BOOT_DEADLINE)

    async def pause(self, id: str) -> int:
        return (await self._t.unary("PauseVm", pb.PauseVmRequest(vm_id=id))).suspend_us

    async def resume(self, id: str) -> int:
        return (await self._t.unary("ResumeVm", pb.ResumeVmRequest(vm_id=id))).resume_us

    async def hibernate(self, id: str) -> Machine:
        return _convert.machine(await self._t.unary("HibernateVm", pb.HibernateVmRequest(vm_id=id)))

    async def set_auto_suspend(self, id: str, timeout: int) -> Machine:
        request = pb.SetAutoSuspendRequest(vm_id=id, timeout_secs=timeout)
        return _convert.machine(await self._t.unary("SetAutoSuspend", request))

    async def wait_until_ready(self, id: str, timeout: float = 180, poll_interval: float = 0.5) -> Machine:
        deadline = time.monotonic() + timeout
        while True:
            vm = await self.get(id)
            if vm.status == READY:
                return vm
            if vm.status in HOPELESS:
                raise ConflictError(grpc.StatusCode.FAILED_PRECONDITION,
                                    f"VM '{id}' is {vm.status}, it will not become ready" + (f": {vm.detail}" if vm.detail else ""))
            if time.monotonic() >= deadline:
                raise APIConnectionError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                         f"VM '{id}' is still {vm.status} after {timeout:g} s")
            await asyncio.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    async def exec(self, id: str, command: Command, env: Optional[Mapping[str, str]] = None,
                   timeout: Optional[int] = None, stdin: Optional[Data] = None) -> ExecResult:
        for attempt in range(2):
            stdout, stderr = bytearray(), bytearray()
            async with self.stream_exec(id, command, env=env, timeout=timeout) as stream:
                try:
                    # a refused token may surface on a write as well as on the first read
                    if stdin:
                        await stream.write(bytes(stdin) if not isinstance(stdin, str) else stdin)
                    await stream.close_stdin()
                    async for chunk in stream:
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
                    timeout: Optional[int] = None, tty: bool = False) -> AsyncExecStream:
        """``async with boxd.machines.stream_exec(id, command=...) as s: async for chunk in s: ...``"""
        return AsyncExecStream(self._t, _convert.exec_start(id, command, env, timeout, tty), timeout)


class AsyncFiles:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def upload(self, id: str, path: str, data: Optional[Data] = None, file: Optional[FileSource] = None,
                     mode: int = 0) -> int:
        pieces = _pieces(data, file)
        _, metadata = await self._t.metadata()
        try:
            answer = await self._t.stub.UploadFileStream(_convert.upload_chunks(id, path, pieces, mode), metadata=metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e
        return answer.bytes_written

    async def download(self, id: str, path: str,
                       to: Optional[Union[str, "os.PathLike[str]", BinaryIO]] = None) -> Union[bytes, int]:
        _, metadata = await self._t.metadata()
        call = self._t.stub.DownloadFileStream(pb.DownloadFileRequest(vm_id=id, path=path), metadata=metadata)
        out = open(to, "wb") if isinstance(to, (str, os.PathLike)) else to
        try:
            parts, total = [], 0
            async for chunk in call:
                if out is None:
                    parts.append(chunk.data)
                else:
                    out.write(chunk.data)
                total += len(chunk.data)
            return b"".join(parts) if out is None else total
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._t.url) from e
        finally:
            if out is not None and out is not to:
                out.close()

    async def list_dir(self, id: str, path: str = ".") -> List[DirEntry]:
        answer = await self._t.unary("ListDir", pb.ListDirRequest(vm_id=id, path=path))
        return [_convert.dir_entry(e) for e in answer.entries]


class AsyncProxies:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def list(self, id: str) -> List[Proxy]:
        return [_convert.proxy(p) for p in (await self._t.unary("ListProxies", pb.ListProxiesRequest(vm_name=id))).proxies]

    async def create(self, id: str, name: str, port: int) -> Proxy:
        return _convert.proxy(await self._t.unary("CreateProxy", pb.CreateProxyRequest(vm_name=id, name=name, port=port)))

    async def set_port(self, id: str, port: int, name: Optional[str] = None) -> Proxy:
        answer = await self._t.unary("SetProxyPort", pb.SetProxyPortRequest(vm_name=id, name=name or "", port=port))
        return _convert.proxy(answer.proxy)

    async def delete(self, id: str, name: str) -> None:
        await self._t.unary("DeleteProxy", pb.DeleteProxyRequest(vm_name=id, name=name))


class AsyncSnapshots:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, vm: str, name: str) -> Snapshot:
        request = pb.SaveSnapshotRequest(vm_id=vm, name=name)
        return _convert.snapshot(await self._t.unary("SaveSnapshot", request, BOOT_DEADLINE))

    async def list(self) -> List[Snapshot]:
        return [_convert.snapshot(s) for s in (await self._t.unary("ListSnapshots", pb.ListSnapshotsRequest())).snapshots]

    async def get(self, name: str) -> Snapshot:
        return _convert.find_snapshot(await self.list(), name)

    async def delete(self, name: str) -> None:
        await self._t.unary("DeleteSnapshot", pb.DeleteSnapshotRequest(name=name))


class AsyncBoxd:
    """Boxd for asyncio: the same configuration and methods, awaited. Use ``async with AsyncBoxd() as b``
    (or ``await b.close()``). Task-safe within one event loop."""

    def __init__(self, api_key: Optional[str] = None, token: Optional[str] = None, base_url: Optional[str] = None,
                 ca_cert: Optional[PathOrPem] = None) -> None:
        settings = resolve(api_key=api_key, token=token, base_url=base_url, ca_cert=ca_cert)
        self.base_url = settings.url
        self.in_vm = settings.in_vm
        self._transport = AsyncTransport(settings)
        self.machines = AsyncMachines(self._transport)
        self.files = AsyncFiles(self._transport)
        self.proxies = AsyncProxies(self._transport)
        self.snapshots = AsyncSnapshots(self._transport)

    async def whoami(self) -> Identity:
        return _convert.identity(await self._transport.unary("Whoami", pb.WhoamiRequest()))

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> "AsyncBoxd":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncBoxd(base_url={self.base_url!r})"
