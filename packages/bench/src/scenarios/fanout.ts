/**
 * 6. Fan-out: one node joins → all W watchers, each on its own client, have the change.
 *
 * The election is empty but for the watchers, so the joining node becomes leader. ZTAP's watchers are
 * members that never campaign (`initialLeadership` of a day) reading `watch()`; they see `node_joined`
 * and then `leader_elected`. etcd3's Election has no membership, so its watchers are `observe()`rs,
 * which see the new leader. Timed from just before `start()` / `campaign()` of the joining node, whose
 * client is connected beforehand; every watcher gives one sample per join.
 */
import type { ClusterStateChange } from '@ztap/cluster';
import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { type ElectionObserver, Etcd3 } from 'etcd3';
import { heartbeatFor, inBatches, settle } from '../candidates.ts';
import type { BenchContext } from '../context.ts';
import { alternate, MeasureBuilder, type ScenarioResult, targetOn } from '../results.ts';
import { nowMs, pollUntil } from '../time.ts';

const TITLE = '6. Fan-out';
const TTL_SECONDS = 5;

interface Sightings {
  /** watcher index → when it saw the joiner join / lead. */
  joined: Map<number, number>;
  leader: Map<number, number>;
  gone: Set<number>;
}

interface FanoutGroup {
  start(): Promise<void>;
  /** Joins `id`, resolves when every watcher saw it lead; returns the start instant. */
  join(id: string, sightings: Sightings): Promise<number>;
  /** The joiner leaves; resolves when every watcher saw it go. */
  leave(sightings: Sightings): Promise<void>;
  stop(): Promise<void>;
}

export async function fanout(context: BenchContext): Promise<ScenarioResult> {
  const watchers = context.smoke ? 10 : 100;
  const rounds = context.smoke ? 1 : 2;
  const joinsPerRound = context.smoke ? 3 : 15;
  const leader = new MeasureBuilder(TITLE, `join → each of ${watchers} watchers has the new leader`, 'ms');
  const joined = new MeasureBuilder(TITLE, `join → each of ${watchers} watchers has node_joined`, 'ms');
  const last = new MeasureBuilder(TITLE, `join → the last of ${watchers} watchers has the new leader`, 'ms');
  const raw: unknown[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const system of alternate(round)) {
      context.log(`fan-out ${watchers} watchers round ${round + 1}/${rounds}: ${system}`);
      const name = `${context.runId}-fanout-r${round}-${system}`;
      const group =
        system === 'ztap'
          ? new ZtapFanout(context.endpoint, name, watchers)
          : new Etcd3Fanout(context.endpoint, name, watchers);
      try {
        await group.start();
        await settle(1000);
        for (let join = 0; join < joinsPerRound; join++) {
          const sightings: Sightings = { joined: new Map(), leader: new Map(), gone: new Set() };
          const startedAt = await group.join(`j${join}`, sightings);
          const leaderTimes = [...sightings.leader.values()].map((at) => at - startedAt);
          const joinedTimes = [...sightings.joined.values()].map((at) => at - startedAt);
          leader.add(system, ...leaderTimes);
          joined.add(system, ...joinedTimes);
          last.add(system, Math.max(...leaderTimes));
          raw.push({ round, system, join, leaderMs: leaderTimes, joinedMs: joinedTimes });
          await group.leave(sightings);
          await settle(200);
        }
      } finally {
        await group.stop();
      }
    }
  }
  return {
    id: 'fanout',
    title: TITLE,
    measures: [
      leader.build((samples) => targetOn('p99 ≤ 20 ms', samples.ztap, (summary) => summary.p99 <= 20)),
      last.build(),
      joined.build(),
    ],
    raw,
    notes: [
      `${watchers} watchers, each on its own client, in the runner's process; ${rounds} round(s) × ${joinsPerRound} joins per system; every watcher of every join is one sample. The joiner is a new node on a connected client of its own. etcd3's Election has no membership view, so its "node_joined" row is empty.`,
    ],
  };
}

class ZtapFanout implements FanoutGroup {
  readonly #prefix: string;
  readonly #watchers: EtcdElection[] = [];
  readonly #joinerClient;
  #joiner: EtcdElection | undefined;
  #sightings: Sightings | undefined;
  #joinerId: string | undefined;

  constructor(endpoint: string, name: string, count: number) {
    this.#prefix = `/bench/${name}/`;
    for (let index = 0; index < count; index++) {
      this.#watchers.push(
        new EtcdElection({
          nodeId: `w${index}`,
          nodeAddress: `127.0.0.1:${10000 + index}`,
          endpoints: [endpoint],
          prefix: this.#prefix,
          electionTimeout: TTL_SECONDS * 1000,
          heartbeatInterval: heartbeatFor(TTL_SECONDS),
          initialLeadership: 86_400_000,
        }),
      );
    }
    this.#joinerClient = createEtcdClient({ endpoints: [endpoint], requestTimeout: 2500 });
  }

  async start(): Promise<void> {
    await inBatches(this.#watchers, 20, async (watcher) => {
      await watcher.start();
      const index = Number(watcher.nodeId.slice(1));
      void this.#read(index, watcher.watch());
    });
    await this.#joinerClient.get(`${this.#prefix}warm-up`).string();
  }

  async #read(index: number, changes: AsyncIterable<ClusterStateChange>): Promise<void> {
    for await (const change of changes) {
      const at = nowMs();
      const sightings = this.#sightings;
      if (!sightings || change.node.id !== this.#joinerId) continue;
      if (change.type === 'node_joined') sightings.joined.set(index, at);
      else if (change.type === 'leader_elected') sightings.leader.set(index, at);
      else if (change.type === 'node_left') sightings.gone.add(index);
    }
  }

  async join(id: string, sightings: Sightings): Promise<number> {
    this.#sightings = sightings;
    this.#joinerId = id;
    this.#joiner = new EtcdElection({
      nodeId: id,
      nodeAddress: '127.0.0.1:9090',
      client: this.#joinerClient,
      prefix: this.#prefix,
      electionTimeout: TTL_SECONDS * 1000,
      heartbeatInterval: heartbeatFor(TTL_SECONDS),
      initialLeadership: 0,
    });
    const startedAt = nowMs();
    await this.#joiner.start();
    await pollUntil(
      () => sightings.leader.size === this.#watchers.length,
      `all ZTAP watchers see ${id} lead`,
      10_000,
      1,
    );
    return startedAt;
  }

  async leave(sightings: Sightings): Promise<void> {
    await this.#joiner?.stop();
    await pollUntil(
      () => sightings.gone.size === this.#watchers.length,
      'all ZTAP watchers see the joiner leave',
      10_000,
      5,
    );
  }

  async stop(): Promise<void> {
    await this.#joiner?.stop();
    await inBatches(this.#watchers, 50, (watcher) => watcher.stop());
    this.#joinerClient.close();
  }
}

class Etcd3Fanout implements FanoutGroup {
  readonly #endpoint: string;
  readonly #name: string;
  readonly #count: number;
  readonly #clients: Etcd3[] = [];
  readonly #observers: ElectionObserver[] = [];
  readonly #joinerClient: Etcd3;
  #campaign: ReturnType<ReturnType<Etcd3['election']>['campaign']> | undefined;
  #sightings: Sightings | undefined;
  #joinerId: string | undefined;

  constructor(endpoint: string, name: string, count: number) {
    this.#endpoint = endpoint;
    this.#name = name;
    this.#count = count;
    this.#joinerClient = new Etcd3({ hosts: endpoint });
  }

  async start(): Promise<void> {
    const indexes = Array.from({ length: this.#count }, (_, index) => index);
    await inBatches(indexes, 20, async (index) => {
      const client = new Etcd3({ hosts: this.#endpoint });
      this.#clients.push(client);
      const observer = await client.election(this.#name, TTL_SECONDS).observe();
      this.#observers.push(observer);
      observer.on('change', (leader: string | undefined) => {
        const at = nowMs();
        const sightings = this.#sightings;
        if (!sightings) return;
        if (leader === this.#joinerId) sightings.leader.set(index, at);
        else if (leader === undefined) sightings.gone.add(index);
      });
    });
    await this.#joinerClient.get(`election/${this.#name}/warm-up`).string();
  }

  async join(id: string, sightings: Sightings): Promise<number> {
    this.#sightings = sightings;
    this.#joinerId = id;
    const startedAt = nowMs();
    this.#campaign = this.#joinerClient.election(this.#name, TTL_SECONDS).campaign(id);
    await pollUntil(
      () => sightings.leader.size === this.#count,
      `all etcd3 observers see ${id} lead`,
      10_000,
      1,
    );
    return startedAt;
  }

  async leave(sightings: Sightings): Promise<void> {
    await this.#campaign?.resign();
    await pollUntil(
      () => sightings.gone.size === this.#count,
      'all etcd3 observers see the joiner leave',
      10_000,
      5,
    );
  }

  async stop(): Promise<void> {
    await this.#campaign?.resign().catch(() => {});
    await Promise.all(this.#observers.map((observer) => observer.cancel().catch(() => {})));
    for (const client of this.#clients) client.close();
    this.#joinerClient.close();
  }
}
