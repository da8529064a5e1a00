/**
 * 8. Multi-region: three regions on a loopback WAN (startWanTopology: a one-member etcd per region,
 * a global etcd with a member per region, 30/50/80 ms one way between regions), two nodes per region
 * in this process, ZTAP only (etcd3 has nothing comparable). Global timings from wanTiming() for the
 * topology's largest round trip; regional defaults except initialLeadership 0.
 *
 * - Global failover: the global leader's region is cut off (its global member partitioned from the
 *   others); measured until a node of another region leads globally. Separately with the global
 *   etcd's raft leader outside the lost region and inside it (moved there first).
 * - Propagation: an operator pushes a global policy through the global member in eu; measured until
 *   each node of every region sees it in its region's copy (from just before the push).
 * - Burst: 100 policies pushed at once; measured from the last acknowledgement until each node's
 *   region holds all 100, and the largest replication lag a node reported meanwhile.
 */
import { createEtcdClient, EtcdClusterClient } from '@ztap/cluster-etcd';
import { globalEtcdFlags, MultiRegionNode, wanTiming } from '@ztap/cluster-multi-region';
import { startWanTopology, type WanRegion, type WanTopology } from '@ztap/testkit';
import type { BenchContext } from '../context.ts';
import { type Measure, MeasureBuilder, type ScenarioResult, targetOn } from '../results.ts';
import { nowMs, pollUntil, sleep, within } from '../time.ts';

const TITLE = '8. Multi-region';

interface Running {
  readonly topology: WanTopology;
  readonly nodes: MultiRegionNode[];
  readonly operator: EtcdClusterClient;
  /** Each node's global leadership gains, as `nowMs()` instants. */
  readonly gains: Map<MultiRegionNode, number[]>;
  readonly losses: Map<MultiRegionNode, number[]>;
}

async function startNodes(topology: WanTopology, cluster: string): Promise<Running> {
  const wan = wanTiming(topology.maxRttMs);
  const nodes: MultiRegionNode[] = [];
  const gains = new Map<MultiRegionNode, number[]>();
  const losses = new Map<MultiRegionNode, number[]>();
  for (const region of topology.regions) {
    for (const index of [1, 2]) {
      const node = new MultiRegionNode({
        nodeId: `${region.name}-${index}`,
        nodeAddress: '127.0.0.1:9090',
        region: region.name,
        cluster,
        regional: { endpoints: [...region.etcd.endpoints], initialLeadership: 0 },
        global: {
          endpoints: [region.globalEndpoint],
          electionTimeout: wan.electionTimeout,
          heartbeatInterval: wan.heartbeatInterval,
          stepDownMargin: wan.stepDownMargin,
          requestTimeout: wan.requestTimeout,
        },
      });
      gains.set(node, []);
      losses.set(node, []);
      node.telemetry.onGlobalLeadership((event) => (event.leading ? gains : losses).get(node)?.push(nowMs()));
      nodes.push(node);
    }
  }
  await Promise.all(nodes.map((node) => node.start()));
  const eu = topology.region('eu');
  const operator = new EtcdClusterClient({
    endpoints: [eu.globalEndpoint],
    prefix: `/ztap/global/${cluster}/`,
    requestTimeout: 5000,
  });
  return { topology, nodes, operator, gains, losses };
}

/** The node leading globally once every region has confirmed its replication. */
async function steady(running: Running): Promise<MultiRegionNode> {
  let leader: MultiRegionNode | undefined;
  await pollUntil(
    () => {
      leader = running.nodes.find((node) => node.isGlobalLeader());
      return (
        leader !== undefined && running.nodes.every((node) => (node.replicationLagMs ?? Infinity) < 3000)
      );
    },
    'a global leader and every region confirmed',
    60_000,
  );
  return leader as MultiRegionNode;
}

/**
 * Moves the global etcd's raft leadership to the member of `region`, or away from it; resolves
 * whether it moved (a new raft leader extends every lease by its election timeout).
 */
async function placeRaftLeader(topology: WanTopology, region: WanRegion, inside: boolean): Promise<boolean> {
  const leader = await topology.global.leader();
  const leaderRegion = topology.regions.find((candidate) => candidate.globalMember === leader);
  const wanted = inside ? region : topology.regions.find((candidate) => candidate !== region);
  if (!wanted || leaderRegion === wanted || (!inside && leaderRegion !== region)) return false;
  const client = createEtcdClient({ endpoints: [leader.clientUrl], requestTimeout: 5000 });
  try {
    const { members } = await client.cluster.memberList({});
    const target = members.find((member) => member.name === wanted.globalMember.name);
    if (!target) throw new Error(`no etcd member named ${wanted.globalMember.name}`);
    await client.maintenance.moveLeader({ targetID: target.ID });
  } finally {
    client.close();
  }
  await pollUntil(
    async () => (await topology.global.leader()) === wanted.globalMember,
    'the raft leader to move',
    20_000,
  );
  return true;
}

export async function multiRegion(context: BenchContext): Promise<ScenarioResult> {
  const failoverTrials = context.smoke ? 1 : 5;
  const propagationRounds = context.smoke ? 3 : 30;
  const bursts = context.smoke ? 1 : 3;
  const topology = await startWanTopology({ globalEtcdArgs: globalEtcdFlags(wanTiming(160)) });
  // The topology's largest round trip is 160 ms (eu↔ap); its raft is sized for that.
  const wan = wanTiming(topology.maxRttMs);
  const raw: unknown[] = [];
  const notes: string[] = [];
  const failover = {
    outside: new MeasureBuilder(
      TITLE,
      'region lost, raft leader elsewhere → another region leads globally',
      'ms',
    ),
    inside: new MeasureBuilder(
      TITLE,
      'region lost with the raft leader → another region leads globally',
      'ms',
    ),
  };
  const stepDown = new MeasureBuilder(TITLE, 'region lost → its global leader steps down', 'ms');
  const propagation = new MeasureBuilder(TITLE, 'global policy push → seen by a node of every region', 'ms');
  const burstCatchUp = new MeasureBuilder(TITLE, 'burst of 100: last ack → a node holds all 100', 'ms');
  const burstLag = new MeasureBuilder(TITLE, 'burst of 100: largest replication lag a node reported', 'ms');
  try {
    context.log(`multi-region: ${topology.global.description}; global TTL ${wan.electionTimeout} ms`);
    const running = await startNodes(topology, `${context.runId}-mr`);
    try {
      // Propagation: one policy at a time, each node's first sight of its new document.
      await steady(running);
      for (let round = 0; round < propagationRounds; round++) {
        const document = `round: ${round}\nrun: ${context.runId}\n`;
        const seen = running.nodes.map((node) =>
          within(
            new Promise<number>((resolve) => {
              const check = () => {
                if (node.policies.get('propagation')?.document !== document) return;
                subscription.dispose();
                resolve(nowMs());
              };
              const subscription = node.policies.onChange(check);
              check();
            }),
            20_000,
            `${node.nodeId} to see round ${round}`,
          ),
        );
        const pushedAt = nowMs();
        const pushed = await running.operator.policies.push('propagation', document);
        const ackedAt = nowMs();
        const times = await Promise.all(seen);
        propagation.add('ztap', ...times.map((at) => at - pushedAt));
        raw.push({
          kind: 'propagation',
          round,
          version: pushed.version,
          ackMs: ackedAt - pushedAt,
          seenMs: times.map((at) => at - pushedAt),
        });
        await sleep(100);
      }

      // Burst: 100 policies at once.
      for (let burst = 0; burst < bursts; burst++) {
        await steady(running);
        const names = Array.from({ length: 100 }, (_, index) => `burst-${index}`);
        const document = `burst: ${burst}\nrun: ${context.runId}\n`;
        const holdsAll = (node: MultiRegionNode) =>
          names.every((name) => node.policies.get(name)?.document === document);
        const largestLag = new Map<MultiRegionNode, number>();
        const sampling = setInterval(() => {
          for (const node of running.nodes) {
            const lag = node.replicationLagMs ?? 0;
            largestLag.set(node, Math.max(largestLag.get(node) ?? 0, lag));
          }
        }, 20);
        const done = running.nodes.map((node) =>
          within(
            new Promise<number>((resolve) => {
              const check = () => {
                if (!holdsAll(node)) return;
                subscription.dispose();
                resolve(nowMs());
              };
              const subscription = node.policies.onChange(check);
              check();
            }),
            60_000,
            `${node.nodeId} to hold the burst`,
          ),
        );
        const startedAt = nowMs();
        await Promise.all(names.map((name) => running.operator.policies.push(name, document)));
        const lastAckAt = nowMs();
        const times = await Promise.all(done);
        await sleep(2 * 1000);
        clearInterval(sampling);
        burstCatchUp.add('ztap', ...times.map((at) => at - lastAckAt));
        burstLag.add('ztap', ...running.nodes.map((node) => largestLag.get(node) ?? 0));
        raw.push({
          kind: 'burst',
          burst,
          writesMs: lastAckAt - startedAt,
          catchUpMs: times.map((at) => at - lastAckAt),
          largestLagMs: running.nodes.map((node) => largestLag.get(node)),
        });
      }

      // Failover: the global leader's region cut off, the raft leader placed outside or inside it.
      for (let trial = 0; trial < failoverTrials; trial++) {
        for (const inside of [false, true]) {
          const leader = await steady(running);
          const region = topology.region(leader.region);
          // A raft leader promoted just now has extended every lease by its election timeout: let that
          // pass, or the failover would measure the move rather than the loss of the region.
          if (await placeRaftLeader(topology, region, inside))
            await sleep(wan.electionTimeout + wan.etcdElectionTimeoutMs + 1000);
          context.log(
            `multi-region failover trial ${trial + 1}/${failoverTrials}: ${region.name} lost, raft leader ${inside ? 'inside' : 'elsewhere'}`,
          );
          const elsewhere = running.nodes.filter((node) => node.region !== region.name);
          // What etcd itself says, seen from another region: when the old global campaign key went.
          const watching = new AbortController();
          const observer = new EtcdClusterClient({
            endpoints: [(topology.regions.find((one) => one !== region) as WanRegion).globalEndpoint],
            prefix: running.operator.prefix,
          });
          const etcdSaw: { lostAt?: number; electedAt?: number } = {};
          const observed = (async () => {
            for await (const change of observer.watch({ signal: watching.signal })) {
              if (change.type === 'leader_lost') etcdSaw.lostAt ??= nowMs();
              if (change.type === 'leader_elected' && etcdSaw.lostAt !== undefined)
                etcdSaw.electedAt ??= nowMs();
            }
          })().catch(() => {});
          await sleep(200);
          const lostAt = nowMs();
          topology.isolate(region.name);
          try {
            const successor = await within(
              Promise.any(elsewhere.map((node) => node.waitForGlobalLeadership())),
              60_000,
              'another region to lead globally',
            );
            const gainedAt = Math.min(
              ...elsewhere.flatMap((node) => (running.gains.get(node) ?? []).filter((at) => at >= lostAt)),
            );
            const steppedDownAt = (running.losses.get(leader) ?? []).find((at) => at >= lostAt);
            (inside ? failover.inside : failover.outside).add('ztap', gainedAt - lostAt);
            if (steppedDownAt !== undefined) stepDown.add('ztap', steppedDownAt - lostAt);
            raw.push({
              kind: 'failover',
              trial,
              raftLeaderInside: inside,
              region: region.name,
              failoverMs: gainedAt - lostAt,
              stepDownMs: steppedDownAt === undefined ? null : steppedDownAt - lostAt,
              steppedDownFirst: steppedDownAt !== undefined && steppedDownAt < gainedAt,
              successorTerm: successor.term,
              etcdLeaderLostMs: etcdSaw.lostAt === undefined ? null : etcdSaw.lostAt - lostAt,
              etcdLeaderElectedMs: etcdSaw.electedAt === undefined ? null : etcdSaw.electedAt - lostAt,
            });
          } finally {
            watching.abort();
            await observed;
            await observer.close();
            topology.rejoin(region.name);
          }
          await region.globalMember.waitForHealth({ timeoutMs: 30_000 });
        }
      }
    } finally {
      await Promise.all(running.nodes.map((node) => node.stop()));
      await running.operator.close();
    }
  } finally {
    await topology.stop();
  }
  const ttl = wan.electionTimeout;
  const failoverLimit = ttl + 1000;
  const propagationLimit = 2 * topology.maxRttMs + 100;
  const measures: Measure[] = [
    failover.outside.build((samples) =>
      targetOn(`max ≤ global TTL + 1 s (${failoverLimit} ms)`, samples.ztap, (s) => s.max <= failoverLimit),
    ),
    failover.inside.build((samples) =>
      targetOn(`max ≤ global TTL + 1 s (${failoverLimit} ms)`, samples.ztap, (s) => s.max <= failoverLimit),
    ),
    stepDown.build(),
    propagation.build((samples) =>
      targetOn(
        `p99 ≤ 2 × RTT + 100 ms (${propagationLimit} ms)`,
        samples.ztap,
        (s) => s.p99 <= propagationLimit,
      ),
    ),
    burstCatchUp.build(),
    burstLag.build(),
  ];
  notes.push(
    `round trips between regions: ${topology.delayMs('eu', 'us') * 2} ms eu↔us, ${topology.delayMs('us', 'ap') * 2} ms us↔ap, ${topology.delayMs('eu', 'ap') * 2} ms eu↔ap (RTT in the targets: the largest, ${topology.maxRttMs} ms); global etcd raft heartbeat ${wan.etcdHeartbeatIntervalMs} ms, election timeout ${wan.etcdElectionTimeoutMs} ms, pre-vote on; global lease ${ttl} ms, keepalive ${wan.heartbeatInterval} ms, step-down margin ${wan.stepDownMargin} ms; confirmations every ${wan.confirmIntervalMs} ms.`,
    `${failoverTrials} failover trials per raft-leader placement, ${propagationRounds} propagation rounds × 6 nodes, ${bursts} burst(s) × 6 nodes; the old global leader stepped down before its successor was elected in ${raw.filter((entry) => (entry as { kind: string; steppedDownFirst?: boolean }).kind === 'failover' && (entry as { steppedDownFirst: boolean }).steppedDownFirst).length} of ${2 * failoverTrials} failovers.`,
  );
  return { id: 'multi-region', title: TITLE, measures, raw, notes };
}
