import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { Admission } from '../src/admission.ts';
import { type CallAccount, EtcdCaller, MAX_REQUESTS_IN_FLIGHT } from '../src/calls.ts';
import {
  isEtcdAuthError,
  isEtcdNoSpaceError,
  isEtcdPermissionError,
  isEtcdUnavailableError,
} from '../src/errors.ts';
import { endpoints, nospace, unavailable } from './etcd-errors.ts';

/** An account that remembers what it was told. */
function account(): CallAccount & { reports: string[] } {
  const reports: string[] = [];
  return {
    attempts: 0,
    reports,
    report: (kind) => {
      reports.push(kind);
    },
  };
}

const caller = (maxRetries: number, requestTimeout = 1000) =>
  new EtcdCaller({ endpoints, maxRetries, requestTimeout });

/** Lets every pending promise callback run (not a sleep: nothing waits for time to pass). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

describe('EtcdCaller', () => {
  it('retries transient failures of reads and writes up to maxRetries, then reports them typed once', async () => {
    const mine = account();
    let attempts = 0;
    const outcome = caller(2).call(
      'read',
      async () => {
        attempts++;
        throw unavailable();
      },
      { class: 'read', account: mine },
    );
    await expect(outcome).rejects.toSatisfy(isEtcdUnavailableError);
    expect(attempts).toBe(3);
    expect(mine.attempts).toBe(3);
    expect(mine.reports).toEqual(['unavailable']);
  });

  it('succeeds when a retry does, and reports nothing', async () => {
    const mine = account();
    let attempts = 0;
    const value = await caller(3).call(
      'write',
      async () => {
        attempts++;
        if (attempts < 2) throw unavailable();
        return 'ok';
      },
      { class: 'write', account: mine },
    );
    expect(value).toBe('ok');
    expect(attempts).toBe(2);
    expect(mine.reports).toEqual([]);
  });

  it.each([
    ['NOSPACE', nospace, isEtcdNoSpaceError],
    [
      'permission denied',
      () => new EtcdPermissionDeniedError('etcdserver: permission denied'),
      isEtcdPermissionError,
    ],
    [
      'bad credentials',
      () =>
        new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'),
      isEtcdAuthError,
    ],
  ])('never retries %s', async (_name, failure, guard) => {
    let attempts = 0;
    await expect(
      caller(5).call(
        'write',
        async () => {
          attempts++;
          throw failure();
        },
        { class: 'write', account: account() },
      ),
    ).rejects.toSatisfy(guard as (error: unknown) => boolean);
    expect(attempts).toBe(1);
  });

  it('gives each attempt its own deadline', async () => {
    const deadlines: number[] = [];
    await caller(0).call(
      'read',
      async ({ deadline }) => {
        deadlines.push(deadline.getTime() - Date.now());
      },
      { class: 'read', account: account() },
    );
    expect(deadlines[0]).toBeGreaterThan(900);
    expect(deadlines[0]).toBeLessThanOrEqual(1000);
  });

  it("cuts every attempt's deadline to the deadline of the whole call", async () => {
    const deadline = new Date(Date.now() + 300);
    const seen: Date[] = [];
    await caller(0).call(
      'read',
      async (options) => {
        seen.push(options.deadline);
      },
      { class: 'read', account: account(), deadline },
    );
    expect(seen).toEqual([deadline]);
  });

  it('ends a call that outlives its deadline, retries included, as "no answer before the deadline"', async () => {
    // The attempt never answers (a silent server): only the deadline can end the call.
    const mine = account();
    const error = await caller(5)
      .call('read', () => new Promise<never>(() => {}), {
        class: 'read',
        account: mine,
        deadline: new Date(Date.now() + 100),
      })
      .catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('is unreachable (no answer before the deadline)');
    expect(mine.attempts).toBe(1);
    expect(mine.reports).toEqual(['unavailable']);
  });

  it('makes no attempt once the deadline has passed', async () => {
    const mine = account();
    const error = await caller(5)
      .call('read', async () => 'answered', {
        class: 'read',
        account: mine,
        deadline: new Date(Date.now() - 1),
      })
      .catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(mine.attempts).toBe(0);
  });

  it('stops retrying and rejects with the reason as soon as the signal aborts between attempts', async () => {
    const controller = new AbortController();
    const reason = new Error('interrupted');
    let attempts = 0;
    const outcome = caller(5)
      .call(
        'read',
        () => {
          attempts++;
          if (attempts === 2) controller.abort(reason);
          return attempts === 1 ? Promise.reject(unavailable()) : new Promise<never>(() => {});
        },
        { class: 'read', account: account(), signal: controller.signal },
      )
      .catch((error: unknown) => error);
    expect(await outcome).toBe(reason);
    expect(attempts).toBe(2);
  });

  it('never repeats a call of class "once"', async () => {
    let attempts = 0;
    await expect(
      caller(5).call(
        'fenced write',
        async () => {
          attempts++;
          throw unavailable();
        },
        { class: 'once', account: account() },
      ),
    ).rejects.toSatisfy(isEtcdUnavailableError);
    expect(attempts).toBe(1);
  });

  it('rejects with the signal’s reason as soon as it aborts, without waiting for the answer or reporting', async () => {
    const mine = account();
    const controller = new AbortController();
    const answer = deferred<string>();
    const outcome = caller(3).call('read', () => answer.promise, {
      class: 'read',
      account: mine,
      signal: controller.signal,
    });
    const reason = new Error('stopped');
    controller.abort(reason);
    await expect(outcome).rejects.toBe(reason);
    answer.resolve('late');
    expect(mine.reports).toEqual([]);
    await expect(
      caller(3).call('read', async () => 'never', {
        class: 'read',
        account: mine,
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
    expect(mine.attempts).toBe(1);
  });

  it(`has at most ${MAX_REQUESTS_IN_FLIGHT} requests in flight; the others wait their turn, in order`, async () => {
    const etcd = caller(0, 60_000);
    const answers = Array.from({ length: MAX_REQUESTS_IN_FLIGHT + 2 }, () => deferred<number>());
    const started: number[] = [];
    const calls = answers.map((answer, index) =>
      etcd.call(
        'read',
        async () => {
          started.push(index);
          return answer.promise;
        },
        { class: 'read', account: account() },
      ),
    );
    await flush();
    expect(started).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    answers[3]?.resolve(3);
    expect(await calls[3]).toBe(3);
    await flush();
    expect(started.slice(MAX_REQUESTS_IN_FLIGHT)).toEqual([MAX_REQUESTS_IN_FLIGHT]);
    for (const [index, answer] of answers.entries()) answer.resolve(index);
    expect(await Promise.all(calls)).toEqual(answers.map((_, index) => index));
    expect(started).toHaveLength(answers.length);
  });
});

describe('EtcdCaller with a full line', () => {
  it("counts the wait for a slot against the whole call's deadline", async () => {
    const etcd = caller(5, 60_000);
    const answers = Array.from({ length: MAX_REQUESTS_IN_FLIGHT }, () => deferred<number>());
    const busy = answers.map((answer) =>
      etcd.call('read', () => answer.promise, { class: 'read', account: account() }),
    );
    await flush();
    const mine = account();
    const error = await etcd
      .call('read', async () => 'answered', {
        class: 'read',
        account: mine,
        deadline: new Date(Date.now() + 100),
      })
      .catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('no answer before the deadline');
    expect(mine.attempts).toBe(0);
    for (const [index, answer] of answers.entries()) answer.resolve(index);
    await Promise.all(busy);
  });
});

describe('Admission', () => {
  const late = (waitedMs: number) => new Error(`late after ${waitedMs} ms`);

  it('counts the wait against the deadline: a request still waiting when it passes is refused', async () => {
    const admission = new Admission(1, late);
    const first = await admission.acquire(Date.now() + 60_000);
    await expect(admission.acquire(Date.now() + 20)).rejects.toThrow(/^late after \d+ ms$/);
    const third = admission.acquire(Date.now() + 60_000);
    first();
    const release = await third;
    release();
    release(); // releasing twice frees one slot, not two
    const again = await admission.acquire(Date.now() + 60_000);
    const waiting = admission.acquire(Date.now() + 60_000);
    let admitted = false;
    void waiting.then(() => {
      admitted = true;
    });
    await flush();
    expect(admitted).toBe(false);
    again();
    (await waiting)();
  });

  it('lets a waiting caller give up when its signal aborts, and admits the next one', async () => {
    const admission = new Admission(1, late);
    const holder = await admission.acquire(Date.now() + 60_000);
    const controller = new AbortController();
    const givingUp = admission.acquire(Date.now() + 60_000, controller.signal);
    const next = admission.acquire(Date.now() + 60_000);
    controller.abort(new Error('no longer needed'));
    await expect(givingUp).rejects.toThrow('no longer needed');
    holder();
    (await next)();
  });
});
