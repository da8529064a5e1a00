import { NodeIdInUseError, NodeNotFoundError, ValidationError } from '@ztap/cluster';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseListen } from '../src/commands/agent.ts';
import { childEnvironment } from '../src/commands/run.ts';
import { ago, table } from '../src/format.ts';
import {
  CliFailure,
  connectionFrom,
  describeFailure,
  EXIT,
  type GlobalOptions,
  isCliFailure,
  isUsageError,
  parseDuration,
  parseMetadata,
  UsageError,
} from '../src/index.ts';
import type { CliIO } from '../src/io.ts';
import { outputFormat } from '../src/output.ts';
import { ENVIRONMENT } from '../src/settings.ts';

type Connection = ReturnType<typeof connectionFrom>;

const io = (env: Record<string, string> = {}): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env,
  onShutdown: () => () => {},
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h0m0.5s', 3_600_500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--timeout')).toBe(ms));

  it.each(['5', '250', '1.5', ' 5 '])(
    'refuses the bare number %j, asking for a unit as etcdctl does',
    (text) => {
      expect(() => parseDuration(text, '--timeout')).toThrow(
        `--timeout must have a unit, e.g. 5s or 500ms (got ${JSON.stringify(text)})`,
      );
    },
  );

  it.each(['', 'soon', '5 s', '-1s', '0s', '5sec', '1s1', 's'])('rejects %j, naming the option', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(UsageError);
    expect(() => parseDuration(text, '--grace')).toThrow(/^--grace must be/);
  });

  it('allows zero, with or without a unit, where zero means "at once"', () => {
    expect(parseDuration('0', '--initial-leadership', { allowZero: true })).toBe(0);
    expect(parseDuration('0s', '--initial-leadership', { allowZero: true })).toBe(0);
    expect(() => parseDuration('0', '--heartbeat')).toThrow('--heartbeat must be more than zero');
  });
});

describe('--meta', () => {
  it('collects key=value pairs, values may contain "="', () => {
    expect(parseMetadata(['zone=eu-1', 'expr=a=b', 'empty='])).toEqual({
      zone: 'eu-1',
      expr: 'a=b',
      empty: '',
    });
  });
  it.each(['novalue', '=value'])('rejects %j', (pair) => {
    expect(() => parseMetadata([pair])).toThrow('--meta must be key=value');
  });
});

describe('connection options', () => {
  it('defaults like etcdctl and accepts host:port endpoints', () => {
    expect(connectionFrom({}, io())).toMatchObject({
      endpoints: ['http://127.0.0.1:2379'],
      requestTimeout: 5000,
    });
    expect(connectionFrom({ endpoints: '10.0.0.1:2379, 10.0.0.2:2379' }, io()).endpoints).toEqual([
      'http://10.0.0.1:2379',
      'http://10.0.0.2:2379',
    ]);
  });

  it('drops a trailing slash, and refuses any other path naming where the endpoint came from', () => {
    expect(connectionFrom({ endpoints: 'http://10.0.0.1:2379/,10.0.0.2:2379/' }, io()).endpoints).toEqual([
      'http://10.0.0.1:2379',
      'http://10.0.0.2:2379',
    ]);
    expect(() => connectionFrom({}, io({ ETCDCTL_ENDPOINTS: 'http://10.0.0.1:2379/v3' }))).toThrow(
      'ETCDCTL_ENDPOINTS must be scheme://host:port, without a path (got "http://10.0.0.1:2379/v3")',
    );
    expect(() => connectionFrom({ endpoints: 'ftp://10.0.0.1:2379' }, io())).toThrow(UsageError);
  });

  // flag > ZTAP_* > ETCDCTL_* > default, for every connection setting (docs/cli.md has the table).
  it.each([
    ['endpoints', 'http://flag:1', 'http://ztap:1', 'http://etcdctl:1', (c: Connection) => c.endpoints?.[0]],
    ['timeout', '1s', '2s', '3s', (c: Connection) => c.requestTimeout],
    ['user', 'flag-user', 'ztap-user', 'etcdctl-user', (c: Connection) => c.auth?.username],
  ] as const)('--%s: the flag, else ZTAP_*, else ETCDCTL_*', (name, flag, ztap, etcdctl, read) => {
    const [ztapVariable, etcdctlVariable] = ENVIRONMENT[name];
    const env = { [ztapVariable]: ztap, [etcdctlVariable]: etcdctl, ZTAP_ETCD_PASSWORD: 'pw' };
    const fromFlag = connectionFrom({ [name]: flag }, io(env));
    const fromZtap = connectionFrom({}, io(env));
    const fromEtcdctl = connectionFrom({}, io({ [etcdctlVariable]: etcdctl, ZTAP_ETCD_PASSWORD: 'pw' }));
    const expected = (text: string) => (name === 'timeout' ? parseDuration(text, name) : text);
    expect([read(fromFlag), read(fromZtap), read(fromEtcdctl)]).toEqual([
      expected(flag),
      expected(ztap),
      expected(etcdctl),
    ]);
  });

  it.each(['cacert', 'cert', 'key'] as const)(
    'the %s file: the flag, else ZTAP_*, else ETCDCTL_*',
    (name) => {
      const [ztapVariable, etcdctlVariable] = ENVIRONMENT[name];
      const missing = (where: string) => `/nonexistent/${where}.pem`;
      // A certificate needs its key and the other way round: the partner is a file that can be read.
      const readable = new URL(import.meta.url).pathname;
      const partner = name === 'cert' ? { key: readable } : name === 'key' ? { cert: readable } : {};
      const read = (options: GlobalOptions, env: Record<string, string>) => {
        try {
          connectionFrom({ ...options, ...partner }, io(env));
        } catch (error) {
          return (error as Error).message;
        }
        return 'read';
      };
      const env = { [ztapVariable]: missing('ztap'), [etcdctlVariable]: missing('etcdctl') };
      expect(read({ [name]: missing('flag') }, env)).toMatch(`cannot read --${name} ${missing('flag')}`);
      expect(read({}, env)).toMatch(`cannot read ${ztapVariable} ${missing('ztap')}`);
      expect(read({}, { [etcdctlVariable]: missing('etcdctl') })).toMatch(
        `cannot read ${etcdctlVariable} ${missing('etcdctl')}`,
      );
    },
  );

  it('an empty variable counts as unset', () => {
    const env = { ZTAP_ETCD_ENDPOINTS: '', ETCDCTL_ENDPOINTS: 'http://etcdctl:1' };
    expect(connectionFrom({}, io(env)).endpoints).toEqual(['http://etcdctl:1']);
  });

  it('names the variable a bad value came from', () => {
    expect(() => connectionFrom({}, io({ ETCDCTL_COMMAND_TIMEOUT: '5' }))).toThrow(
      'ETCDCTL_COMMAND_TIMEOUT must have a unit, e.g. 5s or 500ms (got "5")',
    );
    expect(() => connectionFrom({}, io({ ZTAP_PREFIX: 'apps/x/' }))).toThrow(
      'ZTAP_PREFIX must start with "/", e.g. /apps/payments/ (got "apps/x/")',
    );
  });

  it('turns on TLS (https) when a CA is given, and reads the files', () => {
    const connection = connectionFrom(
      { endpoints: 'etcd:2379', cacert: new URL(import.meta.url).pathname },
      io(),
    );
    expect(connection.endpoints).toEqual(['https://etcd:2379']);
    expect(connection.tls?.ca).toBeInstanceOf(Buffer);
    expect(() => connectionFrom({}, io({ ETCDCTL_CERT: '/x.pem' }))).toThrow(
      'ETCDCTL_CERT needs --key too (client-certificate authentication needs a certificate and its key)',
    );
  });
});

describe('credentials', () => {
  it('take the password from ZTAP_ETCD_PASSWORD, else ETCDCTL_PASSWORD', () => {
    expect(connectionFrom({ user: 'bob' }, io({ ZTAP_ETCD_PASSWORD: 's3cret' })).auth).toEqual({
      username: 'bob',
      password: 's3cret',
    });
    expect(
      connectionFrom({ user: 'bob' }, io({ ZTAP_ETCD_PASSWORD: 'ztap', ETCDCTL_PASSWORD: 'etcdctl' })).auth
        ?.password,
    ).toBe('ztap');
    expect(connectionFrom({ user: 'bob' }, io({ ETCDCTL_PASSWORD: 'etcdctl' })).auth?.password).toBe(
      'etcdctl',
    );
    expect(() => connectionFrom({ user: 'bob' }, io())).toThrow(
      '--user bob needs a password: set ZTAP_ETCD_PASSWORD (or ETCDCTL_PASSWORD)',
    );
  });

  it("accept etcdctl's user:password from the environment", () => {
    expect(connectionFrom({}, io({ ETCDCTL_USER: 'root:pa:ss' })).auth).toEqual({
      username: 'root',
      password: 'pa:ss',
    });
    expect(connectionFrom({}, io({ ZTAP_ETCD_USER: 'root:one', ZTAP_ETCD_PASSWORD: 'two' })).auth).toEqual({
      username: 'root',
      password: 'one',
    });
  });

  it("never pair a user with another user's password", () => {
    const env = { ETCDCTL_USER: 'root:roots-password', ZTAP_ETCD_PASSWORD: 'bobs-password' };
    expect(connectionFrom({ user: 'bob' }, io(env)).auth).toEqual({
      username: 'bob',
      password: 'bobs-password',
    });
    expect(() => connectionFrom({ user: 'bob' }, io({ ETCDCTL_USER: 'root:roots-password' }))).toThrow(
      'needs a password',
    );
  });

  it('refuse --user user:password (ps shows the command line to everyone) without repeating the password', () => {
    const error = (() => {
      try {
        connectionFrom({ user: 'root:hunter2' }, io());
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/^--user must be a user name only: .*set ZTAP_ETCD_PASSWORD/);
    expect(error.message).not.toContain('hunter2');
    expect(() => connectionFrom({}, io({ ETCDCTL_USER: ':hunter2' }))).toThrow(
      /^ETCDCTL_USER must name an etcd user: user, or user:password$/,
    );
  });

  it('are not handed on to the command `ztap run` starts', () => {
    const env = {
      PATH: '/bin',
      ZTAP_ETCD_PASSWORD: 'a',
      ETCDCTL_PASSWORD: 'b',
      ETCDCTL_USER: 'root:c',
      ZTAP_ETCD_USER: 'bob',
    };
    expect(childEnvironment(env, { ZTAP_TERM: '7' })).toEqual({
      PATH: '/bin',
      ZTAP_ETCD_USER: 'bob',
      ZTAP_TERM: '7',
    });
  });
});

describe('which keys', () => {
  it('--cluster and --prefix are alternatives', () => {
    expect(() => connectionFrom({ prefix: '/apps/x/', cluster: 'y' }, io())).toThrow(
      '--cluster and --prefix are alternatives: give one',
    );
  });

  it('--prefix must start with "/"', () => {
    expect(() => connectionFrom({ prefix: 'apps/x/' }, io())).toThrow('--prefix must start with "/"');
  });

  it('a flag beats the environment; there, ZTAP_PREFIX (as `ztap run` sets it) beats ZTAP_CLUSTER', () => {
    const env = { ZTAP_PREFIX: '/apps/run/', ZTAP_CLUSTER: 'env' };
    expect(connectionFrom({}, io(env))).toMatchObject({ prefix: '/apps/run/' });
    expect(connectionFrom({}, io(env))).not.toHaveProperty('cluster');
    expect(connectionFrom({ cluster: 'flag' }, io(env))).toMatchObject({ cluster: 'flag' });
    expect(connectionFrom({ cluster: 'flag' }, io(env))).not.toHaveProperty('prefix');
    expect(connectionFrom({ prefix: '/flag/' }, io({ ZTAP_CLUSTER: 'env' }))).toMatchObject({
      prefix: '/flag/',
    });
    expect(connectionFrom({}, io({ ZTAP_CLUSTER: 'env' }))).toMatchObject({ cluster: 'env' });
  });
});

describe('output format', () => {
  it('-o json|yaml|table, --json the same as -o json, table by default', () => {
    expect(outputFormat({})).toBe('table');
    expect(outputFormat({ json: true })).toBe('json');
    expect(outputFormat({ output: 'yaml' })).toBe('yaml');
    expect(outputFormat({ output: 'json', json: true })).toBe('json');
  });

  it('refuses other formats, listing the valid ones, and a contradiction', () => {
    expect(() => outputFormat({ output: 'xml' })).toThrow('-o must be one of table, json, yaml (got "xml")');
    expect(() => outputFormat({ output: 'table', json: true })).toThrow('--json and -o table disagree');
  });
});

describe('exit codes', () => {
  it('usage errors and failures carry a code, a name, a guard and their cause', () => {
    const cause = new Error('underneath');
    const usage = new UsageError('bad', { cause });
    expect(usage).toMatchObject({ code: 'ZTAP_CLI_USAGE', name: 'UsageError', cause });
    expect([isUsageError(usage), isCliFailure(usage)]).toEqual([true, false]);
    const failure = new CliFailure('down', EXIT.failure, { cause });
    expect(failure).toMatchObject({ code: 'ZTAP_CLI_FAILURE', name: 'CliFailure', cause, exitCode: 1 });
    expect([isUsageError(failure), isCliFailure(failure)]).toEqual([false, true]);
  });

  it('usage errors are 2, operational failures 1, help and version 0', () => {
    expect(describeFailure(new UsageError('bad'))).toEqual({ message: 'bad', exitCode: EXIT.usage });
    expect(describeFailure(new ValidationError('<id>', 'must not be empty')).exitCode).toBe(2);
    expect(describeFailure(new NodeNotFoundError('n1')).exitCode).toBe(1);
    expect(describeFailure(new Error('boom\nsecond line'))).toEqual({
      message: 'boom second line',
      exitCode: 1,
    });
    expect(
      describeFailure(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'")),
    ).toEqual({
      message: "unknown option '--x' (see ztap --help)",
      exitCode: 2,
    });
    expect(describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({
      message: '',
      exitCode: 0,
    });
  });

  it('a node id in use is one line naming the id, the holder and the --id to change', () => {
    const error = new NodeIdInUseError('node-1', {
      address: '10.0.0.7:9090',
      since: new Date('2026-11-30T10:01:02.345Z'),
      leaseId: '7587899257662724113',
    });
    expect(describeFailure(error)).toEqual({
      message:
        'node id "node-1" is in use by a running node at 10.0.0.7:9090 (since 2026-11-30T10:01:02Z); ' +
        'pick another --id, or stop that node first',
      exitCode: EXIT.failure,
    });
  });
});

describe('--listen', () => {
  it('binds loopback unless told otherwise', () => {
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseListen('http://x')).toThrow('--listen must be [host:]port');
    expect(() => parseListen('70000')).toThrow('--listen must be [host:]port');
  });
});

describe('output', () => {
  it('aligns table columns without trailing spaces', () => {
    expect(
      table([
        ['ID', 'STATE'],
        ['node-10', 'healthy'],
        ['n', 'x'],
      ]),
    ).toEqual(['ID       STATE', 'node-10  healthy', 'n        x']);
  });
  it('says how long ago', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(ago(new Date('2026-01-01T11:59:58Z'), now)).toBe('2s ago');
    expect(ago(new Date('2026-01-01T11:55:00Z'), now)).toBe('5m ago');
    expect(ago(new Date('2025-12-30T12:00:00Z'), now)).toBe('2d ago');
  });
});
