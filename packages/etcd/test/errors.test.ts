import {
  EtcdCaller,
  isEtcdAuthError,
  isEtcdNoSpaceError,
  isEtcdPermissionError,
  isEtcdRequestError,
  isEtcdUnavailableError,
  isTransientEtcdError,
  translateEtcdError,
} from '@ztap/cluster-etcd';
import {
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
} from 'etcd3';
import { describe, expect, it } from 'vitest';

const endpoints = ['http://127.0.0.1:2379'];
const unavailable = () =>
  new GRPCUnavailableError(
    '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379',
  );
const nospace = () =>
  new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded');

describe('etcd error translation', () => {
  it('names the unreachable endpoint and the cause, and asks the useful question', () => {
    const error = translateEtcdError(unavailable(), 'list the cluster prefix', endpoints);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(error.message).toBe(
      'etcd at http://127.0.0.1:2379 is unreachable (connect ECONNREFUSED 127.0.0.1:2379) — is etcd running, and are the endpoints right?',
    );
    expect(error.cause).toBeInstanceOf(GRPCUnavailableError);
  });

  it('says no connection could be made when grpc-js, retrying, has only "Last error: null"', () => {
    const error = translateEtcdError(
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. Last error: null. Resolution note: ',
      ),
      'read the cluster',
      endpoints,
    );
    expect(error.message).toBe(
      'etcd at http://127.0.0.1:2379 is unreachable (no connection could be established) — is etcd running, and are the endpoints right?',
    );
  });

  it('explains NOSPACE, which etcd3 itself treats as transient', () => {
    const error = translateEtcdError(nospace(), 'publish the member record', endpoints);
    expect(isEtcdNoSpaceError(error)).toBe(true);
    expect(error.message).toContain('database space exceeded');
    expect(error.message).toContain('etcdctl compact / defrag / alarm disarm');
  });

  it('tells permission from authentication failures', () => {
    const denied = translateEtcdError(
      new EtcdPermissionDeniedError('etcdserver: permission denied'),
      'register a node',
      endpoints,
    );
    expect(isEtcdPermissionError(denied)).toBe(true);
    expect(denied.message).toBe(
      "etcd denied permission to register a node: the user's role does not cover this key range",
    );
    const rejected = translateEtcdError(
      new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'),
      'x',
      endpoints,
    );
    expect(isEtcdAuthError(rejected)).toBe(true);
    expect(rejected.message).toContain('authentication failed, invalid user ID or password');
  });

  it('explains a TLS failure as such', () => {
    const error = translateEtcdError(
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. Last error: SSL routines:wrong version number',
      ),
      'x',
      endpoints,
    );
    expect(error.message).toContain('TLS handshake failed');
  });

  it('explains a connection reset while connecting to an https endpoint as a TLS failure', () => {
    const reset = new GRPCUnavailableError(
      '14 UNAVAILABLE: No connection established. Last error: read ECONNRESET',
    );
    const error = translateEtcdError(reset, 'x', ['https://127.0.0.1:2379']);
    expect(error.message).toBe(
      'etcd at https://127.0.0.1:2379 is unreachable (TLS handshake failed: read ECONNRESET) — does the endpoint speak TLS (https://), and does the CA you gave match its certificate?',
    );
    expect(translateEtcdError(reset, 'x', endpoints).message).toContain(
      '(read ECONNRESET) — is etcd running',
    );
  });

  it('wraps anything else with the operation and the original message', () => {
    const error = translateEtcdError(
      new Error('etcdserver: too many operations in txn request'),
      'campaign',
      endpoints,
    );
    expect(isEtcdRequestError(error)).toBe(true);
    expect(error.message).toBe('etcd failed to campaign: etcdserver: too many operations in txn request');
  });

  it('classifies only unreachability and slowness as transient', () => {
    expect(isTransientEtcdError(unavailable())).toBe(true);
    expect(
      isTransientEtcdError(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded')),
    ).toBe(true);
    expect(isTransientEtcdError(new Error('etcdserver: no leader'))).toBe(true);
    expect(isTransientEtcdError(nospace())).toBe(false);
    expect(isTransientEtcdError(new EtcdPermissionDeniedError('etcdserver: permission denied'))).toBe(false);
    expect(isTransientEtcdError(new Error('etcdserver: invalid auth token'))).toBe(false);
  });
});

describe('EtcdCaller', () => {
  const caller = (maxRetries: number) => new EtcdCaller({ endpoints, maxRetries, requestTimeout: 1000 });

  it('retries transient failures up to maxRetries, then reports them typed', async () => {
    const etcd = caller(2);
    let attempts = 0;
    const outcome = etcd.call('read', async () => {
      attempts++;
      throw unavailable();
    });
    await expect(outcome).rejects.toSatisfy(isEtcdUnavailableError);
    expect(attempts).toBe(3);
    expect(etcd.attempts).toBe(3);
  });

  it('succeeds when a retry does', async () => {
    let attempts = 0;
    const value = await caller(3).call('read', async () => {
      attempts++;
      if (attempts < 2) throw unavailable();
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(attempts).toBe(2);
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
      caller(5).call('write', async () => {
        attempts++;
        throw failure();
      }),
    ).rejects.toSatisfy(guard as (error: unknown) => boolean);
    expect(attempts).toBe(1);
  });

  it('gives each attempt its own deadline', async () => {
    const deadlines: number[] = [];
    await caller(0).call('read', async ({ deadline }) => {
      deadlines.push(deadline.getTime() - Date.now());
    });
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
      undefined,
      { deadline },
    );
    expect(seen).toEqual([deadline]);
  });

  it('ends a call that outlives its deadline, retries included, as "no answer before the deadline"', async () => {
    // The attempt never answers (a silent server): only the deadline can end the call.
    const etcd = caller(5);
    const error = await etcd
      .call('read', () => new Promise<never>(() => {}), undefined, { deadline: new Date(Date.now() + 100) })
      .catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('is unreachable (no answer before the deadline)');
    expect(etcd.attempts).toBe(1);
  });

  it('makes no attempt once the deadline has passed', async () => {
    const etcd = caller(5);
    const error = await etcd
      .call('read', async () => 'answered', undefined, { deadline: new Date(Date.now() - 1) })
      .catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect(etcd.attempts).toBe(0);
  });

  it('stops retrying and rejects with the reason as soon as the signal aborts', async () => {
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
        controller.signal,
      )
      .catch((error: unknown) => error);
    expect(await outcome).toBe(reason);
    expect(attempts).toBe(2);
  });

  it('does not repeat writes marked as not retryable', async () => {
    let attempts = 0;
    await expect(
      caller(5).call(
        'fenced write',
        async () => {
          attempts++;
          throw unavailable();
        },
        undefined,
        { retry: false },
      ),
    ).rejects.toSatisfy(isEtcdUnavailableError);
    expect(attempts).toBe(1);
  });
});
