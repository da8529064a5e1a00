/**
 * The safety rules that must hold however a node reaches etcd — step-down before lease expiry (also
 * when a supervisor reads the deadline), fencing, a frozen or killed leader process — as functions
 * of the etcd the nodes connect to: safety.integration.test.ts runs them on etcd itself,
 * grpc-proxy.integration.test.ts through etcd's gRPC proxy.
 */
import { type DrainEvent, isFencedWriteError, isLeadershipLostError } from '@ztap/cluster';
import { EtcdElection, type EtcdElectionOptions } from '@ztap/cluster-etcd';
import { cutOffProxy, type EtcdLink, waitUntilLeads } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type SharedEtcd, uniqueCluster, within } from '../support/etcd.ts';
import { NodeProcess } from '../support/node-processes.ts';

/** The lease TTL of the nodes these tests start. */
export const TTL_MS = 2000;

/** Monotonic ms between two `process.hrtime.bigint()` stamps. */
export const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

/** Makes sure `observer` has processed everything up to now: events arrive in revision order. */
export async function observerCaughtUp(
  writer: EtcdElection,
  observer: EtcdElection,
  marker: string,
): Promise<void> {
  const seen = new Recorder(observer.watch());
  await writer.registerNode({ id: marker, address: '127.0.0.1:1' });
  await within(
    seen.first((change) => change.node.id === marker),
    10_000,
    `${observer.nodeId} to see ${marker}`,
  );
}

/** Nodes (in this process or their own) on `etcd`, and cut-off links, all ended after each test. */
export function safetyFixture(etcd: SharedEtcd) {
  const elections: EtcdElection[] = [];
  const processes: NodeProcess[] = [];
  const links: EtcdLink[] = [];

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((node) => node.kill()));
    await Promise.all(elections.splice(0).map((election) => election.stop()));
    await Promise.all(links.splice(0).map((link) => link.close()));
  });

  const node = (
    nodeId: string,
    cluster: string,
    options: Partial<EtcdElectionOptions> = {},
  ): EtcdElection => {
    const election = new EtcdElection({
      nodeId,
      nodeAddress: '127.0.0.1:9090',
      ...(options.client ? {} : { endpoints: etcd.endpoints }),
      cluster,
      heartbeatInterval: 200,
      electionTimeout: TTL_MS,
      initialLeadership: 0,
      ...options,
    });
    elections.push(election);
    return election;
  };

  const nodeProcess = (nodeId: string, cluster: string, writeEveryMs = 0): NodeProcess => {
    const child = new NodeProcess({
      nodeId,
      endpoints: etcd.endpoints,
      cluster,
      heartbeatInterval: 200,
      electionTimeout: TTL_MS,
      writeEveryMs,
    });
    processes.push(child);
    return child;
  };

  return { node, nodeProcess, links };
}

/** The leader-safety tests on `etcd`; `via` names the way nodes connect, for the test names. */
export function describeLeaderSafety(etcd: SharedEtcd, via: string): void {
  const { node, nodeProcess, links } = safetyFixture(etcd);
  describe(`failure of the leader process (${via})`, () => {
    it('a leader killed with SIGKILL is replaced by a new term once its lease expires', async () => {
      const cluster = uniqueCluster('sigkill');
      const nodes = [nodeProcess('p1', cluster), nodeProcess('p2', cluster)];
      await within(Promise.all(nodes.map((child) => child.started())));
      const first = await within(
        Promise.any(nodes.map((child) => child.next((e) => e.event === 'leader', 'leads').then(() => child))),
      );
      const survivor = nodes.find((child) => child !== first) as NodeProcess;
      const killedAt = process.hrtime.bigint();
      await first.kill();
      const elected = await within(
        survivor.next((e) => e.event === 'leader', 'takes over'),
        TTL_MS + 10_000,
      );
      const failoverMs = ms(killedAt, BigInt(elected.at));
      // A number to read, not to assert (benchmarks measure failover): the behaviour is the new term.
      console.info(`[sigkill] failover after SIGKILL: ${failoverMs.toFixed(0)} ms (TTL ${TTL_MS} ms)`);
      const firstTerm = first.events.items.find((e) => e.event === 'leader')?.term as number;
      expect(elected.term).toBeGreaterThan(firstTerm);
    }, 30_000);

    it('a leader frozen with SIGSTOP beyond its TTL has stepped down when it resumes, and its fenced writes fail', async () => {
      const cluster = uniqueCluster('sigstop');
      const nodes = [nodeProcess('p1', cluster, 100), nodeProcess('p2', cluster, 100)];
      await within(Promise.all(nodes.map((child) => child.started())));
      const frozen = await within(
        Promise.any(
          nodes.map((child) =>
            child.next((e) => e.event === 'write' && e.ok === true, 'writes').then(() => child),
          ),
        ),
      );
      const other = nodes.find((child) => child !== frozen) as NodeProcess;
      frozen.signal('SIGSTOP');
      const frozenAt = process.hrtime.bigint();
      const takeover = await within(
        other.next((e) => e.event === 'write' && e.ok === true, 'writes as new leader'),
        15_000,
      );
      frozen.signal('SIGCONT');
      const lost = await within(
        frozen.next((e) => e.event === 'lost', 'steps down'),
        15_000,
      );
      // Let it try to act for a while after resuming: every such attempt must be refused.
      await within(
        frozen.next(
          (e) => e.event === 'leader' || BigInt(e.at) > BigInt(lost.at) + 1_000_000_000n,
          'time to pass',
        ),
        15_000,
      ).catch(() => {});

      expect(['deadline', 'lease_lost']).toContain(lost.reason);
      const frozenTerm = lost.term as number;
      const lateWrites = frozen.events.items.filter(
        (e) => e.event === 'write' && e.term === frozenTerm && BigInt(e.at) > frozenAt,
      );
      expect(lateWrites.filter((e) => e.ok)).toEqual([]);
      // Acting is never simultaneous: every accepted write of the old term precedes the first of the new.
      const oldAccepted = frozen.events.items.filter(
        (e) => e.event === 'write' && e.ok && e.term === frozenTerm,
      );
      const lastOld =
        oldAccepted
          .map((e) => BigInt(e.at))
          .sort((a, b) => (a < b ? -1 : 1))
          .at(-1) ?? 0n;
      expect(lastOld).toBeLessThan(BigInt(takeover.at));
      expect(takeover.term).toBeGreaterThan(frozenTerm);
      console.info(
        `[sigstop] new leader wrote ${ms(frozenAt, BigInt(takeover.at)).toFixed(0)} ms after the freeze`,
      );
    }, 60_000);
  });

  describe(`step-down before lease expiry (${via})`, () => {
    it('a leader cut off from etcd stops acting as leader before another node is elected', async () => {
      const cluster = uniqueCluster('cutoff');
      const link = await cutOffProxy(etcd);
      links.push(link);
      const isolated = node('a', cluster, { endpoints: [...link.endpoints], requestTimeout: 500 });
      await isolated.start();
      await waitUntilLeads(isolated);
      const b = node('b', cluster);
      await b.start();
      const signal = isolated.leadershipSignal;
      let steppedDownAt = 0;
      signal.addEventListener('abort', () => {
        steppedDownAt = performance.now();
      });
      link.cut();
      await waitUntilLeads(b, { timeoutMs: 15_000 });
      const electedAt = performance.now();
      expect(signal.aborted).toBe(true);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('deadline');
      expect(steppedDownAt).toBeGreaterThan(0);
      expect(steppedDownAt).toBeLessThan(electedAt);
      console.info(
        `[cutoff] stepped down ${(electedAt - steppedDownAt).toFixed(0)} ms before the successor was elected`,
      );
      link.heal();
      // Back in touch, it rejoins as a follower with a fresh lease and campaign key.
      await eventually(() => b.getNode('a')?.state === 'healthy', 15_000, 'a to rejoin');
      expect(isolated.isLeader()).toBe(false);
    }, 40_000);

    it('cut off from etcd while draining leader work, stop() gives up the drain at the step-down deadline, not after drainTimeout', async () => {
      const cluster = uniqueCluster('drain-cutoff');
      const link = await cutOffProxy(etcd);
      links.push(link);
      const leader = node('a', cluster, {
        endpoints: [...link.endpoints],
        requestTimeout: 500,
        drainTimeout: 120_000,
      });
      await leader.start();
      const { term } = await waitUntilLeads(leader);
      const successor = node('b', cluster);
      await successor.start();
      const drains: DrainEvent[] = [];
      leader.telemetry.onDrain((event) => drains.push(event));
      const release = Promise.withResolvers<void>();
      const workStarted = Promise.withResolvers<void>();
      const work = leader.runWhileLeader(async () => {
        workStarted.resolve();
        await release.promise; // ignores its signal: only the deadline can end the drain
      });
      await within(workStarted.promise);

      const stopping = leader.stop();
      link.cut();
      // drainTimeout is two minutes: returning within seconds means the deadline ended the drain.
      await within(stopping, 20_000, 'stop() to give up the drain at the step-down deadline');
      expect(drains).toEqual([{ term, outcome: 'deadline', pending: 1, waitedMs: expect.any(Number) }]);
      await waitUntilLeads(successor, { timeoutMs: 15_000 });
      release.resolve();
      await work;
    }, 40_000);
  });

  describe(`the step-down deadline, as supervisors read it (${via})`, () => {
    it('leadershipValidUntil moves forward with every renewal, and leadership ends only once it has passed', async () => {
      const cluster = uniqueCluster('valid-until');
      const link = await cutOffProxy(etcd);
      links.push(link);
      const a = node('a', cluster, { endpoints: [...link.endpoints], requestTimeout: 500 });
      const renewals: number[] = [];
      a.onLeaseRenewed(({ validUntilMs }) => renewals.push(validUntilMs));
      expect(a.leadershipValidUntil).toBeUndefined();
      await a.start();
      await waitUntilLeads(a);
      const elected = a.leadershipValidUntil as number;
      expect(elected).toBeGreaterThan(a.clock.monotonicNow());
      await eventually(() => renewals.length >= 3, 10_000, 'three renewals');
      expect(renewals).toEqual([...renewals].sort((x, y) => x - y));
      expect(new Set(renewals).size).toBe(renewals.length);
      expect(a.leadershipValidUntil).toBe(renewals.at(-1));

      let endedAt = 0;
      const signal = a.leadershipSignal;
      signal.addEventListener('abort', () => {
        endedAt = a.clock.monotonicNow();
      });
      link.cut();
      await eventually(() => endedAt > 0, 10_000, 'the leadership to end');
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('deadline');
      expect(endedAt).toBeGreaterThanOrEqual(renewals.at(-1) as number);
      expect(a.leadershipValidUntil).toBeUndefined();
    }, 30_000);
  });

  describe(`fencing (${via})`, () => {
    it('a guarded write with a stale term fails with a FencedWriteError and writes nothing', async () => {
      const cluster = uniqueCluster('fencing');
      const a = node('a', cluster);
      await a.start();
      const { term } = await waitUntilLeads(a);
      const key = `${a.prefix}test/fenced`;
      await a.guardedTxn({
        term,
        success: [{ request_put: { key: Buffer.from(key), value: Buffer.from('ok') } }],
      });
      expect(await etcd.client.get(key).string()).toBe('ok');
      // Deposed behind its back: the campaign key goes, and a does not know yet.
      await etcd.client.delete().key(a.campaignKey as string);
      await expect(
        a.guardedTxn({
          term,
          success: [{ request_put: { key: Buffer.from(key), value: Buffer.from('stale') } }],
        }),
      ).rejects.toSatisfy(isFencedWriteError);
      expect(await etcd.client.get(key).string()).toBe('ok');
    });

    it('refuses failure operations that write: they would also run when the writer is fenced', async () => {
      const cluster = uniqueCluster('fenced-failure');
      const a = node('a', cluster);
      await a.start();
      const { term } = await waitUntilLeads(a);
      const key = Buffer.from(`${a.prefix}test/x`);
      await expect(a.guardedTxn({ term, failure: [{ request_put: { key, value: key } }] })).rejects.toThrow(
        'failure of a guarded transaction may only read',
      );
    });

    it('the inner compare decides between success and failure while the term is current', async () => {
      const cluster = uniqueCluster('fenced-cas');
      const a = node('a', cluster);
      await a.start();
      const { term } = await waitUntilLeads(a);
      const key = Buffer.from(`${a.prefix}test/cas`);
      const cas = () =>
        a.guardedTxn({
          term,
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: '0' }],
          success: [{ request_put: { key, value: Buffer.from('first') } }],
        });
      expect((await cas()).succeeded).toBe(true);
      expect((await cas()).succeeded).toBe(false);
    });
  });

  describe(`watching (${via})`, () => {
    it('after a disconnect spanning a compaction, the view resyncs and equals etcd', async () => {
      const cluster = uniqueCluster('compaction');
      const link = await cutOffProxy(etcd);
      links.push(link);
      const observer = node('observer', cluster, {
        endpoints: [...link.endpoints],
        electionTimeout: 10_000,
        heartbeatInterval: 1000,
      });
      const writer = node('writer', cluster);
      await observer.start();
      await writer.start();
      let resyncs = 0;
      observer.telemetry.onResync(() => {
        resyncs++;
      });
      link.cut();
      for (let index = 0; index < 30; index++)
        await writer.registerNode({ id: `m${index}`, address: '127.0.0.1:1' });
      for (let index = 0; index < 30; index += 3) await writer.deregisterNode(`m${index}`);
      const { header } = await etcd.client.get(`${writer.prefix}x`).exec();
      await etcd.client.kv.compact({ revision: header.revision, physical: true });
      link.heal();

      const inEtcd = async () =>
        Object.keys(await etcd.client.getAll().prefix(`${writer.prefix}members/`).strings())
          .map((key) => key.slice(`${writer.prefix}members/`.length))
          .sort();
      const expected = await inEtcd();
      expect(expected).toHaveLength(2 + 20);
      await eventually(
        () => JSON.stringify(observer.getNodes().map((n) => n.id)) === JSON.stringify(expected),
        15_000,
        'the observer view to equal etcd',
      );
      expect(resyncs).toBeGreaterThan(0);
    }, 40_000);

    it('two clusters on one etcd never see each other, even when one name prefixes the other', async () => {
      const [x1, x2] = [node('x1', 'iso-a'), node('x2', 'iso-a')];
      const y1 = node('y1', 'iso-ab');
      for (const n of [x1, x2, y1]) await n.start();
      await within(Promise.any([x1, x2].map((n) => n.waitForLeadership())));
      await waitUntilLeads(y1);
      await observerCaughtUp(x1, x2, 'marker');
      expect(x2.getNodes().map((n) => n.id)).toEqual(['marker', 'x1', 'x2']);
      expect(y1.getNodes().map((n) => n.id)).toEqual(['y1']);
      expect(y1.getLeader()?.id).toBe('y1');
    });
  });
}
