import { connectionFrom, describeFailure, EXIT, parseDuration, parseMetadata, UsageError } from '@ztap/cli';
import { NodeIdInUseError, NodeNotFoundError, ValidationError } from '@ztap/cluster';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseListen } from '../src/commands/agent.ts';
import { ago, table } from '../src/format.ts';
import type { CliIO } from '../src/io.ts';

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
    ['250', 250],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--timeout')).toBe(ms));

  it.each(['', 'soon', '5 s', '-1s', '0s'])('rejects %j, naming the option', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(UsageError);
    expect(() => parseDuration(text, '--grace')).toThrow(/^--grace must be/);
  });

  it('allows zero where zero means "at once"', () => {
    expect(parseDuration('0', '--initial-leadership', { allowZero: true })).toBe(0);
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

  it('flags win over the environment', () => {
    const env = { ZTAP_ETCD_ENDPOINTS: 'http://env:2379', ZTAP_CLUSTER: 'from-env' };
    expect(connectionFrom({}, io(env))).toMatchObject({
      endpoints: ['http://env:2379'],
      cluster: 'from-env',
    });
    expect(connectionFrom({ endpoints: 'http://flag:2379', cluster: 'flag' }, io(env))).toMatchObject({
      endpoints: ['http://flag:2379'],
      cluster: 'flag',
    });
  });

  it('takes the password only from ZTAP_ETCD_PASSWORD', () => {
    expect(connectionFrom({ user: 'bob' }, io({ ZTAP_ETCD_PASSWORD: 's3cret' })).auth).toEqual({
      username: 'bob',
      password: 's3cret',
    });
    expect(() => connectionFrom({ user: 'bob' }, io())).toThrow(
      'needs the password in the ZTAP_ETCD_PASSWORD',
    );
  });

  it('turns on TLS (https) when a CA is given, and reads the files', () => {
    const connection = connectionFrom(
      { endpoints: 'etcd:2379', cacert: new URL(import.meta.url).pathname },
      io(),
    );
    expect(connection.endpoints).toEqual(['https://etcd:2379']);
    expect(connection.tls?.ca).toBeInstanceOf(Buffer);
  });

  it('prefers --prefix to --cluster', () => {
    expect(connectionFrom({ prefix: '/apps/x/', cluster: 'ignored' }, io())).toMatchObject({
      prefix: '/apps/x/',
    });
    expect(connectionFrom({ prefix: '/apps/x/' }, io())).not.toHaveProperty('cluster');
  });
});

describe('exit codes', () => {
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
