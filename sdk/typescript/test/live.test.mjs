// The SDK against a real boxd server: runs when BOXD_API_URL is set (with BOXD_API_KEY and, for a
// local CA, BOXD_CA_CERT), as e2e's TypeScriptSdkTest does. At most two VMs exist at once, and
// every VM made here is deleted, also when a step fails.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Boxd, ConflictError, NotFoundError } from '../dist/index.js';

const live = process.env.BOXD_API_URL !== undefined && process.env.BOXD_API_URL !== '';
const made = new Set();
let boxd;

after(async () => {
  for (const id of made) {
    await boxd.machines.delete(id).catch((e) => {
      if (!(e instanceof NotFoundError)) {
        console.error(`could not delete VM ${id}: ${e.message}`);
      }
    });
  }
  boxd?.close();
});

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

test('live scenario', { skip: !live && 'BOXD_API_URL is not set', timeout: 15 * 60_000 }, async (t) => {
  boxd = new Boxd();
  let vm;

  await t.test('whoami answers with the key\'s account', async () => {
    const me = await boxd.whoami();
    assert.ok(me.userId.length > 0, 'no user id');
  });

  await t.test('create returns a running VM', async () => {
    vm = await boxd.machines.create({ name: 'ts-one', config: { vcpu: 1, memory: '1G', autoSuspendTimeout: 0 } });
    made.add(vm.id);
    assert.equal(vm.name, 'ts-one');
    assert.match(vm.url, /^https:\/\/ts-one\./);
    const ready = await boxd.machines.waitUntilReady(vm.id, { timeout: 120 });
    assert.equal(ready.status, 'running');
    assert.equal(ready.autoSuspendTimeout, 0);
    assert.equal(ready.vcpu, 1);
    assert.equal(ready.memoryMib, 1024);
    assert.ok((await boxd.machines.list()).some((m) => m.id === vm.id), 'list lacks the new VM');
  });

  await t.test('a taken name is a ConflictError', async () => {
    await assert.rejects(boxd.machines.create({ name: 'ts-one' }), ConflictError);
  });

  await t.test('exec: exit code, stdout and stderr apart, env, argv, cwd, stdin, timeout', async () => {
    const failed = await boxd.machines.exec(vm.id, { command: 'echo out; echo err >&2; exit 3' });
    assert.deepEqual(failed, { exitCode: 3, success: false, stdout: 'out\n', stderr: 'err\n' });

    const env = await boxd.machines.exec(vm.name, { command: 'printf %s "$GREETING"', env: { GREETING: 'hello world' } });
    assert.deepEqual(env, { exitCode: 0, success: true, stdout: 'hello world', stderr: '' });

    const argv = await boxd.machines.exec(vm.id, { command: ['printf', '%s|', "it's", '$HOME', 'a b'] });
    assert.equal(argv.stdout, "it's|$HOME|a b|");

    assert.equal((await boxd.machines.exec(vm.id, { command: 'pwd', cwd: '/tmp' })).stdout, '/tmp\n');
    assert.equal((await boxd.machines.exec(vm.id, { command: 'tr a-z A-Z', stdin: 'shout' })).stdout, 'SHOUT');
    assert.equal((await boxd.machines.exec(vm.id, { command: 'sleep 60', timeout: 1 })).exitCode, 124);
  });

  await t.test('streaming exec: output arrives while stdin is still open', async () => {
    const stream = boxd.machines.execStream(vm.id, {
      command: 'while read line; do echo "got $line"; echo "err $line" >&2; done; exit 7',
    });
    await stream.write('one\n');
    const stdout = [];
    const stderr = [];
    let wroteTwo = false;
    for await (const chunk of stream) {
      (chunk.stream === 'stdout' ? stdout : stderr).push(chunk.data.toString());
      // The answer to the first line came back before stdin ended: the call is interactive.
      if (!wroteTwo && stdout.join('').includes('got one\n')) {
        wroteTwo = true;
        await stream.write('two\n');
        await stream.end();
      }
    }
    assert.equal(await stream.exitCode, 7);
    assert.equal(stdout.join(''), 'got one\ngot two\n');
    assert.equal(stderr.join(''), 'err one\nerr two\n');
  });

  const data = randomBytes(10 * 1024 * 1024);
  await t.test('upload and download 10 MiB intact', async () => {
    const written = await boxd.machines.files.upload(vm.id, 'big.bin', data);
    assert.equal(written.bytesWritten, data.length);
    const remote = await boxd.machines.exec(vm.id, { command: 'sha256sum /home/boxd/big.bin' });
    assert.equal(remote.stdout.split(' ')[0], sha256(data));
    const back = await boxd.machines.files.download(vm.id, '/home/boxd/big.bin');
    assert.equal(back.length, data.length);
    assert.equal(sha256(back), sha256(data));
  });

  await t.test('fork copies the disk into a second VM', async () => {
    const fork = await boxd.machines.fork(vm.id, { name: 'ts-one-fork' });
    made.add(fork.id);
    assert.notEqual(fork.id, vm.id);
    assert.equal(fork.name, 'ts-one-fork');
    const there = await boxd.machines.exec(fork.id, { command: 'sha256sum big.bin; hostname' });
    assert.equal(there.stdout.split(' ')[0], sha256(data));
    await boxd.machines.delete(fork.id);
    made.delete(fork.id);
  });

  await t.test('pause and resume', async () => {
    const paused = await boxd.machines.pause(vm.id);
    assert.equal(typeof paused.suspendUs, 'number');
    assert.equal((await boxd.machines.get(vm.id)).status, 'standby');
    const resumed = await boxd.machines.resume(vm.id);
    assert.equal(typeof resumed.resumeUs, 'number');
    assert.ok(resumed.resumeUs > 0, `resumeUs ${resumed.resumeUs}`);
    assert.equal((await boxd.machines.exec(vm.id, { command: 'echo awake' })).stdout, 'awake\n');
  });

  await t.test('snapshots: save, get, list, restore into a new VM, delete', async () => {
    const saved = await boxd.snapshots.create(vm.id, 'ts-snap');
    assert.equal(saved.name, 'ts-snap');
    assert.equal((await boxd.snapshots.get('ts-snap')).id, saved.id);
    assert.ok((await boxd.snapshots.list()).some((s) => s.name === 'ts-snap'), 'list lacks the snapshot');
    const restored = await boxd.machines.create({ name: 'ts-restored', fromSnapshot: 'ts-snap' });
    made.add(restored.id);
    const there = await boxd.machines.exec(restored.id, { command: 'sha256sum big.bin' });
    assert.equal(there.stdout.split(' ')[0], sha256(data));
    await boxd.machines.delete(restored.id);
    made.delete(restored.id);
    await boxd.snapshots.delete('ts-snap');
    await assert.rejects(boxd.snapshots.get('ts-snap'), NotFoundError);
  });

  await t.test('proxy set-port moves the default route', async () => {
    const proxy = await boxd.machines.proxies.setPort(vm.id, 8080);
    assert.equal(proxy.port, 8080);
    const routes = await boxd.machines.proxies.list(vm.id);
    const route = routes.find((p) => p.name === 'default' || p.name === '');
    assert.ok(route, `no default route in ${JSON.stringify(routes)}`);
    assert.equal(route.port, 8080);
  });

  await t.test('delete, then get is a NotFoundError for good', async () => {
    await boxd.machines.delete(vm.id);
    made.delete(vm.id);
    await assert.rejects(boxd.machines.get(vm.id), (e) => e instanceof NotFoundError && e.codeName === 'NOT_FOUND');
  });
});
