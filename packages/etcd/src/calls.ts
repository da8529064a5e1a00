import type { BackendErrorKind } from '@ztap/cluster';
import { ExponentialBackoff, handleWhen, type RetryPolicy, retry } from 'cockatiel';
import { Admission } from './admission.ts';
import { EtcdUnavailableError, isTransientEtcdError, translateEtcdError } from './errors.ts';

/** gRPC call options carrying the per-attempt deadline. */
export interface CallDeadline {
  readonly deadline: Date;
}

/** How long a one-shot request to etcd (a read, an operator's write) may take, and how to abandon it. */
export interface CallOptions {
  /** Abandons the call at once, retries included: it rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * When the whole call, retries included, must be over. No attempt's own deadline goes past it;
   * when it passes, the call fails with `EtcdUnavailableError` ("no answer before the deadline").
   */
  readonly deadline?: Date | undefined;
}

/**
 * On whose behalf a call is made: its attempts are counted there, and a call that finally fails is
 * reported there (an election's own calls to that election's telemetry; the shared watch's calls to
 * every election on the client).
 */
export interface CallAccount {
  attempts: number;
  report(kind: BackendErrorKind, error: Error): void;
}

/**
 * How a call may be repeated — the deliberate policy per class of call:
 *
 * - `read`: reads (list, revision checks, policy reads). Retried on transient errors.
 * - `write`: writes whose repetition is harmless or checked: the campaign key is created only if
 *   absent, the member record says the same thing twice, a withdrawal deletes what is already gone,
 *   a lease granted twice expires unused, a revoke of a revoked lease fails harmlessly. Retried on
 *   transient errors; the mirror then shows what really happened.
 * - `once`: writes only the caller can judge (fenced leader writes, an operator's compare-and-set):
 *   never retried.
 *
 * No call class has a circuit breaker, on purpose: an election must keep trying to renew, re-list
 * and revoke while etcd recovers, and its safety does not depend on reaching etcd (it steps down on
 * its own deadline). A breaker would turn a short outage into refused revokes and a mirror left
 * stale, and would make unrelated calls share the fate of the ones that failed.
 */
export type CallClass = 'read' | 'write' | 'once';

/** One call as the caller runs it: its class and account, and the caller's signal and deadline. */
export interface CallSpec extends CallOptions {
  readonly class: CallClass;
  readonly account: CallAccount;
}

/** Requests in flight per client (admission control); the rest wait in line, within their deadline. */
export const MAX_REQUESTS_IN_FLIGHT = 64;

/**
 * Runs unary etcd calls the way every call in this package must run: admitted by the client's
 * in-flight bound, each attempt with its own deadline (which the wait for admission counts against),
 * transient failures of retryable classes retried `maxRetries` times with exponential backoff
 * (cockatiel), and whatever finally fails translated into a typed error with a clear message and
 * reported to the call's account. Non-transient errors (NOSPACE, auth, permission, a lost lease) fail
 * at once. One caller per etcd client and prefix (see context.ts).
 */
export class EtcdCaller {
  readonly #policy: RetryPolicy;
  readonly #endpoints: readonly string[];
  readonly #requestTimeout: number;
  readonly #admission: Admission;

  constructor(options: { endpoints: readonly string[]; maxRetries: number; requestTimeout: number }) {
    this.#endpoints = options.endpoints;
    this.#requestTimeout = options.requestTimeout;
    this.#policy = retry(handleWhen(isTransientEtcdError), {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }),
    });
    this.#admission = new Admission(
      MAX_REQUESTS_IN_FLIGHT,
      (waitedMs) =>
        new EtcdUnavailableError(
          this.#endpoints,
          `no answer before the deadline: the request waited ${waitedMs} ms behind ${MAX_REQUESTS_IN_FLIGHT} others in flight`,
        ),
    );
  }

  /**
   * Bounds work that has no deadline of its own (such as opening a watch) by the request timeout;
   * a timeout is reported like an unreachable etcd.
   */
  async within<T>(operation: string, work: Promise<T>, account: CallAccount): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new EtcdUnavailableError(this.#endpoints, `no answer within ${this.#requestTimeout} ms`)),
        this.#requestTimeout,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw this.#failed(translateEtcdError(error, operation, this.#endpoints), account);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `attempt` under the policy of its class. `operation` names it in errors ("publish the
   * member record"). The attempt gets the gRPC deadline to pass on: the request timeout from when it
   * was admitted, cut to the whole call's `deadline` if one is given. `signal` abandons the call at
   * once, retries included, rejecting with its reason; when `deadline` passes the call fails with
   * `EtcdUnavailableError` ("no answer before the deadline").
   */
  async call<T>(
    operation: string,
    attempt: (deadline: CallDeadline) => Promise<T>,
    options: CallSpec,
  ): Promise<T> {
    const { signal, account, deadline } = options;
    signal?.throwIfAborted();
    const untilMs = deadline?.getTime();
    if (untilMs !== undefined && untilMs <= Date.now()) throw this.#outOfTime(undefined, account);
    const expired = untilMs === undefined ? undefined : AbortSignal.timeout(untilMs - Date.now());
    const stop = signal && expired ? AbortSignal.any([signal, expired]) : (signal ?? expired);
    const once = async () => {
      const ownMs = Date.now() + this.#requestTimeout;
      const deadlineMs = untilMs === undefined ? ownMs : Math.min(ownMs, untilMs);
      const release = await this.#admission.acquire(deadlineMs, stop);
      try {
        account.attempts++;
        return await attempt({ deadline: new Date(deadlineMs) });
      } finally {
        release();
      }
    };
    try {
      const work = options.class === 'once' ? once() : this.#policy.execute(once, stop);
      // The retry policy looks at the signal only between attempts; a waiting attempt is left behind
      // at once (its own deadline, cut to `deadline`, ends it on the wire).
      return await abortable(work, stop);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // An attempt's own deadline may fire a moment before the timer: both mean "out of time".
      const late = untilMs !== undefined && Date.now() >= untilMs;
      if ((expired?.aborted && error === expired.reason) || (late && isTransientEtcdError(error)))
        throw this.#outOfTime(error, account);
      throw this.#failed(translateEtcdError(error, operation, this.#endpoints), account);
    }
  }

  #outOfTime(cause: unknown, account: CallAccount): Error {
    return this.#failed(
      new EtcdUnavailableError(this.#endpoints, 'no answer before the deadline', { cause }),
      account,
    );
  }

  #failed(error: Error, account: CallAccount): Error {
    account.report(errorKind(error), error);
    return error;
  }
}

const KIND_OF_CODE: Readonly<Record<string, BackendErrorKind>> = {
  ZTAP_ETCD_UNAVAILABLE: 'unavailable',
  ZTAP_ETCD_NOSPACE: 'nospace',
  ZTAP_ETCD_PERMISSION_DENIED: 'permission',
  ZTAP_ETCD_AUTH: 'auth',
};

/** `unavailable`, `nospace`, `permission`, `auth` or `request`: the metrics label of an etcd error. */
export function errorKind(error: Error): BackendErrorKind {
  return KIND_OF_CODE[String((error as { code?: unknown }).code ?? '')] ?? 'request';
}

/** Rejects with the signal's reason when it aborts first; the work itself is left to finish. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {}); // finishing later must not surface as an unhandled rejection
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
