/**
 * N candidates of one system in this process, plus one observer on its own client: what the
 * handover and herd scenarios drive. Each group runs under its own key prefix (or election name), so
 * groups never see each other.
 */
import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { type Campaign, type ElectionObserver, Etcd3 } from 'etcd3';
import type { SystemName } from './results.ts';
import { Latch, nowMs, pollUntil, sleep, within } from './time.ts';

export interface GroupOptions {
  readonly endpoint: string;
  readonly candidates: number;
  readonly ttlSeconds: number;
  /** A name unique to this group: the ZTAP cluster prefix or the etcd3 election name. */
  readonly name: string;
  /** `shared`: every candidate on one client (one connection); `own`: a client per candidate. */
  readonly clients: 'shared' | 'own';
  /** Bound on starting the group. */
  readonly startTimeoutMs: number;
}

/** One handover, timed from just before the leader resigns (monotonic ms). */
export interface HandoverSample {
  readonly oldLeader: string;
  readonly newLeader: string;
  /** Resign called → the successor's process learns it leads. */
  readonly electedMs: number;
  /** Resign called → the observer (another client) learns the new leader. */
  readonly observedMs: number;
}

export interface CandidateGroup {
  readonly system: SystemName;
  start(): Promise<void>;
  /**
   * The leader resigns and stays a candidate (back of the queue); resolves with the timings once the
   * successor leads, the observer knows, and the resigned node is queued again.
   */
  handover(timeoutMs: number): Promise<HandoverSample>;
  stop(): Promise<void>;
  /** Requests the group's own processes counted (ZTAP's `requestCount`); undefined for etcd3. */
  requestCount(): number | undefined;
  /** What went wrong along the way (failed starts tried again, campaign errors): should be nothing. */
  incidents(): string[];
}

/** The keepalive period both systems use: etcd3 sends every TTL/3, so ZTAP is configured the same. */
export const heartbeatFor = (ttlSeconds: number): number => Math.floor((ttlSeconds * 1000) / 3);

/** A leader observed by a candidate or an observer, with when it was seen. */
interface Sighting {
  readonly id: string | undefined;
  readonly term?: number;
  readonly at: number;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** Candidates join this many at a time (both systems). */
export const JOIN_CONCURRENCY = 10;

export class ZtapGroup implements CandidateGroup {
  readonly system = 'ztap';
  /** Starts that failed and were tried again. */
  startRetries = 0;
  readonly #options: GroupOptions;
  readonly #shared: ReturnType<typeof createEtcdClient> | undefined;
  readonly #candidates: EtcdElection[] = [];
  readonly #observer: EtcdElection;
  readonly #elected = new Latch<Sighting & { election: EtcdElection }>();
  readonly #observed = new Latch<Sighting>();
  #leader: (Sighting & { election: EtcdElection }) | undefined;
  #observedLeader: string | undefined;

  constructor(options: GroupOptions) {
    this.#options = options;
    const prefix = `/bench/${options.name}/`;
    const timing = {
      electionTimeout: options.ttlSeconds * 1000,
      heartbeatInterval: heartbeatFor(options.ttlSeconds),
    };
    this.#shared =
      options.clients === 'shared'
        ? createEtcdClient({ endpoints: [options.endpoint], requestTimeout: 2500 })
        : undefined;
    for (let index = 0; index < options.candidates; index++) {
      this.#candidates.push(
        new EtcdElection({
          nodeId: `c${index}`,
          nodeAddress: `127.0.0.1:${10000 + index}`,
          ...(this.#shared ? { client: this.#shared } : { endpoints: [options.endpoint] }),
          prefix,
          ...timing,
          initialLeadership: 0,
        }),
      );
    }
    // Never eligible during a run: a member that only watches.
    this.#observer = new EtcdElection({
      nodeId: 'observer',
      nodeAddress: '127.0.0.1:9999',
      endpoints: [options.endpoint],
      prefix,
      ...timing,
      initialLeadership: 86_400_000,
    });
  }

  incidents(): string[] {
    return this.startRetries > 0 ? [`${this.startRetries} ZTAP start() call(s) failed and were retried`] : [];
  }

  requestCount(): number {
    return [...this.#candidates, this.#observer].reduce((sum, election) => sum + election.requestCount, 0);
  }

  async start(): Promise<void> {
    const { startTimeoutMs } = this.#options;
    // In order, a few at a time: the first candidates queue first.
    await within(
      inBatches(this.#candidates, JOIN_CONCURRENCY, async (election) => {
        // A start can fail when the event loop is too busy to send the first keepalive in time (see
        // docs/benchmarks.md); one more try, counted, keeps a loaded machine from ending the run.
        await election.start().catch(() => {
          this.startRetries++;
          return election.start();
        });
        void this.#follow(election);
      }),
      startTimeoutMs,
      `start ${this.#candidates.length} ZTAP candidates`,
    );
    // Like the etcd3 group, the observer joins a full election.
    await within(this.#observer.start(), startTimeoutMs, 'start the ZTAP observer');
    void this.#followObserver();
    await pollUntil(
      () => this.#leader !== undefined && this.#observedLeader === this.#leader.id,
      'a ZTAP leader the observer knows',
      startTimeoutMs,
    );
  }

  async #follow(election: EtcdElection): Promise<void> {
    for (;;) {
      let leadership: Awaited<ReturnType<EtcdElection['waitForLeadership']>>;
      try {
        leadership = await election.waitForLeadership();
      } catch {
        return; // stopped
      }
      const sighting = { id: election.nodeId, term: leadership.term, at: nowMs(), election };
      this.#leader = sighting;
      this.#elected.offer(sighting);
      await aborted(leadership.signal);
    }
  }

  async #followObserver(): Promise<void> {
    for await (const leader of this.#observer.leaderChanges()) {
      this.#observedLeader = leader?.id;
      this.#observed.offer({ id: leader?.id, at: nowMs() });
    }
  }

  async handover(timeoutMs: number): Promise<HandoverSample> {
    const old = this.#leader;
    if (!old?.election.isLeader()) throw new Error('no ZTAP leader to hand over from');
    const elected = this.#elected.next(
      (sighting) => sighting.id !== old.id && (sighting.term ?? 0) > (old.term ?? 0),
      timeoutMs,
      'the ZTAP successor is elected',
    );
    const observed = this.#observed.next(
      (sighting) => sighting.id !== undefined && sighting.id !== old.id,
      timeoutMs,
      'the ZTAP observer hears of the successor',
    );
    const start = nowMs();
    // resign() withdraws the campaign key and queues it again at the back: one call, as users make it.
    await within(old.election.resign(), timeoutMs, 'the ZTAP leader resigns');
    const [successor, sighting] = await Promise.all([elected, observed]);
    return {
      oldLeader: old.id as string,
      newLeader: successor.id as string,
      electedMs: successor.at - start,
      observedMs: sighting.at - start,
    };
  }

  async stop(): Promise<void> {
    await inBatches(this.#candidates, 100, (election) => election.stop());
    await this.#observer.stop();
    this.#shared?.close();
  }
}

export class Etcd3Group implements CandidateGroup {
  readonly system = 'etcd3';
  readonly #options: GroupOptions;
  readonly #clients: Etcd3[] = [];
  readonly #observerClient: Etcd3;
  readonly #campaigns = new Map<string, Campaign>();
  readonly #queued = new Set<string>();
  readonly #elected = new Latch<Sighting>();
  readonly #observed = new Latch<Sighting>();
  #observer: ElectionObserver | undefined;
  #leader: string | undefined;
  #observedLeader: string | undefined;
  #errors = 0;

  constructor(options: GroupOptions) {
    this.#options = options;
    const clientCount = options.clients === 'shared' ? 1 : options.candidates;
    for (let index = 0; index < clientCount; index++)
      this.#clients.push(new Etcd3({ hosts: options.endpoint }));
    this.#observerClient = new Etcd3({ hosts: options.endpoint });
  }

  requestCount(): undefined {
    return undefined;
  }

  incidents(): string[] {
    return this.#errors > 0 ? [`${this.#errors} etcd3 campaign(s) emitted 'error'`] : [];
  }

  #clientOf(index: number): Etcd3 {
    return this.#clients[this.#options.clients === 'shared' ? 0 : index] as Etcd3;
  }

  #campaign(index: number): Campaign {
    const id = `c${index}`;
    const campaign = this.#clientOf(index)
      .election(this.#options.name, this.#options.ttlSeconds)
      .campaign(id);
    this.#campaigns.set(id, campaign);
    // `_isWaiting` is etcd3's internal signal that a campaign found its predecessor and is about to
    // watch it; used only to know the queue is complete, never for timing.
    campaign.on('_isWaiting' as 'elected', () => this.#queued.add(id));
    campaign.on('elected', () => {
      const at = nowMs();
      this.#queued.add(id);
      this.#leader = id;
      this.#elected.offer({ id, at });
    });
    campaign.on('error', () => {
      this.#errors++;
    });
    return campaign;
  }

  async start(): Promise<void> {
    const { startTimeoutMs, candidates } = this.#options;
    // Campaigns start in order, a few at a time, like the ZTAP group.
    const indexes = Array.from({ length: candidates }, (_, index) => index);
    await within(
      inBatches(indexes, JOIN_CONCURRENCY, async (index) => {
        const id = `c${index}`;
        this.#campaign(index);
        await pollUntil(() => this.#queued.has(id), `etcd3 campaign ${id} queued`, startTimeoutMs, 2);
      }),
      startTimeoutMs,
      `start ${candidates} etcd3 campaigns`,
    );
    // The observer starts on a full election: etcd3 1.1.2's ElectionObserver, started on an empty
    // election, takes the *last* put of its first watch response as the leader, so candidates that
    // join together make it report the wrong leader until that one goes.
    this.#observer = await within(
      this.#observerClient.election(this.#options.name, this.#options.ttlSeconds).observe(),
      startTimeoutMs,
      'start the etcd3 observer',
    );
    this.#observedLeader = this.#observer.leader();
    this.#observer.on('change', (leader: string | undefined) => {
      this.#observedLeader = leader;
      this.#observed.offer({ id: leader, at: nowMs() });
    });
    await pollUntil(
      () => this.#leader !== undefined && this.#observedLeader === this.#leader,
      'an etcd3 leader the observer knows',
      startTimeoutMs,
    );
  }

  async handover(timeoutMs: number): Promise<HandoverSample> {
    const oldId = this.#leader;
    const old = oldId === undefined ? undefined : this.#campaigns.get(oldId);
    if (!old || oldId === undefined) throw new Error('no etcd3 leader to hand over from');
    const elected = this.#elected.next(
      (sighting) => sighting.id !== oldId,
      timeoutMs,
      'the etcd3 successor is elected',
    );
    const observed = this.#observed.next(
      (sighting) => sighting.id !== undefined && sighting.id !== oldId,
      timeoutMs,
      'the etcd3 observer hears of the successor',
    );
    const start = nowMs();
    // etcd3's resign revokes the campaign's lease; to stay a candidate, campaign again (below).
    this.#queued.delete(oldId);
    await within(old.resign(), timeoutMs, 'the etcd3 leader resigns');
    const [successor, sighting] = await Promise.all([elected, observed]);
    old.removeAllListeners();
    // Back in the queue, as ZTAP's resign() does in the same call: a new campaign (and lease).
    this.#campaign(Number(oldId.slice(1)));
    await pollUntil(() => this.#queued.has(oldId), `etcd3 ${oldId} queued again`, timeoutMs, 1);
    return {
      oldLeader: oldId,
      newLeader: successor.id as string,
      electedMs: successor.at - start,
      observedMs: sighting.at - start,
    };
  }

  async stop(): Promise<void> {
    await inBatches([...this.#campaigns.values()], 100, (campaign) => campaign.resign().catch(() => {}));
    await this.#observer?.cancel().catch(() => {});
    for (const client of this.#clients) client.close();
    this.#observerClient.close();
  }
}

export function createGroup(system: SystemName, options: GroupOptions): CandidateGroup {
  return system === 'ztap' ? new ZtapGroup(options) : new Etcd3Group(options);
}

/** Lets in-flight work (watch events, the re-queued candidate's watch) land before the next step. */
export const settle = (ms = 150) => sleep(ms);
