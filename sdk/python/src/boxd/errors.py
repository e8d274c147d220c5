"""The errors of the SDK: one class per kind of failure, each carrying the gRPC status code.

Callers switch on the class (or on ``code``), never on the message, which is for people.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

import grpc

__all__ = [
    "BoxdError",
    "NotFoundError",
    "ConflictError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RateLimitError",
    "InvalidArgumentError",
    "ConfigurationError",
    "APIConnectionError",
    "from_rpc_error",
]


class BoxdError(Exception):
    """A call failed: ``code`` is the gRPC status code, ``message`` what the server (or SDK) said."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class NotFoundError(BoxdError):
    """NOT_FOUND: no such VM, file, proxy or snapshot (for this account)."""


class ConflictError(BoxdError):
    """ALREADY_EXISTS (a name is taken) or FAILED_PRECONDITION (the VM is in the wrong state)."""


class AuthenticationError(BoxdError):
    """UNAUTHENTICATED: no credentials, or an API key or token that is unknown, revoked or expired."""


class PermissionDeniedError(BoxdError):
    """PERMISSION_DENIED: the account may not do this."""


class RateLimitError(BoxdError):
    """RESOURCE_EXHAUSTED: a quota (VMs per account) or a rate limit was reached."""


class InvalidArgumentError(BoxdError):
    """INVALID_ARGUMENT: a bad name, size or path."""


class ConfigurationError(InvalidArgumentError):
    """The client itself is set up wrongly (no API URL, an unreadable CA file): no call was made."""

    def __init__(self, message: str) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, message)


class APIConnectionError(BoxdError):
    """The API could not be reached or answered too late: UNAVAILABLE, DEADLINE_EXCEEDED, a refused
    connection or a failed TLS handshake. The message names the URL."""


_BY_CODE: Dict[grpc.StatusCode, Type[BoxdError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: ConflictError,
    grpc.StatusCode.FAILED_PRECONDITION: ConflictError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.UNAVAILABLE: APIConnectionError,
    grpc.StatusCode.DEADLINE_EXCEEDED: APIConnectionError,
}


def error_for(code: grpc.StatusCode, message: str, url: Optional[str] = None) -> BoxdError:
    """The SDK error for a status; connection errors name ``url`` so the reader knows what was tried."""
    cls = _BY_CODE.get(code, BoxdError)
    if cls is APIConnectionError and url:
        message = f"{url}: {message}"
    return cls(code, message)


def from_rpc_error(error: grpc.RpcError, url: Optional[str] = None) -> BoxdError:
    """Maps what grpc raised (a ``grpc.Call`` or an ``aio.AioRpcError``) to the SDK's error."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else None
    return error_for(code or grpc.StatusCode.UNKNOWN, details or str(error), url)
