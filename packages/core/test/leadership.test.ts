import { describe, expect, it } from 'vitest';
import { LeadershipTracker } from '../src/backend.ts';
import { isElectionStoppedError, isLeadershipLostError, isNotLeaderError } from '../src/index.ts';

describe('LeadershipTracker', () => {
  it('hands out an aborted signal while not leader', () => {
    const tracker = new LeadershipTracker('n1');
    expect(tracker.signal.aborted).toBe(true);
    expect(isNotLeaderError(tracker.signal.reason)).toBe(true);
  });

  it('a leadership has a live signal that aborts with the reason when it ends', () => {
    const tracker = new LeadershipTracker('n1');
    expect(tracker.gain(5)).toBe(true);
    expect(tracker.gain(5)).toBe(false);
    const signal = tracker.signal;
    expect(signal.aborted).toBe(false);
    expect(tracker.lose('deadline')).toBe(5);
    expect(signal.aborted).toBe(true);
    expect(isLeadershipLostError(signal.reason) && signal.reason).toMatchObject({
      term: 5,
      reason: 'deadline',
    });
    expect(tracker.lose('deadline')).toBeUndefined();
  });

  it('a new term ends the previous leadership as superseded', () => {
    const tracker = new LeadershipTracker('n1');
    tracker.gain(1);
    const first = tracker.signal;
    tracker.gain(2);
    expect(first.reason).toMatchObject({ reason: 'superseded', term: 1 });
    expect(tracker.term).toBe(2);
  });

  it('never gives back a term that ended', () => {
    const tracker = new LeadershipTracker('n1');
    tracker.gain(7);
    tracker.lose('resigned');
    expect(tracker.gain(7)).toBe(false);
    expect(tracker.gain(6)).toBe(false);
    expect(tracker.isLeader).toBe(false);
    expect(tracker.lastEndedTerm).toBe(7);
    expect(tracker.gain(8)).toBe(true);
  });

  it('wakes waiters when leadership begins', async () => {
    const tracker = new LeadershipTracker('n1');
    const waiting = tracker.waitFor();
    tracker.gain(3);
    expect((await waiting).term).toBe(3);
    expect((await tracker.waitFor()).term).toBe(3);
  });

  it('rejects waiters on abort and when the election stops', async () => {
    const tracker = new LeadershipTracker('n1');
    const controller = new AbortController();
    const aborted = tracker.waitFor(controller.signal);
    const stopped = tracker.waitFor();
    controller.abort(new Error('gave up'));
    tracker.rejectWaiters('stopped');
    await expect(aborted).rejects.toThrow('gave up');
    await expect(stopped).rejects.toSatisfy(isElectionStoppedError);
    await expect(tracker.waitFor(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
