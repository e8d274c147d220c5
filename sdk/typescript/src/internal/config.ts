import { existsSync, readFileSync } from 'node:fs';
import { BoxdError } from '../errors.js';
import { defaultGateway } from './route.js';

/** What `new Boxd(...)` accepts; every field falls back to its environment variable. */
export interface BoxdOptions {
  /** An API key (`bxd_…`), exchanged for short-lived tokens. Env: BOXD_API_KEY. */
  apiKey?: string;
  /** A token (JWT), or an API key when it starts with `bxd_`. Env: BOXD_TOKEN. */
  token?: string;
  /** The gRPC API, such as `https://boxd.example.com:9443`. Env: BOXD_API_URL. */
  baseURL?: string;
  /** The PEM of the CA that signed the API's certificate (or a path to it). Env: BOXD_CA_CERT (a path). */
  caCert?: string | Buffer;
}

/** Where to connect and how to authenticate, resolved once when the client is made. */
export interface ResolvedConfig {
  /** The URL shown in errors. */
  url: string;
  /** host:port for gRPC. */
  target: string;
  /** TLS with this CA (undefined: the system's roots), or false for plaintext (the in-VM gateway). */
  tls: { ca?: Buffer } | false;
  auth: { kind: 'apiKey'; apiKey: string } | { kind: 'token'; token: string } | { kind: 'address' };
}

/** What resolution reads from the machine, so that tests can supply it. */
export interface Environment {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  read(path: string): Buffer;
}

export const processEnvironment: Environment = {
  env: process.env,
  exists: existsSync,
  read: (path) => readFileSync(path),
};

/** The port of the gateway on a worker's bridge, which knows a VM by its source address. */
export const GATEWAY_PORT = 9003;
const AGENT = '/usr/local/bin/boxd-agent';
const DEFAULT_TLS_PORT = 9443;

export function resolveConfig(options: BoxdOptions, machine: Environment = processEnvironment): ResolvedConfig {
  const env = machine.env;
  // Credentials given in code replace the environment's as a whole: a token passed in must not
  // lose to an API key that happens to be in the environment.
  const given = nonEmpty(options.apiKey) !== undefined || nonEmpty(options.token) !== undefined;
  const apiKey = given ? nonEmpty(options.apiKey) : nonEmpty(env.BOXD_API_KEY);
  const token = given ? nonEmpty(options.token) : nonEmpty(env.BOXD_TOKEN);
  const baseURL = nonEmpty(options.baseURL) ?? nonEmpty(env.BOXD_API_URL);
  const caCert = options.caCert ?? nonEmpty(env.BOXD_CA_CERT);

  if (apiKey === undefined && token === undefined && baseURL === undefined && machine.exists(AGENT)) {
    return inVm(machine);
  }
  if (apiKey === undefined && token === undefined) {
    throw new BoxdError('no boxd credentials: pass {apiKey} or set BOXD_API_KEY (or BOXD_TOKEN) to an API key made with `api-key create`');
  }
  if (baseURL === undefined) {
    throw new BoxdError('no boxd API URL: pass {baseURL} or set BOXD_API_URL, such as https://boxd.example.com:9443');
  }
  const auth: ResolvedConfig['auth'] = apiKey !== undefined
    ? { kind: 'apiKey', apiKey }
    : token!.startsWith('bxd_') ? { kind: 'apiKey', apiKey: token! } : { kind: 'token', token: token! };
  const { target, secure } = parseURL(baseURL);
  return {
    url: baseURL,
    target,
    tls: secure ? { ca: caCert === undefined ? undefined : pem(caCert, machine) } : false,
    auth,
  };
}

function inVm(machine: Environment): ResolvedConfig {
  const routes = machine.read('/proc/net/route').toString('utf8');
  const gateway = defaultGateway(routes);
  if (gateway === undefined) {
    throw new BoxdError('inside a boxd VM but /proc/net/route has no default route: set BOXD_API_URL and BOXD_API_KEY instead');
  }
  const target = `${gateway}:${GATEWAY_PORT}`;
  return { url: `http://${target}`, target, tls: false, auth: { kind: 'address' } };
}

/** `https://host[:port]`, `http://host:port` (plaintext) or a bare `host[:port]` (TLS). */
export function parseURL(baseURL: string): { target: string; secure: boolean } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(baseURL) ? baseURL : `https://${baseURL}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new BoxdError(`BOXD_API_URL ${JSON.stringify(baseURL)} is not a URL: expected https://HOST[:PORT]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BoxdError(`BOXD_API_URL ${JSON.stringify(baseURL)} has scheme ${url.protocol}: expected https:// (or http:// for plaintext)`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new BoxdError(`BOXD_API_URL ${JSON.stringify(baseURL)} has a path: the gRPC API is at the root, expected https://HOST[:PORT]`);
  }
  const secure = url.protocol === 'https:';
  const port = url.port !== '' ? url.port : secure ? String(DEFAULT_TLS_PORT) : '80';
  return { target: `${url.hostname}:${port}`, secure };
}

function pem(caCert: string | Buffer, machine: Environment): Buffer {
  if (Buffer.isBuffer(caCert)) {
    return caCert;
  }
  if (caCert.includes('-----BEGIN')) {
    return Buffer.from(caCert, 'utf8');
  }
  if (!machine.exists(caCert)) {
    throw new BoxdError(`the CA certificate ${caCert} (BOXD_CA_CERT) does not exist: give the path of a PEM file`);
  }
  return machine.read(caCert);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
