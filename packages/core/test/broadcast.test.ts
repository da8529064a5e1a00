import { Recorder } from '@ztap/testkit';
import { describe, expect, it } from 'vitest';
import { Broadcast } from '../src/backend.ts';
import { isWatchOverflowError } from '../src/index.ts';

describe('Broadcast', () => {
  it('delivers every item in order to every subscriber', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 100, overflow: 'error' });
    const first = new Recorder(broadcast.subscribe());
    const second = new Recorder(broadcast.subscribe());
    for (let n = 1; n <= 50; n++) broadcast.publish(n);
    const expected = Array.from({ length: 50 }, (_, index) => index + 1);
    expect(await first.until((items) => items.length === 50)).toEqual(expected);
    expect(await second.until((items) => items.length === 50)).toEqual(expected);
  });

  it('starts a subscription with its initial items', async () => {
    const broadcast = new Broadcast<string>({ bufferSize: 10, overflow: 'error' });
    const recorder = new Recorder(broadcast.subscribe({ initial: ['a', 'b'] }));
    broadcast.publish('c');
    expect(await recorder.until((items) => items.length === 3)).toEqual(['a', 'b', 'c']);
  });

  it('gives a consumer that stopped reading its buffer, then a WatchOverflowError, and frees it', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 3, overflow: 'error' });
    const stalled = broadcast.subscribe();
    for (let n = 1; n <= 10; n++) broadcast.publish(n);
    expect(broadcast.active).toBe(false);
    const received: number[] = [];
    await expect(
      (async () => {
        for await (const item of stalled) received.push(item);
      })(),
    ).rejects.toSatisfy(isWatchOverflowError);
    expect(received).toEqual([1, 2, 3]);
  });

  it('keeps only the newest items for a keep-latest subscriber', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 1, overflow: 'keep-latest' });
    const iterator = broadcast.subscribe();
    for (let n = 1; n <= 5; n++) broadcast.publish(n);
    expect(await iterator.next()).toEqual({ value: 5, done: false });
    broadcast.close();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('close() ends subscriptions after they deliver what they hold; new ones still work', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const recorder = new Recorder(broadcast.subscribe());
    broadcast.publish(1);
    broadcast.close();
    broadcast.publish(2);
    await recorder.ended();
    expect(recorder.items).toEqual([1]);
    const later = new Recorder(broadcast.subscribe());
    broadcast.publish(3);
    expect(await later.until((items) => items.length === 1)).toEqual([3]);
  });

  it('an abort ends the subscription at once, even with items buffered', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const controller = new AbortController();
    const iterator = broadcast.subscribe({ signal: controller.signal });
    broadcast.publish(1);
    controller.abort();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(broadcast.active).toBe(false);
  });

  it('a pending next() ends when the signal aborts', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const controller = new AbortController();
    const pending = broadcast.subscribe({ signal: controller.signal }).next();
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('an already aborted signal gives an iterator that is done', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const iterator = broadcast.subscribe({ signal: AbortSignal.abort() });
    broadcast.publish(1);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(broadcast.active).toBe(false);
  });

  it('breaking out of a for-await loop unsubscribes', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const iterable = broadcast.subscribe();
    broadcast.publish(1);
    for await (const item of iterable) {
      expect(item).toBe(1);
      break;
    }
    expect(broadcast.active).toBe(false);
  });

  it('tells its publisher when the first subscription begins and the last one ends', async () => {
    const activity: boolean[] = [];
    const broadcast = new Broadcast<number>({
      bufferSize: 10,
      overflow: 'error',
      onActiveChange: (active) => activity.push(active),
    });
    const controller = new AbortController();
    const first = broadcast.subscribe({ signal: controller.signal });
    const second = broadcast.subscribe();
    expect(activity).toEqual([true]);
    controller.abort();
    expect(activity).toEqual([true]);
    await second.return?.();
    expect(activity).toEqual([true, false]);
    broadcast.subscribe({ signal: AbortSignal.abort() });
    expect(activity).toEqual([true, false]);
    await first.return?.();
    expect(activity).toEqual([true, false]);
  });

  it('publishAll delivers the same objects, in order, to every subscriber', async () => {
    const broadcast = new Broadcast<{ n: number }>({ bufferSize: 10, overflow: 'error' });
    const first = new Recorder(broadcast.subscribe());
    const second = new Recorder(broadcast.subscribe());
    const items = [{ n: 1 }, { n: 2 }];
    broadcast.publishAll(items);
    const [a, b] = await Promise.all([
      first.until((all) => all.length === 2),
      second.until((all) => all.length === 2),
    ]);
    expect(a).toEqual(items);
    expect(a[0]).toBe(items[0]);
    expect(b[1]).toBe(items[1]);
  });

  it('serves concurrent next() calls in order', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 10, overflow: 'error' });
    const iterator = broadcast.subscribe();
    const pending = [iterator.next(), iterator.next()];
    broadcast.publish(1);
    broadcast.publish(2);
    expect(await Promise.all(pending)).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
    ]);
  });

  it('memory stays bounded while a long stream is consumed', async () => {
    const broadcast = new Broadcast<number>({ bufferSize: 4, overflow: 'error' });
    const iterator = broadcast.subscribe();
    let total = 0;
    for (let n = 0; n < 10_000; n++) {
      broadcast.publish(n);
      const result = await iterator.next();
      total += result.value ?? 0;
    }
    expect(total).toBe((9_999 * 10_000) / 2);
  });
});
