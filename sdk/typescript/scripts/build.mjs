// npm run build: copies the wire contract into the package, generates its TypeScript types and
// compiles src/ into dist/. Generated files are build output, never committed: the proto in the
// repository is the one source of truth.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const relativeProto = join('boxd', 'api', 'v1', 'boxd.proto');
const source = join(root, '..', '..', 'proto', 'src', 'main', 'proto', relativeProto);
const packaged = join(root, 'proto', relativeProto);

// In the repository the proto comes from the proto module; a packed tarball already holds its copy.
if (existsSync(source)) {
  mkdirSync(dirname(packaged), { recursive: true });
  copyFileSync(source, packaged);
} else if (!existsSync(packaged)) {
  throw new Error(`boxd.proto not found at ${source} nor ${packaged}: build from a boxd checkout`);
}

const require = createRequire(import.meta.url);
const run = (script, args) => execFileSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'src', 'generated'), { recursive: true, force: true });
rmSync(join(root, 'dist'), { recursive: true, force: true });
// These options must match the loader's in src/internal/grpc.ts, or the types lie about the runtime objects.
run(require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js'), [
  '--grpcLib=@grpc/grpc-js', '--longs=Number', '--enums=String', '--defaults', '--oneofs',
  relativeProto, '--importFileExtension=.js', '--outDir=src/generated', '--includeDirs=proto',
]);
run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json']);
