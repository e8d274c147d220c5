// Exec and file streams against an in-process gRPC server speaking the real proto, where a
// "command" is a small script of the test's: exit codes, stdout/stderr apart, stdin and its end,
// failures, cancelling, and uploads in chunks that stop when the server refuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Boxd, NotFoundError } from '../dist/index.js';

const definition = protoLoader.loadSync('boxd/api/v1/boxd.proto', { defaults: true, includeDirs: [new URL('../proto', import.meta.url).pathname] });
const api = grpc.loadPackageDefinition(definition).boxd.api.v1.BoxdApi;

let server;
let boxd;
const seen = { uploads: [] };
let markCancelled;
const cancelled = new Promise((resolve) => {
  markCancelled = resolve;
});

// What the fake VM does for each command.
const commands = {
  // Echo stdin back in upper case on stdout, a note on stderr, exit 5 after stdin ends.
  upper(call) {
    call.on('data', (chunk) => {
      if (chunk.stdin.length > 0) {
        call.write({ data: Buffer.from(chunk.stdin.toString().toUpperCase()) });
        call.write({ data: Buffer.from('seen\n'), isStderr: true });
      }
      if (chunk.stdinEof) {
        call.write({ exitCode: 5 });
        call.end();
      }
    });
  },
  // Success without an exit code: the contract says that means 0.
  quiet(call) {
    call.write({ data: Buffer.from('done') });
    call.end();
  },
  env(call, first) {
    call.write({ data: Buffer.from(`${first.command}|${JSON.stringify(first.env)}|${first.timeoutSecs}`) });
    call.end();
  },
  missing(call) {
    call.emit('error', { code: grpc.status.NOT_FOUND, details: "VM 'nope' not found" });
  },
  // Endless output until the client goes away.
  forever(call) {
    const timer = setInterval(() => call.write({ data: Buffer.alloc(1024, 120) }), 1);
    call.on('cancelled', () => {
      clearInterval(timer);
      markCancelled();
    });
  },
};

before(async () => {
  server = new grpc.Server();
  server.addService(api.service, {
    Exec(call) {
      call.once('data', (first) => {
        const name = first.command.replace(/^cd -- \S+ \|\| exit; /, '').split(' ')[0];
        (commands[name] ?? commands.env)(call, first);
      });
    },
    UploadFileStream(call, callback) {
      const chunks = [];
      call.on('data', (chunk) => {
        chunks.push(chunk);
        if (chunk.path === 'refused') {
          callback({ code: grpc.status.PERMISSION_DENIED, details: 'not yours' });
        }
      });
      call.on('end', () => {
        seen.uploads.push(chunks);
        callback(null, { bytesWritten: chunks.reduce((n, c) => n + c.data.length, 0) });
      });
      call.on('error', () => {});
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  boxd = new Boxd({ token: 'jwt', baseURL: `http://127.0.0.1:${port}` });
});

after(() => {
  boxd.close();
  server.forceShutdown();
});

test('exec collects stdout and stderr apart, feeds stdin and reports the exit code', async () => {
  const result = await boxd.machines.exec('vm', { command: 'upper', stdin: 'abc\n' });
  assert.deepEqual(result, { exitCode: 5, success: false, stdout: 'ABC\n', stderr: 'seen\n' });
});

test('a clean end without an exit code is exit 0', async () => {
  assert.deepEqual(await boxd.machines.exec('vm', { command: 'quiet' }), { exitCode: 0, success: true, stdout: 'done', stderr: '' });
});

test('the first chunk carries the shell text, env and timeout', async () => {
  const result = await boxd.machines.exec('vm', { command: ['printf', 'a b'], cwd: 'my dir', env: { K: 'v' }, timeout: 2.5 });
  assert.equal(result.stdout, `cd -- 'my dir' || exit; printf 'a b'|{"K":"v"}|3`);
});

test('a streaming exec answers each line before stdin ends', async () => {
  const stream = boxd.machines.execStream('vm', { command: 'upper' });
  await stream.write('one\n');
  const seenOut = [];
  for await (const chunk of stream) {
    if (chunk.stream === 'stdout') {
      seenOut.push(chunk.data.toString());
      if (seenOut.length === 1) {
        await stream.write('two\n');
        await stream.end();
      }
    }
  }
  assert.deepEqual(seenOut, ['ONE\n', 'TWO\n']);
  assert.equal(await stream.exitCode, 5);
});

test('a failed exec throws the mapped error from the iteration and from exitCode', async () => {
  const stream = boxd.machines.execStream('nope', { command: 'missing' });
  await assert.rejects(async () => {
    for await (const _ of stream) { /* nothing comes */ }
  }, NotFoundError);
  await assert.rejects(stream.exitCode, (e) => e instanceof NotFoundError && e.message === "VM 'nope' not found");
});

test('leaving the iteration early cancels the command', async () => {
  const stream = boxd.machines.execStream('vm', { command: 'forever' });
  let received = 0;
  for await (const chunk of stream) {
    received += chunk.data.length;
    if (received > 100 * 1024) {
      break;
    }
  }
  await assert.rejects(stream.exitCode, (e) => e.codeName === 'CANCELLED');
  await cancelled; // the server saw the call end (the test times out otherwise)
});

test('an upload goes in 1 MiB chunks, the first naming the VM, path and mode', async () => {
  seen.uploads = [];
  const data = Buffer.alloc(2.5 * 1024 * 1024, 7);
  assert.deepEqual(await boxd.machines.files.upload('vm', 'f.bin', data, { mode: 0o600 }), { bytesWritten: data.length });
  const [chunks] = seen.uploads;
  assert.deepEqual(chunks.map((c) => c.data.length), [1048576, 1048576, 524288]);
  assert.deepEqual([chunks[0].vmId, chunks[0].path, chunks[0].mode], ['vm', 'f.bin', 0o600]);
  assert.equal(chunks[1].vmId, '');
  assert.equal(Buffer.concat(chunks.map((c) => c.data)).equals(data), true);
});

test('an upload the server refuses ends with its error instead of hanging', async () => {
  async function* endless() {
    for (;;) {
      yield Buffer.alloc(64 * 1024);
    }
  }
  await assert.rejects(boxd.machines.files.upload('vm', 'refused', endless()), (e) => e.codeName === 'PERMISSION_DENIED');
});

test('an empty upload still names the file', async () => {
  seen.uploads = [];
  assert.deepEqual(await boxd.machines.files.upload('vm', 'empty', ''), { bytesWritten: 0 });
  assert.equal(seen.uploads[0][0].path, 'empty');
});
