// The transport against an in-process gRPC server speaking the real proto: tokens in metadata,
// the API key exchange, the one retry after an "expired" answer, and connection errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { APIConnectionError, AuthenticationError, Boxd } from '../dist/index.js';

const definition = protoLoader.loadSync('boxd/api/v1/boxd.proto', { includeDirs: [new URL('../proto', import.meta.url).pathname] });
const api = grpc.loadPackageDefinition(definition).boxd.api.v1.BoxdApi;

const seen = { exchanges: [], whoamiTokens: [] };
let expiredTokens = new Set();
let server;
let url;

before(async () => {
  server = new grpc.Server();
  server.addService(api.service, {
    ExchangeApiKey(call, callback) {
      seen.exchanges.push({ key: call.request.apiKey, authorization: call.metadata.get('authorization') });
      callback(null, { token: `token-${seen.exchanges.length}`, expiresAt: Math.floor(Date.now() / 1000) + 3600, userId: 'u1' });
    },
    Whoami(call, callback) {
      const authorization = String(call.metadata.get('authorization')[0] ?? '');
      seen.whoamiTokens.push(authorization);
      if (expiredTokens.has(authorization)) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'token expired: exchange your API key again' });
      } else {
        callback(null, { userId: 'u1', name: 'ts', keyFingerprints: ['SHA256:x'] });
      }
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  url = `http://127.0.0.1:${port}`;
});

after(() => server.forceShutdown());

test('an API key is exchanged without a token, then sent as a bearer token', async () => {
  seen.exchanges = [];
  seen.whoamiTokens = [];
  const boxd = new Boxd({ apiKey: 'bxd_secret', baseURL: url });
  try {
    assert.deepEqual(await boxd.whoami(), { userId: 'u1', name: 'ts', keyFingerprints: ['SHA256:x'] });
    await boxd.whoami();
    assert.deepEqual(seen.exchanges, [{ key: 'bxd_secret', authorization: [] }]);
    assert.deepEqual(seen.whoamiTokens, ['Bearer token-1', 'Bearer token-1']);
  } finally {
    boxd.close();
  }
});

test('an "expired" answer gets one new token and one retry', async () => {
  seen.exchanges = [];
  seen.whoamiTokens = [];
  expiredTokens = new Set(['Bearer token-1']);
  const boxd = new Boxd({ apiKey: 'bxd_secret', baseURL: url });
  try {
    assert.equal((await boxd.whoami()).userId, 'u1');
    assert.deepEqual(seen.whoamiTokens, ['Bearer token-1', 'Bearer token-2']);
    assert.equal(seen.exchanges.length, 2);
  } finally {
    boxd.close();
    expiredTokens = new Set();
  }
});

test('a token still refused after the retry, or a fixed one, is an AuthenticationError', async () => {
  expiredTokens = new Set(['Bearer token-1', 'Bearer token-2', 'Bearer fixed.jwt']);
  seen.exchanges = [];
  const renewing = new Boxd({ apiKey: 'bxd_secret', baseURL: url });
  const fixed = new Boxd({ token: 'fixed.jwt', baseURL: url });
  try {
    await assert.rejects(renewing.whoami(), AuthenticationError);
    assert.equal(seen.exchanges.length, 2);
    await assert.rejects(fixed.whoami(), (e) => e instanceof AuthenticationError && /expired/.test(e.message));
    assert.equal(seen.exchanges.length, 2);
  } finally {
    renewing.close();
    fixed.close();
    expiredTokens = new Set();
  }
});

test('nothing listening is an APIConnectionError naming the URL', async () => {
  const probe = new grpc.Server();
  const port = await new Promise((resolve, reject) =>
    probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  probe.forceShutdown(); // a port that was just free and now has no listener
  const boxd = new Boxd({ token: 'x', baseURL: `http://127.0.0.1:${port}` });
  try {
    await assert.rejects(boxd.whoami(), (e) => e instanceof APIConnectionError && e.message.includes(`http://127.0.0.1:${port}`));
  } finally {
    boxd.close();
  }
});
