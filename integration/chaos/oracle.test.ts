/**
 * The work-overlap check on hand-made reports: it must flag what a handover without a drain
 * produces, and accept what a drained one does.
 */
import { describe, expect, it } from 'vitest';
import type { NodeEvent, NodeProcess } from '../support/node-processes.ts';
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
