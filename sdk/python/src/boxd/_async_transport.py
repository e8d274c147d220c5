"""The asyncio connection (grpc.aio): what _transport is for the sync client."""
from __future__ import annotations

import time
from typing import Any, Optional, Tuple

import grpc
import grpc.aio

from ._auth import AsyncApiKeyTokens, AsyncCredentials, AsyncStaticToken, Clock
from ._config import Settings
from ._pb import pb, pb_grpc
from ._transport import CHANNEL_OPTIONS, UNARY_DEADLINE, Metadata, _exchange_error, channel_credentials
from .errors import AuthenticationError, from_rpc_error


class AsyncTransport:
    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        self.url = settings.url
        self._settings = settings
        self._channel: Optional[grpc.aio.Channel] = None
        self._stub: Optional[pb_grpc.BoxdApiStub] = None
        self.credentials: AsyncCredentials
        if settings.api_key:
            self.credentials = AsyncApiKeyTokens(settings.api_key, self._exchange, clock)
        elif settings.token:
            self.credentials = AsyncStaticToken(settings.token)
        else:
            self.credentials = AsyncCredentials()

    @property
    def stub(self) -> pb_grpc.BoxdApiStub:
        # Made on first use, inside the event loop the calls run on: a grpc.aio channel belongs to one.
        if self._stub is None:
            s = self._settings
            if s.tls:
                self._channel = grpc.aio.secure_channel(s.target, channel_credentials(s), options=CHANNEL_OPTIONS)
            else:
                self._channel = grpc.aio.insecure_channel(s.target, options=CHANNEL_OPTIONS)
            self._stub = pb_grpc.BoxdApiStub(self._channel)
        return self._stub

    async def _exchange(self, api_key: str) -> Tuple[str, float]:
        try:
            answer = await self.stub.ExchangeApiKey(pb.ExchangeApiKeyRequest(api_key=api_key), timeout=UNARY_DEADLINE)
        except grpc.RpcError as e:
            raise _exchange_error(from_rpc_error(e, self.url)) from e
        return answer.token, float(answer.expires_at)

    async def metadata(self) -> Tuple[Optional[str], Metadata]:
        token = await self.credentials.token()
        return token, ([("authorization", "Bearer " + token)] if token else [])

    async def unary(self, method: str, request: Any, timeout: float = UNARY_DEADLINE) -> Any:
        for attempt in range(2):
            token, metadata = await self.metadata()
            try:
                return await getattr(self.stub, method)(request, metadata=metadata, timeout=timeout)
            except grpc.RpcError as e:
                error = from_rpc_error(e, self.url)
                if attempt == 0 and isinstance(error, AuthenticationError) and self.credentials.rejected(token):
                    continue
                raise error from e
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None
