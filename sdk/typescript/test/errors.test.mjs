import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import {
  APIConnectionError, AuthenticationError, BoxdError, ConflictError, InvalidArgumentError, NotFoundError,
  PermissionDeniedError, RateLimitError,
} from '../dist/index.js';
import { isExpiredToken, toBoxdError } from '../dist/errors.js';

/** What @grpc/grpc-js rejects a call with. */
function serviceError(code, details) {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

const URL = 'https://boxd.test:9443';

for (const [code, Class] of [
  [status.NOT_FOUND, NotFoundError],
  [status.ALREADY_EXISTS, ConflictError],
  [status.FAILED_PRECONDITION, ConflictError],
  [status.UNAUTHENTICATED, AuthenticationError],
  [status.PERMISSION_DENIED, PermissionDeniedError],
  [status.RESOURCE_EXHAUSTED, RateLimitError],
  [status.INVALID_ARGUMENT, InvalidArgumentError],
  [status.UNAVAILABLE, APIConnectionError],
  [status.INTERNAL, BoxdError],
]) {
  test(`${status[code]} becomes ${Class.name} with the code and the server's message`, () => {
    const error = toBoxdError(serviceError(code, "VM 'web' not found"), URL);
    assert.ok(error instanceof Class, `${error.constructor.name} is not ${Class.name}`);
    assert.ok(error instanceof BoxdError);
    assert.equal(error.code, code);
    assert.equal(error.codeName, status[code]);
    assert.equal(error.name, Class.name);
    assert.ok(error.cause instanceof Error);
    if (code !== status.UNAVAILABLE) {
      assert.equal(error.message, "VM 'web' not found");
    }
  });
}

test('a connection failure names the URL', () => {
  const error = toBoxdError(serviceError(status.UNAVAILABLE, 'No connection established'), URL);
  assert.ok(error instanceof APIConnectionError);
  assert.match(error.message, /https:\/\/boxd\.test:9443/);
  assert.match(error.message, /No connection established/);
});

test('only UNAUTHENTICATED saying expired is worth a new token', () => {
  assert.equal(isExpiredToken(toBoxdError(serviceError(status.UNAUTHENTICATED, 'token expired: exchange your API key again'), URL)), true);
  assert.equal(isExpiredToken(toBoxdError(serviceError(status.UNAUTHENTICATED, 'bad signature'), URL)), false);
  assert.equal(isExpiredToken(toBoxdError(serviceError(status.NOT_FOUND, 'snapshot expired'), URL)), false);
});

test('a BoxdError passes through and other failures become UNKNOWN', () => {
  const own = new NotFoundError('gone', status.NOT_FOUND);
  assert.equal(toBoxdError(own, URL), own);
  const other = toBoxdError(new TypeError('boom'), URL);
  assert.equal(other.constructor, BoxdError);
  assert.equal(other.code, status.UNKNOWN);
  assert.equal(other.message, 'boom');
});
