import { isFencedWriteError } from '@ztap/cluster';
import { ManualClock } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobRun, runScheduledJob } from '../src/scheduled-job/job.ts';
import { sleep } from '../src/shared/sleep.ts';
import { logLines, memoryNodes } from './support/memory.ts';

// The job's logic on the in-memory backend, with time driven by hand: no sleeps, no races.
describe('scheduled job', () => {
  const clock = new ManualClock();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** Starts the nodes and a job on each; `work` takes `workMs` of (manual) time. */
  async function startJobs<const Ids extends readonly string[]>(
    ids: Ids,
    workMs = 0,
    fail?: (run: JobRun) => boolean,
  ) {
    const started = memoryNodes(clock, ids).map(async (node) => {
      await node.election.start();
      cleanup.push(() => node.election.stop());
      const shutdown = new AbortController();
      const { lines, log } = logLines();
      const job = runScheduledJob(node, {
        name: 'report',
        intervalMs: 1000,
        signal: shutdown.signal,
        clock,
        log,
        work: async (run) => {
          if (workMs > 0) await sleep(clock, workMs, run.signal);
          if (fail?.(run)) throw new Error('the report service answered 500');
          return `run ${run.run} by ${node.election.nodeId} in term ${run.term}`;
        },
      });
      cleanup.push(async () => {
        shutdown.abort(new Error('test over'));
        await job;
      });
      return { ...node, lines, job, shutdown };
    });
    return (await Promise.all(started)) as { [K in keyof Ids]: Awaited<(typeof started)[number]> };
  }

  it('runs every interval on the leader only, storing each result with a fenced write', async () => {
    const [a, b] = await startJobs(['node-a', 'node-b']);
    await clock.advance(0);
    expect(await a.store.get('report')).toBe('run 1 by node-a in term 1');
    await clock.advance(1000);
    await clock.advance(1000);
    expect(await a.store.get('report')).toBe('run 3 by node-a in term 1');
    expect(a.lines).toContain('run 3 done (term 1): run 3 by node-a in term 1');
    expect(b.lines).toEqual([]);
  });

  it('aborts a run the moment leadership is lost, and the next leader takes over with a higher term', async () => {
    const [a, b] = await startJobs(['node-a', 'node-b'], 500);
    await clock.advance(500);
    expect(await a.store.get('report')).toBe('run 1 by node-a in term 1');
    await clock.advance(1200); // run 2 began at 1500 ms and is halfway through
    expect(a.lines.at(-1)).toBe('run 2 started (term 1)');

    a.state.healthy = false; // its health check fails: it must stop acting as leader
    await clock.advance(100); // the next heartbeat notices
    expect(a.lines).toContain('run 2 aborted: leadership of term 1 ended (unhealthy)');
    expect(b.election.isLeader()).toBe(true);
    await clock.advance(500);
    expect(await b.store.get('report')).toBe('run 1 by node-b in term 2'); // run 2 of node-a never wrote
    expect(a.lines.filter((line) => line.startsWith('run 2 done'))).toEqual([]);
  });

  it('refuses a write from a deposed leader: nothing is written', async () => {
    const [a, b] = await startJobs(['node-a', 'node-b']);
    await clock.advance(0);
    await a.election.resign();
    await clock.advance(0);
    expect(b.election.term).toBe(2);
    const stale = a.store.put(1, 'report', 'written by a deposed leader');
    await expect(stale).rejects.toSatisfy(isFencedWriteError);
    expect(await a.store.get('report')).toBe('run 1 by node-b in term 2');
  });

  it('logs a failed run and tries again at the next interval', async () => {
    const [a] = await startJobs(['node-a'], 0, ({ run }) => run === 1);
    await clock.advance(0);
    expect(a.lines).toContain('run 1 failed: the report service answered 500');
    expect(await a.store.get('report')).toBeUndefined();
    await clock.advance(1000);
    expect(await a.store.get('report')).toBe('run 2 by node-a in term 1');
  });

  it('on shutdown aborts the current run and starts no other; stop() then hands over leadership', async () => {
    const [a, b] = await startJobs(['node-a', 'node-b'], 500);
    await clock.advance(200);
    a.shutdown.abort(new Error('shutting down (SIGTERM)'));
    await a.job; // resolves: shutting down is not an error
    expect(a.lines.slice(-1)).toEqual(['run 1 aborted: shutting down (SIGTERM)']);
    expect(a.election.isLeader()).toBe(true); // still leader until it stops: nothing runs meanwhile
    await clock.advance(5000);
    expect(a.lines.filter((line) => line.includes('started'))).toHaveLength(1);

    await a.election.stop(); // resigns and leaves
    await clock.advance(500);
    expect(await b.store.get('report')).toBe('run 1 by node-b in term 2');
  });
});
