"""Tokens for calls: an API key is exchanged (ExchangeApiKey) for a JWT, kept until 60 s before it
expires, and exchanged again then, or once when the server says the token is no longer good.

One exchange at a time: callers on many threads (or tasks) wait for the one in flight rather than
each asking the server, which rate-limits exchanges per address."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Awaitable, Callable, Optional, Tuple

# Refresh this long before the token's expiry, so a call never leaves with a token about to lapse.
REFRESH_MARGIN_SECS = 60.0

Clock = Callable[[], float]
Exchange = Callable[[str], Tuple[str, float]]
AsyncExchange = Callable[[str], Awaitable[Tuple[str, float]]]


class TokenCache:
    """The current token and its expiry (unix seconds). Not locked: its owners lock around it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._token: Optional[str] = None
        self._expires_at = 0.0

    def usable(self) -> Optional[str]:
        if self._token is not None and self._clock() < self._expires_at - REFRESH_MARGIN_SECS:
            return self._token
        return None

    def store(self, token: str, expires_at: float) -> None:
        self._token = token
        self._expires_at = expires_at

    def drop(self, token: str) -> None:
        """Forgets ``token`` if it is still the current one (a concurrent refresh may have replaced it)."""
        if self._token == token:
            self._token = None


class Credentials:
    """What a call sends: ``token()`` gives the bearer token (or None: the in-VM API needs none);
    ``rejected(token)`` is told of an UNAUTHENTICATED answer and says whether a retry may help."""

    def token(self) -> Optional[str]:
        return None

    def rejected(self, token: Optional[str]) -> bool:
        return False


class StaticToken(Credentials):
    """A JWT given by the caller: it cannot be renewed here."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> Optional[str]:
        return self._token


class ApiKeyTokens(Credentials):
    """Thread-safe tokens from an API key."""

    def __init__(self, api_key: str, exchange: Exchange, clock: Clock = time.time) -> None:
        self._api_key = api_key
        self._exchange = exchange
        self._cache = TokenCache(clock)
        self._lock = threading.Lock()

    def token(self) -> Optional[str]:
        with self._lock:
            current = self._cache.usable()
            if current is None:
                current, expires_at = self._exchange(self._api_key)
                self._cache.store(current, expires_at)
            return current

    def rejected(self, token: Optional[str]) -> bool:
        with self._lock:
            if token is not None:
                self._cache.drop(token)
        return True


class AsyncCredentials:
    async def token(self) -> Optional[str]:
        return None

    def rejected(self, token: Optional[str]) -> bool:
        return False


class AsyncStaticToken(AsyncCredentials):
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> Optional[str]:
        return self._token


class AsyncApiKeyTokens(AsyncCredentials):
    """Task-safe tokens from an API key (one event loop)."""

    def __init__(self, api_key: str, exchange: AsyncExchange, clock: Clock = time.time) -> None:
        self._api_key = api_key
        self._exchange = exchange
        self._cache = TokenCache(clock)
        self._lock: Optional[asyncio.Lock] = None

    async def token(self) -> Optional[str]:
        if self._lock is None:
            # Made here, not in __init__: a lock belongs to the loop it is first used on.
            self._lock = asyncio.Lock()
        async with self._lock:
            current = self._cache.usable()
            if current is None:
                current, expires_at = await self._exchange(self._api_key)
                self._cache.store(current, expires_at)
            return current

    def rejected(self, token: Optional[str]) -> bool:
        if token is not None:
            self._cache.drop(token)
        return True
