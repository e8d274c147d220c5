import { status, type ServiceError } from '@grpc/grpc-js';

/**
 * Every failure of a boxd call. `code` is the gRPC status code (`status.NOT_FOUND` and so on from
 * `@grpc/grpc-js`) and `codeName` its name: switch on those, never on the message, which is for
 * people.
 */
export class BoxdError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(message: string, code: number = status.UNKNOWN, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.codeName = status[code] ?? `CODE_${code}`;
  }
}

/** NOT_FOUND: no such VM, snapshot, proxy or file (or not one of yours). */
export class NotFoundError extends BoxdError {}
/** ALREADY_EXISTS, FAILED_PRECONDITION or ABORTED: the name is taken, or the VM is in the wrong state. */
export class ConflictError extends BoxdError {}
/** UNAUTHENTICATED: no token, a bad or expired one, or an API key that is unknown, revoked or expired. */
export class AuthenticationError extends BoxdError {}
/** PERMISSION_DENIED: authenticated, but not allowed to do this. */
export class PermissionDeniedError extends BoxdError {}
/** RESOURCE_EXHAUSTED: a rate limit or a quota (VMs, vCPUs, memory) was reached. */
export class RateLimitError extends BoxdError {}
/** INVALID_ARGUMENT: a bad name, size or path; the message names it. */
export class InvalidArgumentError extends BoxdError {}
/** UNAVAILABLE or DEADLINE_EXCEEDED: the API could not be reached, or did not answer in time. */
export class APIConnectionError extends BoxdError {}

type ErrorClass = new (message: string, code: number, options?: { cause?: unknown }) => BoxdError;

const classes: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>([
  [status.NOT_FOUND, NotFoundError],
  [status.ALREADY_EXISTS, ConflictError],
  [status.FAILED_PRECONDITION, ConflictError],
  [status.ABORTED, ConflictError],
  [status.UNAUTHENTICATED, AuthenticationError],
  [status.PERMISSION_DENIED, PermissionDeniedError],
  [status.RESOURCE_EXHAUSTED, RateLimitError],
  [status.INVALID_ARGUMENT, InvalidArgumentError],
  [status.OUT_OF_RANGE, InvalidArgumentError],
  [status.UNAVAILABLE, APIConnectionError],
  [status.DEADLINE_EXCEEDED, APIConnectionError],
]);

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'details' in e;
}

/**
 * The SDK error for a failed gRPC call to `url`. The server's messages are safe to show and say
 * what to do, so they are kept as they are; connection failures name the URL, since the usual
 * fix is a wrong BOXD_API_URL or CA.
 */
export function toBoxdError(e: unknown, url: string): BoxdError {
  if (e instanceof BoxdError) {
    return e;
  }
  if (!isServiceError(e)) {
    const message = e instanceof Error ? e.message : String(e);
    return new BoxdError(message, status.UNKNOWN, { cause: e });
  }
  const details = e.details || status[e.code] || 'unknown error';
  let message: string;
  if (e.code === status.UNAVAILABLE) {
    message = `cannot reach the boxd API at ${url}: ${details} (check BOXD_API_URL and BOXD_CA_CERT)`;
  } else if (e.code === status.DEADLINE_EXCEEDED) {
    message = `the boxd API at ${url} did not answer in time: ${details}`;
  } else {
    message = details;
  }
  const Class = classes.get(e.code) ?? BoxdError;
  return new Class(message, e.code, { cause: e });
}

/** Whether the server refused a token because it expired (the one UNAUTHENTICATED worth a retry). */
export function isExpiredToken(e: unknown): boolean {
  return e instanceof BoxdError && e.code === status.UNAUTHENTICATED && /expired/i.test(e.message);
}
