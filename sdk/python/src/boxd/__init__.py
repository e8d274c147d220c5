"""The Python SDK of boxd: ``Boxd`` (sync) and ``AsyncBoxd`` (asyncio), over the gRPC API."""
from . import errors
from ._async import AsyncBoxd
from ._client import Boxd
from .errors import (APIConnectionError, AuthenticationError, BoxdError, ConflictError, InvalidArgumentError,
                     NotFoundError, PermissionDeniedError, RateLimitError)
from .types import DirEntry, ExecChunk, ExecResult, Identity, Machine, Proxy, Snapshot

__all__ = [
    "Boxd", "AsyncBoxd", "errors",
    "BoxdError", "NotFoundError", "ConflictError", "AuthenticationError", "PermissionDeniedError", "RateLimitError",
    "InvalidArgumentError", "APIConnectionError",
    "Machine", "ExecResult", "ExecChunk", "Proxy", "Snapshot", "DirEntry", "Identity",
]
