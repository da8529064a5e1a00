/**
 * Command lines, generated: every usage error (unknown command or option, missing or extra argument,
 * invalid id, address, metadata, duration, cluster, prefix, endpoint, policy name, version, TLS or user
 * flags) ends with exit code 2 and exactly one line on stderr, "ztap: ...", before any request to etcd.
 * Arbitrary mixes of valid and invalid arguments end with 0, 1 (etcd unreachable) or 2, one line each.
 */
import { PassThrough } from 'node:stream';
import { validateAddress, validateNodeId, validatePolicyName } from '@ztap/cluster';
import type { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProgram, main } from '../src/index.ts';
import type { CliIO } from '../src/io.ts';

/** Nothing answers on port 1: if a generated command line does reach "etcd", it fails fast and says so. */
const UNREACHABLE = 'http://127.0.0.1:1';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ztap <argv>` in-process with its own environment (no password variables, etcd unreachable). */
async function ztap(argv: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const err = new PassThrough().on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const io: CliIO = {
    stdout: out,
    stderr: err,
    env: { ZTAP_ETCD_ENDPOINTS: UNREACHABLE },
    onShutdown: () => () => {},
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** The promise of docs/cli.md: one line on stderr, starting "ztap: ". */
function expectOneErrorLine(run: Run): void {
  expect(run.stderr).toMatch(/^ztap: [^\n]+\n$/);
}

/** Every long option any command knows, e.g. `--endpoints`, `--meta`, `--no-existing`. */
function knownOptions(): Set<string> {
  const io: CliIO = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    env: {},
    onShutdown: () => () => {},
  };
  const names = new Set<string>();
  const visit = (command: Command) => {
    for (const option of command.options) if (option.long) names.add(option.long);
    for (const sub of command.commands) visit(sub);
  };
  visit(createProgram(io));
  return names.add('--help');
}
const KNOWN_OPTIONS = knownOptions();

const isValid = (validate: () => unknown) => {
  try {
    validate();
    return true;
  } catch {
    return false;
  }
};

/**
 * Text for a value slot (an id, an address, a file...): never starting with "-", so it cannot turn
 * into an option (`-h` would print help and exit 0; `-` as a file would read standard input).
 */
const value = fc
  .oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('a', '0', '/', ':', '=', ' ', '\n', '\u0000', '.', '[', ']', '😀') }),
  )
  .filter((text) => !text.startsWith('-'));

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const validId = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const validAddress = fc.constantFrom('10.0.0.7:9090', 'node-1.internal:9090', '[::1]:9090');
const nonexistentFile = word.map((name) => `/nonexistent/${name}.pem`);

/** A duration `parseDuration` refuses: not `<number><ms|s|m|h>…` (a bare number has no unit), or zero. */
const badDuration = fc.oneof(
  value.filter((text) => !/^\s*(?:\d+(?:\.\d+)?(?:ms|s|m|h))+\s*$/.test(text)),
  fc.integer({ min: 1, max: 100_000 }).map(String),
  fc.constantFrom('0', '0s', '0ms', '0.0m', '5', '1.5'),
);

/** Command lines that are wrong before any request is made, each with what makes it wrong. */
const usageError: fc.Arbitrary<string[]> = fc.oneof(
  // unknown options and commands
  word.filter((name) => !KNOWN_OPTIONS.has(`--${name}`)).map((name) => [`--${name}`, 'cluster', 'list']),
  word.filter((name) => !KNOWN_OPTIONS.has(`--${name}`)).map((name) => ['cluster', 'list', `--${name}`]),
  word.filter((name) => !['cluster', 'policy', 'agent', 'run', 'help'].includes(name)).map((name) => [name]),
  word
    .filter((name) => !['status', 'list', 'join', 'leave', 'watch', 'help'].includes(name))
    .map((name) => ['cluster', name]),
  // missing and extra arguments
  fc.constantFrom<string[]>(
    ['cluster', 'join'],
    ['cluster', 'leave'],
    ['policy', 'push', 'web'],
    ['policy', 'get'],
  ),
  fc
    .tuple(fc.constantFrom<string[]>(['cluster', 'status'], ['cluster', 'list'], ['policy', 'list']), value)
    .map(([command, extra]) => [...command, extra]),
  // invalid ids, addresses and metadata
  fc
    .tuple(
      value.filter((id) => !isValid(() => validateNodeId(id))),
      validAddress,
    )
    .map(([id, address]) => ['cluster', 'join', id, address]),
  fc
    .tuple(
      validId,
      value.filter((address) => !isValid(() => validateAddress(address))),
    )
    .map(([id, address]) => ['cluster', 'join', id, address]),
  fc
    .tuple(
      validId,
      validAddress,
      fc.oneof(
        value.filter((pair) => !pair.includes('=')),
        value.map((rest) => `=${rest}`),
        value.map((rest) => `bad\u0001key=${rest}`),
      ),
    )
    .map(([id, address, pair]) => ['cluster', 'join', id, address, '--meta', pair]),
  value.filter((id) => !isValid(() => validateNodeId(id))).map((id) => ['cluster', 'leave', id]),
  // invalid durations
  badDuration.map((duration) => ['--timeout', duration, 'cluster', 'list']),
  fc
    .tuple(fc.constantFrom('--heartbeat', '--election-timeout', '--initial-leadership'), badDuration)
    .filter(([option, duration]) => !(option === '--initial-leadership' && /^0/.test(duration)))
    .map(([option, duration]) => ['agent', '--id', 'n1', '--address', '127.0.0.1:1', option, duration]),
  // invalid node flags for agent
  value
    .filter((id) => !isValid(() => validateNodeId(id)))
    .map((id) => ['agent', '--id', id, '--address', '127.0.0.1:1']),
  value
    .filter((address) => !isValid(() => validateAddress(address)))
    .map((address) => ['agent', '--id', 'n1', '--address', address]),
  value
    .filter((listen) => !/^\s*(?:.+:)?\d{1,5}\s*$/.test(listen))
    .map((listen) => ['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--listen', listen]),
  // where etcd is, and how to reach it
  value
    .filter((name) => !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name))
    .map((name) => ['--cluster', name, 'cluster', 'list']),
  fc.constantFrom('/', '/a\u0000b/', '/x\n').map((prefix) => ['--prefix', prefix, 'cluster', 'list']),
  fc
    .oneof(
      fc
        .tuple(fc.constantFrom('ftp', 'unix', 'grpc', 'ws'), fc.domain())
        .map(([scheme, h]) => `${scheme}://${h}:2379`),
      fc.domain(),
      fc.domain().map((h) => `http://${h}`),
      fc.constantFrom(',', ' , ', 'http://[', 'http://:2379'),
    )
    .map((endpoints) => ['--endpoints', endpoints, 'cluster', 'list']),
  fc
    .tuple(fc.constantFrom('--cert', '--key'), nonexistentFile)
    .map(([option, file]) => [option, file, 'cluster', 'list']),
  nonexistentFile.map((file) => ['--cacert', file, 'cluster', 'list']),
  word.map((user) => ['--user', user, 'cluster', 'list']),
  fc.tuple(value, value).map(([user, password]) => ['--user', `${user}:${password}`, 'cluster', 'list']),
  value.filter((prefix) => !prefix.startsWith('/')).map((prefix) => ['--prefix', prefix, 'cluster', 'list']),
  fc.constant<string[]>(['--cluster', 'c1', '--prefix', '/apps/c1/', 'cluster', 'list']),
  fc
    .tuple(fc.constantFrom('/v3', '/x/', '//', '?x=1'), fc.constantFrom('http://127.0.0.1:1', '127.0.0.1:1'))
    .map(([path, endpoint]) => ['--endpoints', `${endpoint}${path}`, 'cluster', 'list']),
  // output formats
  value
    .filter((format) => !['json', 'yaml', 'table'].includes(format))
    .map((format) => ['-o', format, 'cluster', 'list']),
  fc.constantFrom('yaml', 'table').map((format) => ['cluster', 'list', '--json', '-o', format]),
  // policies
  value
    .filter((name) => !isValid(() => validatePolicyName(name)))
    .map((name) => ['policy', 'push', name, '/nonexistent/policy.yaml']),
  fc.constant<string[]>(['policy', 'push', 'web', '/nonexistent/policy.yaml']),
  value
    .filter((version) => !/^\d+$/.test(version))
    .map((version) => ['policy', 'delete', 'web', '--if-version', version]),
);

describe('a password in --user', () => {
  it('is refused, and never repeated, whatever surrounds it', async () => {
    const password = fc.stringMatching(/^[A-Za-z0-9!@#%^&*]{6,16}$/).map((text) => `Pw-${text}`);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(['cluster', 'list'], ['cluster', 'join', 'n1', '10.0.0.1:1'], ['policy', 'list']),
        fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
        password,
        fc.subarray(['--json', '-o', 'yaml', '--timeout', '200ms']),
        async (command, user, secret, extra) => {
          const run = await ztap([...command, '--user', `${user}:${secret}`, ...extra]);
          expect(run.code).toBe(2);
          expectOneErrorLine(run);
          expect(run.stdout + run.stderr).not.toContain(secret);
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** Valid global flags that change nothing about the error; put first, so the error's flag wins. */
const harmlessPrefix = fc
  .subarray([['--json'], ['--no-color'], ['--cluster', 'c1'], ['--timeout', '200ms']])
  .map((flags) => flags.flat());

describe('usage errors', () => {
  it('end with exit code 2, nothing on stdout and one "ztap: " line on stderr', async () => {
    await fc.assert(
      fc.asyncProperty(harmlessPrefix, usageError, async (prefix, argv) => {
        const run = await ztap([...prefix, ...argv]);
        expect(run.code).toBe(2);
        expect(run.stdout).toBe('');
        expectOneErrorLine(run);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Tokens of every kind for the free-form command lines: flags, values, junk. Loopback endpoints only. */
const token = fc.oneof(
  fc.constantFrom(
    '--json',
    '--no-color',
    '--meta',
    'zone=eu-1',
    '=v',
    'novalue',
    '--if-version',
    '12',
    '--timeout',
    '200ms',
    'soon',
    '--endpoints',
    '127.0.0.1:1',
    'ftp://127.0.0.1:1',
    '--cluster',
    'bad name',
    '--prefix',
    '/',
    '--user',
    'bob',
    '--cert',
    '--key',
    '--cacert',
    '/nonexistent/x.pem',
    'n1',
    'a/b',
    '127.0.0.1:1',
    '127.0.0.1',
    '[::1]:1',
    '--frobnicate',
    '-x',
    '--',
    '',
  ),
  // Without ":" a junk value cannot name a host and port: every endpoint stays on loopback.
  value.filter((text) => !text.includes(':')),
);
const command = fc.constantFrom(
  ['cluster', 'status'],
  ['cluster', 'list'],
  ['cluster', 'join'],
  ['cluster', 'leave'],
  ['cluster', 'watch', '--no-existing'],
  ['policy', 'push'],
  ['policy', 'get'],
  ['policy', 'list'],
  ['policy', 'delete'],
  ['cluster', 'bogus'],
  ['bogus'],
);

describe('any command line', () => {
  it('ends with 0, 1 (etcd unreachable, named) or 2, and every failure is one "ztap: " line', async () => {
    await fc.assert(
      fc.asyncProperty(command, fc.array(token, { maxLength: 6 }), async (path, rest) => {
        const run = await ztap(['--timeout', '200ms', ...path, ...rest]);
        expect([0, 1, 2]).toContain(run.code);
        if (run.code === 0) {
          expect(run.stderr).toBe('');
          return;
        }
        expectOneErrorLine(run);
        // The only operational failure possible here: etcd cannot be reached (refused, or not within
        // --timeout on a busy machine), and the line says where.
        if (run.code === 1)
          expect(run.stderr).toMatch(
            /^ztap: etcd at http:\/\/(127\.0\.0\.1|\[::1\]):1 (is unreachable|did not answer within 200ms)/,
          );
      }),
      { numRuns: 150 },
    );
  });
});

/**
 * Found by the properties above, pinned by the smallest counterexample (reported, not fixed here:
 * library code). Expected to fail until fixed; then the generators may produce these command lines.
 */
describe('defects the properties found (fixed; kept as regression tests)', () => {
  it('a command group without its subcommand ("ztap cluster") exits 2 with one line naming the subcommands', async () => {
    const run = await ztap(['cluster']);
    expect(run.code).toBe(2);
    expectOneErrorLine(run);
    expect(run.stderr).toContain('ztap cluster needs a command: status, list, join, leave, transfer, watch');
  });

  it('an absurd --timeout is rejected as a usage error', async () => {
    // Against a running etcd, `--timeout 100000000h` ends in "unreachable (13 INTERNAL: Received
    // RST_STREAM with code 1)" and larger values add Node's TimeoutNaNWarning lines to stderr.
    const run = await ztap(['--timeout', '100000000h', 'cluster', 'list']);
    expect(run.code).toBe(2);
  });
});
