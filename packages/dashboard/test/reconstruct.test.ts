import { describe, expect, it } from 'vitest';
import type { HistoryEvent, PrefixHistory, SourceKeys } from '../src/etcd-source.ts';
import { leadershipsFromHistory, timedLeaderships } from '../src/reconstruct.ts';

const prefix = '/ztap/clusters/t/';
const keys: SourceKeys = {
  prefix,
  membersPrefix: `${prefix}members/`,
  electionPrefix: `${prefix}election/`,
  policiesPrefix: `${prefix}policies/`,
};

/** A tiny script of etcd writes: revisions are assigned in order, one per line unless grouped. */
class Script {
  readonly events: HistoryEvent[] = [];
  #revision: number;
  #created = new Map<string, number>();

  constructor(start = 1) {
    this.#revision = start;
  }

  /** Several writes in one revision (a txn, or a lease revoke deleting every key on the lease). */
  at(...writes: ((revision: number) => HistoryEvent)[]): this {
    this.#revision++;
    for (const write of writes) this.events.push(write(this.#revision));
    return this;
  }

  join(node: string, joinedAt: string, health = 'healthy') {
    return (revision: number): HistoryEvent =>
      this.#put(
        `${keys.membersPrefix}${node}`,
        JSON.stringify({ address: 'h:1', metadata: {}, joinedAt, health }),
        revision,
      );
  }

  health(node: string, health: string) {
    return (revision: number): HistoryEvent =>
      this.#put(
        `${keys.membersPrefix}${node}`,
        JSON.stringify({ address: 'h:1', metadata: {}, joinedAt: '2026-01-01T00:00:00Z', health }),
        revision,
      );
  }

  campaign(node: string, lease: string) {
    return (revision: number): HistoryEvent => this.#put(`${keys.electionPrefix}${lease}`, node, revision);
  }

  withdraw(lease: string) {
    return (revision: number): HistoryEvent => this.#delete(`${keys.electionPrefix}${lease}`, revision);
  }

  leave(node: string) {
    return (revision: number): HistoryEvent => this.#delete(`${keys.membersPrefix}${node}`, revision);
  }

  policy(name: string, updatedAt: string) {
    return (revision: number): HistoryEvent =>
      this.#put(
        `${keys.policiesPrefix}${name}`,
        JSON.stringify({ document: 'a: 1', updatedAt, updatedBy: 'operator' }),
        revision,
      );
  }

  #put(key: string, value: string, revision: number): HistoryEvent {
    if (!this.#created.has(key)) this.#created.set(key, revision);
    return { type: 'put', key, value, revision, createRevision: this.#created.get(key) as number };
  }

  #delete(key: string, revision: number): HistoryEvent {
    const createRevision = this.#created.get(key) ?? 0;
    this.#created.delete(key);
    return { type: 'delete', key, value: '', revision, createRevision };
  }

  history(toRevision = this.#revision): PrefixHistory {
    return { oldestRevision: 1, initial: [], events: this.events, toRevision };
  }
}

describe('leadershipsFromHistory', () => {
  it('orders leaderships by the lowest live campaign key, with exact terms and revisions', () => {
    const s = new Script();
    s.at(s.join('a', '2026-01-01T00:00:00Z'), s.campaign('a', '1')) // 2: a leads, term 2
      .at(s.join('b', '2026-01-01T00:00:10Z'), s.campaign('b', '2')) // 3: b queues
      .at(s.withdraw('1'), s.leave('a')) // 4: a's lease revoked: b leads from 4
      .at(s.campaign('c', '3')); // 5: c queues behind b
    const { leaderships } = leadershipsFromHistory(s.history(), keys);
    expect(leaderships).toEqual([
      {
        term: 2,
        nodeId: 'a',
        startRevision: 2,
        startBefore: false,
        endRevision: 4,
        endReason: 'lease_ended',
      },
      { term: 3, nodeId: 'b', startRevision: 4, startBefore: false },
    ]);
  });

  it('tells a resignation (member stays healthy) from an unhealthy step-down', () => {
    const s = new Script();
    s.at(s.join('a', '2026-01-01T00:00:00Z'), s.campaign('a', '1')) // 2
      .at(s.withdraw('1')) // 3: a resigns, no leader
      .at(s.campaign('a', '1b')) // 4: a campaigns again: term 4
      .at(s.health('a', 'unhealthy')) // 5
      .at(s.withdraw('1b')); // 6: a steps down while unhealthy
    const { leaderships } = leadershipsFromHistory(s.history(), keys);
    expect(leaderships.map((l) => [l.term, l.startRevision, l.endRevision, l.endReason])).toEqual([
      [2, 2, 3, 'withdrew'],
      [4, 4, 6, 'unhealthy'],
    ]);
  });

  it('says a leadership under way at the oldest revision etcd kept began at or before it', () => {
    const history: PrefixHistory = {
      oldestRevision: 50,
      initial: [{ key: `${keys.electionPrefix}9`, value: 'old', createRevision: 12, modRevision: 12 }],
      events: [
        { type: 'delete', key: `${keys.electionPrefix}9`, value: '', revision: 60, createRevision: 12 },
      ],
      toRevision: 70,
    };
    const { leaderships } = leadershipsFromHistory(history, keys);
    expect(leaderships).toEqual([
      {
        term: 12,
        nodeId: 'old',
        startRevision: 50,
        startBefore: true,
        endRevision: 60,
        endReason: 'unknown',
      },
    ]);
  });

  it('collects wall-time anchors from member creations and policy writes only', () => {
    const s = new Script();
    s.at(s.join('a', '2026-01-01T00:00:00Z'), s.campaign('a', '1')) // 2
      .at(s.health('a', 'unhealthy')) // 3: an update, not a creation: no anchor
      .at(s.policy('p', '2026-01-01T00:01:00Z')); // 4
    const { anchors } = leadershipsFromHistory(s.history(), keys);
    expect(anchors).toEqual([
      { revision: 2, time: Date.parse('2026-01-01T00:00:00Z') },
      { revision: 4, time: Date.parse('2026-01-01T00:01:00Z') },
    ]);
  });
});

describe('timedLeaderships', () => {
  it('places revisions in time between anchors and marks them estimated', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const timed = timedLeaderships(
      [{ term: 2, nodeId: 'a', startRevision: 2, startBefore: false, endRevision: 6, endReason: 'withdrew' }],
      [{ revision: 2, time: start }],
      { revision: 10, time: start + 80_000 },
    );
    expect(timed).toEqual([
      {
        term: 2,
        nodeId: 'a',
        start: { at: new Date(start).toISOString(), accuracy: 'estimated', revision: 2 },
        end: { at: new Date(start + 40_000).toISOString(), accuracy: 'estimated', revision: 6 },
        endReason: 'withdrew',
      },
    ]);
  });
});
