import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REFRESH_MARGIN_MS, TokenSource } from '../dist/internal/tokens.js';

/** An exchange that hands out token-1, token-2, … each valid for an hour from the fake clock's now. */
function fakeExchange(clock) {
  const exchange = async () => {
    exchange.calls += 1;
    return { token: `token-${exchange.calls}`, expiresAt: Math.floor(clock.now / 1000) + 3600 };
  };
  exchange.calls = 0;
  return exchange;
}

test('exchanges the key once and reuses the token until 60 s before it expires', async () => {
  const clock = { now: 1_700_000_000_000 };
  const exchange = fakeExchange(clock);
  const tokens = TokenSource.fromApiKey(exchange, () => clock.now);

  assert.equal(await tokens.token(), 'token-1');
  clock.now += 3600_000 - REFRESH_MARGIN_MS - 1;
  assert.equal(await tokens.token(), 'token-1');
  assert.equal(exchange.calls, 1);

  clock.now += 1;
  assert.equal(await tokens.token(), 'token-2');
  assert.equal(exchange.calls, 2);
});

test('concurrent calls share one exchange', async () => {
  const clock = { now: 0 };
  const exchange = fakeExchange(clock);
  const tokens = TokenSource.fromApiKey(exchange, () => clock.now);
  const all = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);
  assert.deepEqual(all, ['token-1', 'token-1', 'token-1']);
  assert.equal(exchange.calls, 1);
});

test('a token the server called expired is exchanged again, a newer one is kept', async () => {
  const clock = { now: 0 };
  const exchange = fakeExchange(clock);
  const tokens = TokenSource.fromApiKey(exchange, () => clock.now);
  const first = await tokens.token();
  tokens.invalidate(first);
  const second = await tokens.token();
  assert.equal(second, 'token-2');
  tokens.invalidate(first); // a late answer to a call made with the old token
  assert.equal(await tokens.token(), 'token-2');
  assert.equal(exchange.calls, 2);
});

test('a failed exchange fails the call and the next call tries again', async () => {
  let calls = 0;
  const tokens = TokenSource.fromApiKey(async () => {
    calls += 1;
    if (calls === 1) {
      throw new Error('server down');
    }
    return { token: 'late', expiresAt: 4_000_000_000 };
  }, () => 0);
  await assert.rejects(tokens.token(), /server down/);
  assert.equal(await tokens.token(), 'late');
});

test('a fixed token is used as given and is not renewable', async () => {
  const tokens = TokenSource.fixed('eyJhbGciOi.x.y');
  assert.equal(await tokens.token(), 'eyJhbGciOi.x.y');
  assert.equal(tokens.renewable, false);
});
