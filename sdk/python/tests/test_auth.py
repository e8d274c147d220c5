import asyncio
import threading

from boxd._auth import REFRESH_MARGIN_SECS, ApiKeyTokens, AsyncApiKeyTokens


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingExchange:
    """Issues token-1, token-2, ... each valid for an hour from the fake clock's now."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self.keys = []

    def __call__(self, api_key: str):
        self.calls += 1
        self.keys.append(api_key)
        return f"token-{self.calls}", self.clock.now + 3600


def test_the_key_is_exchanged_once_and_the_token_kept_until_shortly_before_it_expires():
    clock = FakeClock()
    exchange = CountingExchange(clock)
    tokens = ApiKeyTokens("bxd_key", exchange, clock)
    assert tokens.token() == "token-1"
    clock.now += 3600 - REFRESH_MARGIN_SECS - 1
    assert tokens.token() == "token-1"
    assert exchange.calls == 1
    clock.now += 1
    assert tokens.token() == "token-2"
    assert exchange.keys == ["bxd_key", "bxd_key"]


def test_a_rejected_token_is_exchanged_again_once_even_when_several_calls_saw_it_rejected():
    clock = FakeClock()
    exchange = CountingExchange(clock)
    tokens = ApiKeyTokens("bxd_key", exchange, clock)
    old = tokens.token()
    assert tokens.rejected(old)
    assert tokens.token() == "token-2"
    # a second call that failed with the old token must not throw away the new one
    assert tokens.rejected(old)
    assert tokens.token() == "token-2"
    assert exchange.calls == 2


def test_threads_needing_a_token_at_once_share_one_exchange():
    clock = FakeClock()
    release = threading.Event()
    calls = []

    def slow_exchange(api_key):
        calls.append(api_key)
        assert release.wait(10)
        return "shared", clock.now + 3600

    tokens = ApiKeyTokens("bxd_key", slow_exchange, clock)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(tokens.token())) for _ in range(8)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert seen == ["shared"] * 8
    assert len(calls) == 1


def test_tasks_needing_a_token_at_once_share_one_exchange_and_refresh_on_time():
    clock = FakeClock()
    calls = []

    async def exchange(api_key):
        calls.append(api_key)
        await asyncio.sleep(0)  # let the other tasks queue on the lock
        return f"t{len(calls)}", clock.now + 100

    async def scenario():
        tokens = AsyncApiKeyTokens("bxd_key", exchange, clock)
        first = await asyncio.gather(*(tokens.token() for _ in range(10)))
        clock.now += 100 - REFRESH_MARGIN_SECS
        second = await tokens.token()
        return first, second

    first, second = asyncio.run(scenario())
    assert first == ["t1"] * 10
    assert second == "t2"
    assert len(calls) == 2
