import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/index.ts';
import type { CliIO } from '../src/io.ts';
import { clusterLoggerFor } from '../src/library-log.ts';
import { createLogger, type LogFormat, logFormat } from '../src/log.ts';

/** A logger writing into a string, as `ztap agent` would to its stdout. */
function capture(format: LogFormat) {
  const stdout = new PassThrough();
  let written = '';
  stdout.on('data', (chunk: Buffer) => {
    written += chunk.toString();
  });
  const io: CliIO = { stdout, stderr: stdout, env: { NO_COLOR: '1' }, onShutdown: () => () => {} };
  const log = createLogger(io, format, false);
  return { log, lines: () => written.split('\n').filter(Boolean) };
}

const json = (line: string | undefined) => JSON.parse(line ?? 'null') as Record<string, unknown>;

describe('--log-format', () => {
  it.each([
    [{}, 'text'],
    [{ json: true }, 'json'],
    [{ logFormat: 'json' }, 'json'],
    [{ logFormat: 'text' }, 'text'],
    [{ logFormat: 'json', json: true }, 'json'],
    [{ output: 'json' }, 'json'],
    [{ output: 'yaml' }, 'yaml'],
    [{ output: 'table' }, 'text'],
    [{ output: 'json', logFormat: 'json' }, 'json'],
    [{ output: 'table', logFormat: 'text' }, 'text'],
  ] as const)('%j is %s', (options, format) => expect(logFormat(options)).toBe(format));

  it('rejects another value, listing the values', () => {
    expect(() => logFormat({ logFormat: 'xml' })).toThrow(UsageError);
    expect(() => logFormat({ logFormat: 'xml' })).toThrow(
      '--log-format must be one of text, json (got "xml")',
    );
  });

  it('rejects a contradicting --json or -o', () => {
    expect(() => logFormat({ logFormat: 'text', json: true })).toThrow(
      '--json and --log-format text disagree: give one',
    );
    expect(() => logFormat({ logFormat: 'json', output: 'yaml' })).toThrow(
      '-o yaml and --log-format json disagree: give one',
    );
    expect(() => logFormat({ logFormat: 'json', output: 'table' })).toThrow(
      '-o table and --log-format json disagree: give one',
    );
  });

  it('yaml (from -o yaml): the same object as one YAML document per event', () => {
    const { log, lines } = capture('yaml');
    log('started', 'node n1 joined', { nodeId: 'n1' });
    expect(lines()).toEqual([
      '---',
      expect.stringMatching(/^time: \d{4}-/),
      'level: info',
      'event: started',
      'msg: node n1 joined',
      'nodeId: n1',
    ]);
  });
});

describe('the command log', () => {
  it('json: one object per line with time, level, event, msg and the fields', () => {
    const { log, lines } = capture('json');
    log('started', 'node n1 joined /ztap/clusters/a/', { nodeId: 'n1' });
    log('follower', 'this node no longer leads', { term: 3 }, 'yellow');
    log('unhealthy', 'unhealthy: db down', { reason: 'db down' }, 'red');
    const [started, follower, unhealthy] = lines().map(json);
    expect(started).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'info',
      event: 'started',
      msg: 'node n1 joined /ztap/clusters/a/',
      nodeId: 'n1',
    });
    expect(follower).toMatchObject({ level: 'warn', event: 'follower', term: 3 });
    expect(unhealthy).toMatchObject({ level: 'error', event: 'unhealthy', reason: 'db down' });
  });

  it('text: the time and the sentence', () => {
    const { log, lines } = capture('text');
    log('started', 'node n1 joined /ztap/clusters/a/', { nodeId: 'n1' });
    expect(lines()).toEqual([expect.stringMatching(/^\S+Z {2}node n1 joined \/ztap\/clusters\/a\/$/)]);
  });
});

describe('library events in the command log', () => {
  it('json: the library event with its level, the child bindings and plain fields', () => {
    const { log, lines } = capture('json');
    const logger = clusterLoggerFor(log, 'json').child?.({ nodeId: 'n1', prefix: '/ztap/clusters/a/' });
    logger?.warn({ event: 'lease_lost', kind: 'lease_lost', error: 'lease not found' }, 'lease lost');
    logger?.error({ event: 'leader_work_error', term: 4, err: new Error('disk full') }, 'leader work failed');
    expect(lines().map(json)).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        event: 'lease_lost',
        msg: 'lease lost',
        nodeId: 'n1',
        prefix: '/ztap/clusters/a/',
        kind: 'lease_lost',
        error: 'lease not found',
      },
      expect.objectContaining({ level: 'error', event: 'leader_work_error', term: 4, err: 'disk full' }),
    ]);
  });

  it('text: the message with its details, without the bindings', () => {
    const { log, lines } = capture('text');
    const logger = clusterLoggerFor(log, 'text').child?.({ nodeId: 'n1' });
    logger?.error(
      { event: 'etcd_error', kind: 'unavailable', error: 'etcd at http://127.0.0.1:1 is unreachable' },
      'etcd call failed',
    );
    expect(lines()).toEqual([
      expect.stringMatching(
        /Z {2}etcd call failed \(kind=unavailable error="etcd at http:\/\/127\.0\.0\.1:1 is unreachable"\)$/,
      ),
    ]);
  });

  it('leaves out debug lines and what the command reports in its own words', () => {
    const { log, lines } = capture('json');
    const logger = clusterLoggerFor(log, 'json');
    logger.debug({ event: 'heartbeat_failed', kind: 'timeout' }, 'heartbeat failed');
    logger.info({ event: 'leadership_gained', term: 1 }, 'leadership gained');
    logger.warn({ event: 'leadership_lost', term: 1, reason: 'deadline' }, 'leadership lost');
    logger.warn({ event: 'not_live', reason: 'x' }, 'node not live');
    logger.info({ event: 'live' }, 'node live again');
    logger.info({ event: 'watch_resynced' }, 'watch resynced');
    expect(lines().map((line) => json(line).event)).toEqual(['watch_resynced']);
  });
});
