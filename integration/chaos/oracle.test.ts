/**
 * The work-overlap check on hand-made reports: it must flag what a handover without a drain
 * produces, and accept what a drained one does.
 */
import { describe, expect, it } from 'vitest';
import type { NodeEvent, NodeProcess } from '../support/node-processes.ts';
import {
  overlappingGlobalLeaders,
  regionDivergence,
  staleFencedWrites,
  unexplainedResyncs,
} from './multi-region-oracle.ts';
import { failedLeadLoops, overlappingWork } from './oracle.ts';

const ms = (value: number) => String(BigInt(value) * 1_000_000n);

function reported(nodeId: string, events: Partial<NodeEvent>[]): NodeProcess {
  return { nodeId, events: { items: events } } as unknown as NodeProcess;
}

describe('overlappingWork', () => {
  it('accepts work that ends before the next leader begins, and the current leader still working', () => {
    const nodes = [
      reported('n1', [
        { event: 'work-start', term: 5, at: ms(100) },
        { event: 'work-end', term: 5, at: ms(400) },
      ]),
      reported('n2', [{ event: 'work-start', term: 9, at: ms(410) }]),
    ];
    expect(overlappingWork(nodes)).toEqual([]);
  });

  it('flags a successor that began while the old leader was still cleaning up', () => {
    const nodes = [
      reported('n1', [
        { event: 'work-start', term: 5, at: ms(100) },
        { event: 'work-end', term: 5, at: ms(400) },
      ]),
      reported('n2', [{ event: 'work-start', term: 9, at: ms(210) }]),
    ];
    expect(overlappingWork(nodes)).toEqual([
      "n1's work under term 5 ran 190 ms past when n2's work under term 9 began",
    ]);
  });

  it('flags work that never reported its end (the process exited mid-cleanup) once a successor began', () => {
    const nodes = [
      reported('n1', [{ event: 'work-start', term: 5, at: ms(100) }]),
      reported('n2', [
        { event: 'work-start', term: 9, at: ms(300) },
        { event: 'work-end', term: 9, at: ms(500) },
      ]),
      reported('n3', [{ event: 'work-start', term: 12, at: ms(600) }]),
    ];
    expect(overlappingWork(nodes)).toEqual([
      "n1's work under term 5 had not ended when n2's work under term 9 began",
      "n1's work under term 5 had not ended when n3's work under term 12 began",
    ]);
  });
});

describe('failedLeadLoops', () => {
  it('names every node whose lead() rejected', () => {
    const nodes = [
      reported('n1', [{ event: 'lead-failed', error: 'LeaderWorkError: boom', at: ms(1) }]),
      reported('n2', [{ event: 'lead-ended', at: ms(2) }]),
    ];
    expect(failedLeadLoops(nodes)).toEqual(['n1: lead() rejected: LeaderWorkError: boom']);
  });
});

describe('multi-region invariants', () => {
  it('flags two global leaderships that overlap, accepts back-to-back ones', () => {
    const end = () => BigInt(ms(10_000));
    const handover = [
      reported('eu-1', [
        { event: 'global-leader', term: 3, at: ms(100) },
        { event: 'global-lost', term: 3, at: ms(500) },
      ]),
      reported('us-1', [{ event: 'global-leader', term: 8, at: ms(900) }]),
    ];
    expect(overlappingGlobalLeaders(handover, end)).toEqual([]);
    const overlap = [
      reported('eu-1', [
        { event: 'global-leader', term: 3, at: ms(100) },
        { event: 'global-lost', term: 3, at: ms(1000) },
      ]),
      reported('us-1', [{ event: 'global-leader', term: 8, at: ms(900) }]),
    ];
    expect(overlappingGlobalLeaders(overlap, end)).toEqual([
      'eu-1 still led globally (term 3) 100 ms after us-1 began to (term 8)',
    ]);
    // Never ended (killed at 950 ms): still overlapping.
    const killed = [
      reported('eu-1', [{ event: 'global-leader', term: 3, at: ms(100) }]),
      overlap[1] as NodeProcess,
    ];
    expect(
      overlappingGlobalLeaders(killed, (node) => (node.nodeId === 'eu-1' ? BigInt(ms(950)) : end())),
    ).toHaveLength(1);
  });

  it('flags a stale write accepted in the global store or in one region, not across regions', () => {
    const eu = reported('eu-1', [
      { event: 'replica-write', term: 9, ok: true, revision: 20, at: ms(1) },
      { event: 'global-write', term: 5, ok: true, revision: 40, at: ms(2) },
    ]);
    const ap = reported('ap-1', [
      { event: 'replica-write', term: 3, ok: true, revision: 25, at: ms(3) },
      { event: 'global-write', term: 4, ok: true, revision: 41, at: ms(4) },
    ]);
    const region = (node: NodeProcess) => (node.nodeId.startsWith('eu') ? 'eu' : 'ap');
    // Regional terms of different regions are not comparable; the global write of term 4 after 5 is stale.
    expect(staleFencedWrites([eu, ap], region)).toEqual([
      'global store: write of term 4 by ap-1 accepted at revision 41, after term 5 wrote at 40',
    ]);
    const eu2 = reported('eu-2', [{ event: 'replica-write', term: 7, ok: true, revision: 21, at: ms(5) }]);
    expect(staleFencedWrites([eu, eu2], () => 'eu')).toEqual([
      'region eu: write of term 7 by eu-2 accepted at revision 21, after term 9 wrote at 20',
    ]);
  });

  it('flags a region whose policies differ from the global store', () => {
    expect(regionDivergence({ a: 5, b: 7 }, { eu: { a: 5, b: 7 }, ap: { a: 5 } })).toEqual([
      'region ap holds [["a",5]], the global store [["a",5],["b",7]]',
    ]);
  });

  it('flags a resync that claims the global store changed, accepts compaction and first resyncs', () => {
    const node = reported('eu-1', [
      { event: 'replica-resync', reason: 'first', at: ms(1) },
      { event: 'replica-resync', reason: 'compacted', at: ms(2) },
      { event: 'replica-resync', reason: 'store_changed', at: ms(3) },
    ]);
    expect(unexplainedResyncs([node])).toEqual([
      'eu-1 resynced its region for "store_changed" although nothing changed the stores',
    ]);
  });
});
