"""Streaming exec over the bidirectional Exec call (sync): output as it comes, stdin as it is written."""
from __future__ import annotations

import queue
from types import TracebackType
from typing import Iterator, Optional, Type, Union

import grpc

from . import _convert
from ._pb import pb
from ._transport import Transport
from .errors import from_rpc_error
from .types import ExecChunk

_END = object()
# Past the command's own timeout, how long to wait for its exit (124) before the call is dropped.
TIMEOUT_GRACE_SECS = 30.0


class ExecStream:
    """A running command. Iterate it for :class:`ExecChunk` s (output, then one exit chunk);
    ``write`` and ``close_stdin`` feed its stdin. Leaving the ``with`` block before the exit
    cancels the call, which kills the command's process group in the guest."""

    def __init__(self, transport: Transport, start: "pb.ExecChunk", timeout: Optional[int]) -> None:
        self._url = transport.url
        self._requests: "queue.Queue[object]" = queue.Queue()
        self._requests.put(start)
        self._stdin_closed = False
        self._exit_code: Optional[int] = None
        self.token, metadata = transport.metadata()
        deadline = timeout + TIMEOUT_GRACE_SECS if timeout else None
        self._call = transport.stub.Exec(iter(self._requests.get, _END), metadata=metadata, timeout=deadline)
        self.received_output = False

    def write(self, data: Union[bytes, str]) -> None:
        if self._stdin_closed:
            raise ValueError("stdin of this exec is closed already")
        for chunk in _convert.stdin_chunks(data):
            self._requests.put(chunk)

    def close_stdin(self) -> None:
        if not self._stdin_closed:
            self._stdin_closed = True
            self._requests.put(_convert.stdin_eof())
            self._requests.put(_END)

    @property
    def exit_code(self) -> Optional[int]:
        """The command's exit code once the stream has ended; None before."""
        return self._exit_code

    def __iter__(self) -> Iterator[ExecChunk]:
        code = 0
        try:
            for answer in self._call:
                out = _convert.output_chunk(answer)
                if out is not None:
                    self.received_output = True
                    yield out
                if answer.exit_code:
                    code = answer.exit_code
        except grpc.RpcError as e:
            raise from_rpc_error(e, self._url) from e
        self._exit_code = code
        yield ExecChunk(stream="exit", exit_code=code)

    def cancel(self) -> None:
        self._call.cancel()

    def __enter__(self) -> "ExecStream":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close_stdin()
        if self._exit_code is None:
            self._call.cancel()
