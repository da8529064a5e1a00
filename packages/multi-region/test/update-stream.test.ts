import type { Policy, PolicyUpdate } from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import { UpdateStream } from '../src/update-stream.ts';

const policy = (name: string, version: number): Policy => ({
  name,
  version,
  document: `v: ${version}\n`,
  updatedAt: new Date(0),
  updatedBy: 'test',
});

function stream(state: Map<string, Policy>, bufferSize = 3) {
  let ended = 0;
  const updates = new UpdateStream(() => [...state.values()], {
    bufferSize,
    onEnd: () => {
      ended++;
    },
  });
  return { updates, ended: () => ended };
}

async function take(iterator: AsyncIterator<PolicyUpdate>, count: number): Promise<PolicyUpdate[]> {
  const taken: PolicyUpdate[] = [];
  for (let index = 0; index < count; index++) taken.push((await iterator.next()).value as PolicyUpdate);
  return taken;
}

describe('UpdateStream: one subscriber of replicated policies', () => {
  it('gives a snapshot first, then every update in order', async () => {
    const state = new Map([['a', policy('a', 1)]]);
    const { updates } = stream(state);
    const [snapshot] = await take(updates, 1);
    expect(snapshot).toEqual({ type: 'snapshot', policies: [policy('a', 1)] });
    updates.push({ type: 'updated', policy: policy('a', 2) });
    updates.push({ type: 'deleted', name: 'a', version: 3 });
    expect(await take(updates, 2)).toEqual([
      { type: 'updated', policy: policy('a', 2) },
      { type: 'deleted', name: 'a', version: 3 },
    ]);
  });

  it('replaces what a slow subscriber missed by a fresh snapshot, never by a partial list', async () => {
    const state = new Map<string, Policy>();
    const { updates } = stream(state, 2);
    await take(updates, 1);
    for (let version = 1; version <= 5; version++) {
      state.set('a', policy('a', version));
      updates.push({ type: 'updated', policy: policy('a', version) });
    }
    // Over the buffer: the queue became a snapshot of the state as it is when read.
    expect(await take(updates, 1)).toEqual([{ type: 'snapshot', policies: [policy('a', 5)] }]);
  });

  it('starts over with a snapshot when its source re-listed', async () => {
    const state = new Map([['a', policy('a', 1)]]);
    const { updates } = stream(state);
    await take(updates, 1);
    updates.push({ type: 'updated', policy: policy('a', 2) });
    state.set('a', policy('a', 7));
    updates.resync();
    expect(await take(updates, 1)).toEqual([{ type: 'snapshot', policies: [policy('a', 7)] }]);
  });

  it('ends a waiting reader and tells its source once', async () => {
    const { updates, ended } = stream(new Map());
    await take(updates, 1);
    const waiting = updates.next();
    updates.end();
    updates.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(ended()).toBe(1);
  });
});
