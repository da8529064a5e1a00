/**
 * Builds the API reference, `docs/api/`, from the JSDoc of every public package (every
 * `packages/<name>/package.json` without `"private": true`):
 *
 * 1. builds them with the workspace's compiler (`tsc -b`: the packages' tsconfigs reference each
 *    other, so TypeDoc reads a package's dependencies from their declarations);
 * 2. runs TypeDoc once per package (its `src/index.ts`, its tsconfig, its README), into JSON;
 * 3. merges those into one site whose front page is this package's README.
 *
 * TypeDoc needs TypeScript 5's compiler API, which TypeScript 7 does not have: this package pins
 * TypeScript 5.9 for TypeDoc alone; the workspace keeps TypeScript 7. Every TypeDoc warning fails the
 * build (a type the public API uses but the package does not export, a broken `{@link}`, ...).
 *
 *   pnpm docs:api      (from the root)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const typedoc = fileURLToPath(new URL('node_modules/typedoc/bin/typedoc', import.meta.url));
const tsc = join(root, 'node_modules/.bin/tsc');
const out = join(root, 'docs/api');
const sourceLinkTemplate = 'https://github.com/ztap/cluster/blob/{gitRevision}/{path}#L{line}';

/**
 * Types the public API refers to but its package does not export (so users can name them only
 * through the member that uses them). Empty: every such type is exported. TypeDoc fails when an entry
 * here is exported or no longer referenced, so this list cannot go stale.
 */
const NOT_EXPORTED: Readonly<Record<string, readonly string[]>> = {};

interface PublicPackage {
  readonly name: string;
  readonly dir: string;
  /** The source of each entry point of its exports map (the `@ztap/source` condition). */
  readonly entryPoints: readonly string[];
}

/** `./src/index.ts` and the like, from an exports map's `@ztap/source` conditions. */
function sourceEntryPoints(dir: string, exports: unknown): string[] {
  if (typeof exports !== 'object' || exports === null) return [join(dir, 'src/index.ts')];
  return Object.values(exports)
    .map((target) => (target as { '@ztap/source'?: unknown })['@ztap/source'])
    .filter((source): source is string => typeof source === 'string')
    .map((source) => join(dir, source));
}

async function publicPackages(): Promise<PublicPackage[]> {
  const found: PublicPackage[] = [];
  for (const entry of (await readdir(join(root, 'packages'))).sort()) {
    const dir = join(root, 'packages', entry);
    let manifest: { name: string; private?: boolean; exports?: unknown };
    try {
      manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!manifest.private)
      found.push({ name: manifest.name, dir, entryPoints: sourceEntryPoints(dir, manifest.exports) });
  }
  return found;
}

/** Runs a command, passing its output through; resolves with whether it succeeded. */
async function step(what: string, file: string, args: readonly string[]): Promise<boolean> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    return true;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    console.error(`docs:api: ${what} failed`);
    return false;
  }
}

const packages = await publicPackages();
const unknown = Object.keys(NOT_EXPORTED).filter((name) => !packages.some((p) => p.name === name));
if (unknown.length > 0) {
  console.error(`docs:api: NOT_EXPORTED names packages that are not public: ${unknown.join(', ')}`);
  process.exit(1);
}
if (!(await step('tsc -b', tsc, ['-b', ...packages.map((p) => p.dir)]))) process.exit(1);

const work = await mkdtemp(join(tmpdir(), 'ztap-typedoc-'));
let ok = false;
try {
  const converted = await Promise.all(
    packages.map((p) =>
      step(`TypeDoc for ${p.name}`, process.execPath, [
        typedoc,
        ...p.entryPoints.flatMap((entryPoint) => ['--entryPoints', entryPoint]),
        ...['--tsconfig', join(p.dir, 'tsconfig.json')],
        ...['--name', p.name, '--readme', join(p.dir, 'README.md'), '--includeVersion'],
        ...(NOT_EXPORTED[p.name] ?? []).flatMap((symbol) => ['--intentionallyNotExported', symbol]),
        ...['--sourceLinkTemplate', sourceLinkTemplate],
        ...['--treatWarningsAsErrors', '--logLevel', 'Warn'],
        ...['--json', join(work, `${p.name.replace('/', '__')}.json`)],
      ]),
    ),
  );
  if (converted.every(Boolean)) {
    await rm(out, { recursive: true, force: true });
    ok = await step('TypeDoc merge', process.execPath, [
      typedoc,
      ...['--entryPointStrategy', 'merge', '--entryPoints', join(work, '*.json')],
      ...['--name', 'ZTAP cluster', '--readme', fileURLToPath(new URL('README.md', import.meta.url))],
      ...['--treatWarningsAsErrors', '--out', out],
    ]);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
if (!ok) process.exit(1);
console.log(`API reference of ${packages.map((p) => p.name).join(', ')}: ${join(out, 'index.html')}`);
