/**
 * `pnpm check:packages`: builds the public packages, packs each one as it would be published, and
 * checks the tarballs:
 *
 * - our own rules (packages.ts): what is in the tarball and what is not, source maps, `workspace:`
 *   ranges, the exports map as published, undeclared imports, the `ztap` binary;
 * - publint, strict (warnings fail too), on the tarball;
 * - Are The Types Wrong (`attw`) on the tarball, profile `esm-only`: the packages are ESM only, so
 *   the `node10` and `node16` from-CommonJS resolutions are not checked (a `require()` of an ES module
 *   is what they would report; Node >= 22.12, our `engines`, can do it for modules without top-level
 *   await, but attw's TypeScript 5.6 does not model that). `node16` from ESM and `bundler` must pass;
 * - the API report (api-report.ts): what each entry point of the tarball exports, and with which
 *   declarations, must equal `packages/<dir>/api-report.md`. An export nobody meant to add fails
 *   here. After a deliberate change: `pnpm check:packages --update`, then review the report's diff;
 * - unit tests import their package's source (`../src/…`), never the package by its own name: a test
 *   that goes through the exports map keeps an accidental export alive.
 *
 * Prints every file of every tarball with its size. Exits 1 if anything fails.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { apiReport } from './api-report.ts';
import {
  inspectPackage,
  kilobytes,
  type PackedPackage,
  packPackages,
  publicPackages,
  ROOT,
  rootLicense,
} from './packages.ts';

const run = promisify(execFile);
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);

/** Runs a checker; resolves with whether it passed and what it printed. */
async function check(file: string, args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const {
      stdout = '',
      stderr = '',
      message,
    } = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: stdout + stderr || message };
  }
}

function listing(packed: PackedPackage): string {
  const unpacked = packed.files.reduce((sum, file) => sum + file.size, 0);
  const lines = packed.files.map((file) => `    ${kilobytes(file.size).padStart(9)}  ${file.path}`);
  return [
    `${packed.manifest.name}@${packed.manifest.version}: ${packed.files.length} files, ` +
      `${kilobytes(packed.packedSize)} packed, ${kilobytes(unpacked)} unpacked`,
    ...lines,
  ].join('\n');
}

const update = process.argv.includes('--update');
const unknownArguments = process.argv.slice(2).filter((arg) => arg !== '--update');
if (unknownArguments.length > 0) {
  console.error(`check:packages: unknown argument ${unknownArguments[0]} (expected --update or nothing)`);
  process.exit(2);
}

/** Compares the tarball's API with the committed report (or rewrites the report with --update). */
async function checkApi(packed: PackedPackage): Promise<string | undefined> {
  const reportFile = join(packed.pkg.dir, 'api-report.md');
  const report = apiReport(packed.root, packed.manifest.name, packed.manifest.exports);
  if (update) {
    await writeFile(reportFile, report);
    return undefined;
  }
  const committed = await readFile(reportFile, 'utf8').catch(() => '');
  if (committed === report) return undefined;
  const before = new Set(committed.split('\n'));
  const after = new Set(report.split('\n'));
  const removed = [...before].filter((line) => line.startsWith('### ') && !after.has(line));
  const added = [...after].filter((line) => line.startsWith('### ') && !before.has(line));
  return [
    `the API differs from ${reportFile}:`,
    ...added.map((line) => `  + ${line.slice(4)}`),
    ...removed.map((line) => `  - ${line.slice(4)}`),
    '  (signatures may differ too.) If the change is meant: pnpm check:packages --update, and review the diff.',
  ].join('\n');
}

/** The test files of `pkg` that import it by its own name (or a subpath of it). */
async function selfImports(pkg: { readonly name: string; readonly dir: string }): Promise<string[]> {
  const tests = join(pkg.dir, 'test');
  const files = await readdir(tests, { recursive: true }).catch(() => [] as string[]);
  const own = new RegExp(`from '${pkg.name}(/[^']*)?'`);
  const found: string[] = [];
  for (const file of files.filter((name) => /\.[cm]?tsx?$/.test(name)).sort()) {
    if (own.test(await readFile(join(tests, file), 'utf8'))) found.push(relative(ROOT, join(tests, file)));
  }
  return found;
}

const packages = await publicPackages();
console.log(`== building ${packages.map((pkg) => pkg.name).join(', ')}`);
const build = await check(bin('tsc'), ['-b', ...packages.map((pkg) => pkg.dir)]);
if (!build.ok) {
  console.error(build.output);
  console.error('check:packages: the build failed');
  process.exit(1);
}

const work = await mkdtemp(join(tmpdir(), 'ztap-check-packages-'));
let failures = 0;
try {
  const packed = await packPackages(packages, work);
  const license = await rootLicense();
  for (const one of packed) {
    console.log(`\n== ${one.manifest.name}`);
    console.log(listing(one));
    const problems = [
      ...(await inspectPackage(one, license)),
      ...(await selfImports(one.pkg)).map(
        (file) => `${file} imports ${one.manifest.name} by name: unit tests import ../src/`,
      ),
    ];
    const publint = await check(bin('publint'), ['run', one.tarball, '--strict']);
    const attw = await check(bin('attw'), [one.tarball, '--profile', 'esm-only', '--format', 'ascii']);
    const api = await checkApi(one);
    console.log(
      problems.length === 0
        ? '  contents: ok'
        : problems.map((problem) => `  contents: ${problem}`).join('\n'),
    );
    console.log(`  publint --strict: ${publint.ok ? 'ok' : 'FAILED'}`);
    if (!publint.ok || /warning|error|suggestion/i.test(publint.output)) console.log(publint.output);
    console.log(`  attw --profile esm-only: ${attw.ok ? 'ok' : 'FAILED'}`);
    if (!attw.ok) console.log(attw.output);
    console.log(`  API report: ${update ? 'written' : api === undefined ? 'ok' : 'FAILED'}`);
    if (api !== undefined) console.log(`  ${api}`);
    if (problems.length > 0 || !publint.ok || !attw.ok || api !== undefined) failures++;
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`\ncheck:packages: ${failures} of ${packages.length} packages failed`);
  process.exit(1);
}
console.log(`\ncheck:packages: ${packages.length} packages ok`);
