/**
 * The public packages as npm users get them: packed by pnpm (which rewrites `workspace:` ranges and
 * applies `publishConfig`), unpacked, and checked file by file. Shared by `pnpm check:packages`
 * (check-packages.ts) and the consumer test.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The workspace root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A minimal view of a package.json. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly [field: string]: unknown;
}

/** A package that is published: `packages/<dir>` without `"private": true`. */
export interface PublicPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the package folder. */
  readonly dir: string;
  readonly manifest: Manifest;
}

/** One packed package, unpacked for inspection. */
export interface PackedPackage {
  readonly pkg: PublicPackage;
  /** Absolute path of the `.tgz`. */
  readonly tarball: string;
  /** Size of the `.tgz` in bytes. */
  readonly packedSize: number;
  /** Where the tarball was unpacked (its `package/` folder). */
  readonly root: string;
  /** Every file in the tarball, relative to `package/`, with its size and mode, sorted by path. */
  readonly files: readonly { readonly path: string; readonly size: number; readonly mode: number }[];
  /** The package.json inside the tarball (what npm users get). */
  readonly manifest: Manifest;
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Every public workspace package, sorted by folder. */
export async function publicPackages(): Promise<PublicPackage[]> {
  const found: PublicPackage[] = [];
  for (const entry of (await readdir(join(ROOT, 'packages'))).sort()) {
    const dir = join(ROOT, 'packages', entry);
    let manifest: Manifest;
    try {
      manifest = await readJson<Manifest>(join(dir, 'package.json'));
    } catch {
      continue;
    }
    if (!manifest.private) found.push({ name: manifest.name, version: manifest.version, dir, manifest });
  }
  return found;
}

/** Fails with a hint when a package has not been built (the tarball would lack `dist/`). */
export async function assertBuilt(packages: readonly PublicPackage[]): Promise<void> {
  for (const pkg of packages) {
    try {
      await stat(join(pkg.dir, 'dist/index.js'));
    } catch {
      throw new Error(`${pkg.name} is not built (no dist/index.js): run \`pnpm build\` first`);
    }
  }
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path, base)));
    else files.push(relative(base, path).split('\\').join('/'));
  }
  return files;
}

/** `pnpm pack`s one package into `destination` and unpacks it next to the tarball. */
export async function packPackage(pkg: PublicPackage, destination: string): Promise<PackedPackage> {
  await mkdir(destination, { recursive: true });
  const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', destination], {
    cwd: pkg.dir,
    timeout: 60_000,
  });
  const tarball = (JSON.parse(stdout) as { filename: string }).filename;
  const unpacked = join(destination, basename(tarball, '.tgz'));
  await mkdir(unpacked, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', unpacked], { timeout: 30_000 });
  const root = join(unpacked, 'package');
  const files = await Promise.all(
    (await walk(root)).sort().map(async (path) => {
      const info = await stat(join(root, path));
      return { path, size: info.size, mode: info.mode & 0o777 };
    }),
  );
  return {
    pkg,
    tarball,
    packedSize: (await stat(tarball)).size,
    root,
    files,
    manifest: await readJson<Manifest>(join(root, 'package.json')),
  };
}

/** Packs every package (in parallel) into `destination`. */
export function packPackages(
  packages: readonly PublicPackage[],
  destination: string,
): Promise<PackedPackage[]> {
  return Promise.all(packages.map((pkg) => packPackage(pkg, destination)));
}

/** What a tarball may contain: the build, the sources its maps point to, and the package's papers. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^dist\/(?:[\w-]+\/)*[\w-]+\.(?:js|js\.map|d\.ts|d\.ts\.map)$/,
  /^src\/(?:[\w-]+\/)*[\w-]+\.ts$/,
  // The dashboard's page: static files its handler serves, flat in web/.
  /^web\/[\w-]+\.(?:html|css|js)$/,
];
const TEST_FILE = /(?:^|\/)(?:test|tests|__tests__|fixtures)\/|\.(?:test|spec)\.[jt]s$/;
const SECRET =
  /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----|\/\/registry\.npmjs\.org\/:_authToken|npm_[A-Za-z0-9]{36}/;
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'];
/**
 * Specifiers in `import ... from '...'`, `import '...'`, `export ... from '...'` and `import('...')`;
 * not the string `'from'` itself (a query parameter's name, say).
 */
const SPECIFIER = /(?:(?<!['"\w$.])from\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
/** Block comments and whole-line comments, which JSDoc prose like `from "x"` must not count as imports. */
const COMMENTS = /\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm;

/** The exports map as published: the workspace's, without the `@ztap/source` condition. */
export function publishedExports(exports: unknown): unknown {
  if (typeof exports !== 'object' || exports === null) return exports;
  return Object.fromEntries(
    Object.entries(exports)
      .filter(([key]) => key !== '@ztap/source')
      .map(([key, value]) => [key, publishedExports(value)]),
  );
}

/** Every path an exports map can resolve to. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (typeof exports !== 'object' || exports === null) return [];
  return Object.values(exports).flatMap(exportTargets);
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Everything wrong with a packed package, as one line each (empty when it is fine): files a user
 * should not get or would miss, source maps pointing at missing files, a build older than its
 * sources, `workspace:` ranges, the workspace-only export condition, imports of undeclared packages.
 */
export async function inspectPackage(packed: PackedPackage, rootLicense: string): Promise<string[]> {
  const problems: string[] = [];
  const { manifest, files, root } = packed;
  const paths = new Set(files.map((file) => file.path));
  const text = (path: string) => readFile(join(root, path), 'utf8');

  // The manifest.
  for (const field of DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
      if (/^(?:workspace|catalog|link|file):/.test(range)) problems.push(`${field}.${dep} is "${range}"`);
    }
  }
  if (JSON.stringify(manifest.exports).includes('@ztap/source')) {
    problems.push('exports still has the workspace-only "@ztap/source" condition');
  }
  const expected = publishedExports(packed.pkg.manifest.exports);
  if (JSON.stringify(manifest.exports) !== JSON.stringify(expected)) {
    problems.push(
      `published exports ${JSON.stringify(manifest.exports)} differ from the workspace's without "@ztap/source" ` +
        `${JSON.stringify(expected)}: update publishConfig.exports`,
    );
  }
  if ('main' in manifest) problems.push('has "main": ESM-only packages resolve through "exports"');
  if (manifest.type !== 'module') problems.push('"type" is not "module"');
  for (const field of ['description', 'license', 'repository', 'engines', 'keywords']) {
    if (!(field in manifest)) problems.push(`package.json has no "${field}"`);
  }
  if ((manifest.publishConfig as { access?: string } | undefined)?.access !== 'public') {
    problems.push('publishConfig.access is not "public" (a scoped package would be published restricted)');
  }
  for (const target of [...exportTargets(manifest.exports), manifest.types].filter(Boolean) as string[]) {
    if (!paths.has(posix.normalize(target)))
      problems.push(`exports/types target ${target} is not in the tarball`);
  }

  // The files.
  for (const { path } of files) {
    if (!ALLOWED.some((pattern) => pattern.test(path))) problems.push(`unexpected file ${path}`);
    if (TEST_FILE.test(path)) problems.push(`test file ${path}`);
  }
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
    if (!paths.has(required)) problems.push(`${required} is missing`);
  }
  if (paths.has('LICENSE') && (await text('LICENSE')) !== rootLicense) {
    problems.push("LICENSE differs from the repository's");
  }
  for (const { path } of files) {
    const source = /^src\/(.+)\.ts$/.exec(path);
    const built = /^dist\/(.+)\.js$/.exec(path);
    if (source && !paths.has(`dist/${source[1]}.js`)) problems.push(`${path} has no dist/${source[1]}.js`);
    if (source && !paths.has(`dist/${source[1]}.d.ts`))
      problems.push(`${path} has no dist/${source[1]}.d.ts`);
    if (built && !paths.has(`src/${built[1]}.ts`))
      problems.push(`${path} is stale: src/${built[1]}.ts is gone`);
  }

  // The contents.
  const declared = new Set(
    ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) =>
      Object.keys((manifest[field] ?? {}) as Record<string, string>),
    ),
  );
  for (const { path } of files) {
    const content = await text(path);
    if (SECRET.test(content)) problems.push(`${path} looks like it holds a secret`);
    if (path.endsWith('.map')) {
      const map = JSON.parse(content) as { sources?: string[] };
      for (const source of map.sources ?? []) {
        const target = posix.join(posix.dirname(path), source);
        if (!paths.has(target)) problems.push(`${path} maps to ${target}, which is not in the tarball`);
      }
    }
    if (/^dist\/.+\.(?:js|d\.ts)$/.test(path)) {
      const mapUrl = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(content)?.[1];
      if (mapUrl && !paths.has(posix.join(posix.dirname(path), mapUrl))) {
        problems.push(`${path} names a source map ${mapUrl} that is not in the tarball`);
      }
      for (const [, specifier] of content.replace(COMMENTS, '').matchAll(SPECIFIER)) {
        if (!specifier) continue;
        if (specifier.startsWith('.')) {
          const target = posix.join(posix.dirname(path), specifier);
          // Declarations keep the sources' `.ts` specifiers; TypeScript resolves them to `.d.ts`.
          const candidates = path.endsWith('.d.ts')
            ? [target.replace(/\.(?:ts|js)$/, '.d.ts'), target]
            : [target];
          if (!candidates.some((candidate) => paths.has(candidate))) {
            problems.push(`${path} imports ${specifier}, which is not in the tarball`);
          }
        } else {
          const name = packageOf(specifier);
          if (name && name !== manifest.name && !declared.has(name)) {
            problems.push(`${path} imports ${specifier}, but ${name} is not a dependency or peer dependency`);
          }
        }
      }
    }
  }
  for (const [command, target] of Object.entries((manifest.bin ?? {}) as Record<string, string>)) {
    const file = files.find((entry) => entry.path === posix.normalize(target));
    if (!file) {
      problems.push(`bin ${command} → ${target} is not in the tarball`);
      continue;
    }
    if (!(await text(file.path)).startsWith('#!/usr/bin/env node\n')) {
      problems.push(`bin ${command} → ${target} does not start with #!/usr/bin/env node`);
    }
    if ((file.mode & 0o111) === 0) problems.push(`bin ${command} → ${target} is not executable`);
  }
  return problems;
}

/** The repository's LICENSE, which every package must carry unchanged. */
export function rootLicense(): Promise<string> {
  return readFile(join(ROOT, 'LICENSE'), 'utf8');
}

/** `12345` → `12.1 kB`. */
export function kilobytes(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}
