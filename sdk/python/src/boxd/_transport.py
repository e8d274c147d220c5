"""The sync connection: one grpc channel, the credentials, and calls wrapped with deadlines,
metadata, error mapping and one retry with a fresh token."""
from __future__ import annotations

import time
from typing import Any, List, Optional, Tuple

import grpc

from ._auth import ApiKeyTokens, Clock, Credentials, StaticToken
from ._config import Settings
from ._pb import pb, pb_grpc
from .errors import AuthenticationError, BoxdError, from_rpc_error

# SPEC §12: unary calls finish inside 30 s; creating, forking and booting a VM may take longer.
UNARY_DEADLINE = 30.0
BOOT_DEADLINE = 180.0
# Above gRPC's 4 MiB default: the unary DownloadFile answers up to 4 MiB of data plus framing.
MAX_MESSAGE = 64 << 20
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]

Metadata = List[Tuple[str, str]]


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=settings.ca_pem)


class Transport:
    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        self.url = settings.url
        if settings.tls:
            self.channel = grpc.secure_channel(settings.target, channel_credentials(settings), options=CHANNEL_OPTIONS)
        else:
            self.channel = grpc.insecure_channel(settings.target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.BoxdApiStub(self.channel)
        self.credentials: Credentials
        if settings.api_key:
            self.credentials = ApiKeyTokens(settings.api_key, self._exchange, clock)
        elif settings.token:
            self.credentials = StaticToken(settings.token)
        else:
            self.credentials = Credentials()

    def _exchange(self, api_key: str) -> Tuple[str, float]:
        try:
            answer = self.stub.ExchangeApiKey(pb.ExchangeApiKeyRequest(api_key=api_key), timeout=UNARY_DEADLINE)
        except grpc.RpcError as e:
            raise _exchange_error(from_rpc_error(e, self.url)) from e
        return answer.token, float(answer.expires_at)

    def metadata(self) -> Tuple[Optional[str], Metadata]:
        token = self.credentials.token()
        return token, ([("authorization", "Bearer " + token)] if token else [])

    def unary(self, method: str, request: Any, timeout: float = UNARY_DEADLINE) -> Any:
        for attempt in range(2):
            token, metadata = self.metadata()
            try:
                return getattr(self.stub, method)(request, metadata=metadata, timeout=timeout)
            except grpc.RpcError as e:
                error = from_rpc_error(e, self.url)
                if attempt == 0 and isinstance(error, AuthenticationError) and self.credentials.rejected(token):
                    continue
                raise error from e
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.channel.close()


def _exchange_error(error: BoxdError) -> BoxdError:
    if isinstance(error, AuthenticationError):
        return AuthenticationError(error.code, f"the API key was refused: {error.message}")
    return error
