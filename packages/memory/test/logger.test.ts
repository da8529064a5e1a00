import type { ClusterLogger } from '@ztap/cluster';
import { startStubbornWork } from '@ztap/testkit';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS, useMemoryCluster } from './memory-cluster.ts';

const cluster = useMemoryCluster();

/** A pino logger at debug level writing JSON lines into an array, synchronously. */
function pinoLines() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug', base: null },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}

describe('the logger option, on an in-memory election', () => {
  it('logs leadership gained and lost through a pino child bound to the node', async () => {
    const { logger, lines } = pinoLines();
    const b = cluster.election('b', { logger });
    await b.start();
    const term = b.term;
    const a = cluster.election('a');
    await a.start(); // a has the lower id: b is superseded
    expect(
      lines.map(({ level, nodeId, event, term, reason, msg }) => ({
        level,
        nodeId,
        event,
        term,
        reason,
        msg,
      })),
    ).toEqual([
      {
        level: 30,
        nodeId: 'b',
        event: 'leadership_gained',
        term,
        reason: undefined,
        msg: 'leadership gained',
      },
      {
        level: 40,
        nodeId: 'b',
        event: 'leadership_lost',
        term,
        reason: 'superseded',
        msg: 'leadership lost',
      },
    ]);
  });

  it('logs a lost lease and the liveness it costs, then the recovery', async () => {
    const { logger, lines } = pinoLines();
    const a = cluster.election('a', { logger });
    await a.start();
    await a.deregisterNode('a'); // an operator removed the running node: its next heartbeat fails
    await cluster.clock.advance(HEARTBEAT_MS);
    const events = lines.map((line) => line.event);
    expect(events).toContain('lease_lost');
    expect(lines.find((line) => line.event === 'lease_lost')).toMatchObject({
      level: 40,
      msg: 'lease lost',
    });
    expect(lines.find((line) => line.event === 'leadership_lost')).toMatchObject({ reason: 'lease_lost' });
    // It joins again and leads again.
    expect(events.filter((event) => event === 'leadership_gained')).toHaveLength(2);
  });

  it('warns when a step-down gives up waiting for leader work', async () => {
    const { logger, lines } = pinoLines();
    const a = cluster.election('a', { logger, drainTimeout: 100 });
    await a.start();
    const work = await startStubbornWork(a);
    const resigned = a.resign();
    await cluster.clock.advance(100);
    await resigned;
    await work.finish();
    expect(lines.find((line) => line.event === 'drain')).toMatchObject({
      level: 40,
      term: 1,
      outcome: 'timeout',
      pending: 1,
      waitedMs: 100,
      msg: 'leadership released with leader work still running',
    });
  });

  it('logs leader work that failed, with the error for pino to serialize', async () => {
    const { logger, lines } = pinoLines();
    const a = cluster.election('a', { logger });
    await a.start();
    await expect(
      a.lead(() => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(lines.find((line) => line.event === 'leader_work_error')).toMatchObject({
      level: 50,
      term: 1,
      err: { type: 'Error', message: 'disk full' },
      msg: 'leader work failed',
    });
  });

  it('logs an unhealthy node and its recovery once each', async () => {
    const { logger, lines } = pinoLines();
    let healthy = true;
    const a = cluster.election('a', { logger, healthCheck: () => healthy || { healthy, reason: 'db down' } });
    await a.start();
    healthy = false;
    await cluster.clock.advance(3 * HEARTBEAT_MS);
    healthy = true;
    await cluster.clock.advance(3 * HEARTBEAT_MS);
    const liveness = lines.filter((line) => line.event === 'not_live' || line.event === 'live');
    expect(liveness.map(({ event, reason }) => ({ event, reason }))).toEqual([
      { event: 'not_live', reason: 'the health check fails: db down' },
      { event: 'live', reason: undefined },
    ]);
  });

  it('without child(), puts the node id on every line', async () => {
    const calls: [string, Record<string, unknown>, string][] = [];
    const logger: ClusterLogger = {
      debug: (fields, message) => calls.push(['debug', fields, message]),
      info: (fields, message) => calls.push(['info', fields, message]),
      warn: (fields, message) => calls.push(['warn', fields, message]),
      error: (fields, message) => calls.push(['error', fields, message]),
    };
    const a = cluster.election('a', { logger });
    await a.start();
    expect(calls).toEqual([
      ['info', { nodeId: 'a', event: 'leadership_gained', term: 1 }, 'leadership gained'],
    ]);
  });

  it('keeps electing when the logger throws', async () => {
    let calls = 0;
    const fail = () => {
      calls++;
      throw new Error('log sink down');
    };
    const logger: ClusterLogger = { debug: fail, info: fail, warn: fail, error: fail, child: () => logger };
    const b = cluster.election('b', { logger });
    await b.start();
    expect(b.isLeader()).toBe(true);
    const a = cluster.election('a', { logger });
    await a.start();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    await a.resign();
    expect(b.isLeader()).toBe(true);
    // Every one of those leadership changes was logged, and every log call threw.
    expect(calls).toBe(5);
  });
});
