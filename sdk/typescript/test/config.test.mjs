import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GATEWAY_PORT, parseURL, resolveConfig } from '../dist/internal/config.js';
import { defaultGateway } from '../dist/internal/route.js';

// /proc/net/route of a VM whose default route goes through 10.88.0.1 on eth0.
const ROUTES = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth0\t00005810\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'eth0\t00000000\t0100580A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  '',
].join('\n');

function machine({ env = {}, files = {} } = {}) {
  return {
    env,
    exists: (path) => path in files,
    read: (path) => {
      if (!(path in files)) {
        throw new Error(`ENOENT ${path}`);
      }
      return Buffer.from(files[path]);
    },
  };
}

test('the default route gateway is read in the kernel byte order', () => {
  assert.equal(defaultGateway(ROUTES), '10.88.0.1');
});

test('no default route, a down one or one without a gateway gives none', () => {
  const header = ROUTES.split('\n')[0];
  assert.equal(defaultGateway(`${header}\neth0\t00005810\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`), undefined);
  assert.equal(defaultGateway(`${header}\neth0\t00000000\t0100580A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n`), undefined);
  assert.equal(defaultGateway(`${header}\neth0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n`), undefined);
  assert.equal(defaultGateway(''), undefined);
});

test('inside a VM with nothing set: plaintext to the gateway, no token', () => {
  const config = resolveConfig({}, machine({ files: { '/usr/local/bin/boxd-agent': '', '/proc/net/route': ROUTES } }));
  assert.deepEqual(config, {
    url: `http://10.88.0.1:${GATEWAY_PORT}`, target: `10.88.0.1:${GATEWAY_PORT}`, tls: false, auth: { kind: 'address' },
  });
});

test('inside a VM, credentials in the environment win over the gateway', () => {
  const config = resolveConfig({}, machine({
    env: { BOXD_API_KEY: 'bxd_abc', BOXD_API_URL: 'https://boxd.example.com' },
    files: { '/usr/local/bin/boxd-agent': '', '/proc/net/route': ROUTES },
  }));
  assert.equal(config.target, 'boxd.example.com:9443');
  assert.deepEqual(config.auth, { kind: 'apiKey', apiKey: 'bxd_abc' });
});

test('BOXD_TOKEN is an API key when it starts with bxd_, else a JWT', () => {
  const env = { BOXD_API_URL: 'https://h:1' };
  assert.deepEqual(resolveConfig({}, machine({ env: { ...env, BOXD_TOKEN: 'bxd_k' } })).auth, { kind: 'apiKey', apiKey: 'bxd_k' });
  assert.deepEqual(resolveConfig({}, machine({ env: { ...env, BOXD_TOKEN: 'eyJ.a.b' } })).auth, { kind: 'token', token: 'eyJ.a.b' });
});

test('options win over the environment, and the CA is read from BOXD_CA_CERT', () => {
  const config = resolveConfig({ apiKey: 'bxd_option', baseURL: 'https://localhost:7443' }, machine({
    env: { BOXD_API_KEY: 'bxd_env', BOXD_API_URL: 'https://elsewhere', BOXD_CA_CERT: '/ca.pem' },
    files: { '/ca.pem': '-----BEGIN CERTIFICATE-----\n' },
  }));
  assert.equal(config.target, 'localhost:7443');
  assert.equal(config.auth.apiKey, 'bxd_option');
  assert.equal(config.tls.ca.toString(), '-----BEGIN CERTIFICATE-----\n');
});

test('a token passed in code wins over an API key in the environment', () => {
  const config = resolveConfig({ token: 'eyJ.a.b' }, machine({ env: { BOXD_API_KEY: 'bxd_env', BOXD_API_URL: 'https://h' } }));
  assert.deepEqual(config.auth, { kind: 'token', token: 'eyJ.a.b' });
});

test('missing credentials, URL or CA file are errors that say what to set', () => {
  assert.throws(() => resolveConfig({}, machine()), /BOXD_API_KEY/);
  assert.throws(() => resolveConfig({}, machine({ env: { BOXD_API_KEY: 'bxd_k' } })), /BOXD_API_URL/);
  assert.throws(() => resolveConfig({}, machine({ env: { BOXD_API_KEY: 'bxd_k', BOXD_API_URL: 'https://h', BOXD_CA_CERT: '/nope.pem' } })),
    /\/nope\.pem.*does not exist/);
});

test('URLs: default port 9443, http is plaintext, a bare host is TLS, paths and other schemes are refused', () => {
  assert.deepEqual(parseURL('https://boxd.example.com'), { target: 'boxd.example.com:9443', secure: true });
  assert.deepEqual(parseURL('http://10.0.0.1:9003'), { target: '10.0.0.1:9003', secure: false });
  assert.deepEqual(parseURL('localhost:4443'), { target: 'localhost:4443', secure: true });
  assert.throws(() => parseURL('https://h/api'), /has a path/);
  assert.throws(() => parseURL('ftp://h'), /scheme ftp:/);
});
