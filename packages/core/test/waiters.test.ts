import { describe, expect, it } from 'vitest';
import { Waiters } from '../src/waiters.ts';

describe('Waiters', () => {
  it('resolves every waiter with the value, once', async () => {
    const waiters = new Waiters<number>();
    const first = waiters.wait();
    const second = waiters.wait();
    waiters.resolveAll(7);
    waiters.resolveAll(8);
    await expect(Promise.all([first, second])).resolves.toEqual([7, 7]);
  });

  it('a waiter that gives up gets its signal reason and is not resolved later', async () => {
    const waiters = new Waiters<number>();
    const controller = new AbortController();
    const abandoned = waiters.wait(controller.signal);
    const staying = waiters.wait();
    controller.abort(new Error('gave up'));
    await expect(abandoned).rejects.toThrow('gave up');
    waiters.rejectAll(new Error('stopped'));
    await expect(staying).rejects.toThrow('stopped');
  });

  it('an already aborted signal rejects at once', async () => {
    const waiters = new Waiters<number>();
    await expect(waiters.wait(AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
  });
});
