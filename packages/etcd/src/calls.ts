import type { BackendErrorKind } from '@ztap/cluster';
import { ExponentialBackoff, handleWhen, type RetryPolicy, retry } from 'cockatiel';
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
 * Runs unary etcd calls the way every call in this package must run: each attempt with its own
 * deadline, transient failures retried `maxRetries` times with exponential backoff (cockatiel), and
 * whatever finally fails translated into a typed error with a clear message. Non-transient errors
 * (NOSPACE, auth, permission) fail at once.
 */
export class EtcdCaller {
  readonly #policy: RetryPolicy;
  readonly #endpoints: readonly string[];
  readonly #requestTimeout: number;
  #attempts = 0;

  readonly #onError: ((kind: BackendErrorKind, error: Error) => void) | undefined;

  /** `onError` hears of every call that finally failed, by kind (for metrics). */
  constructor(options: {
    endpoints: readonly string[];
    maxRetries: number;
    requestTimeout: number;
    onError?: (kind: BackendErrorKind, error: Error) => void;
  }) {
    this.#endpoints = options.endpoints;
    this.#onError = options.onError;
    this.#requestTimeout = options.requestTimeout;
    this.#policy = retry(handleWhen(isTransientEtcdError), {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }),
    });
  }

  /** How many request attempts this caller has sent (retries included): a measure of load on etcd. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The deadline options for one attempt started now: the request timeout, cut to `until`. */
  deadline(until?: Date): CallDeadline {
    const own = Date.now() + this.#requestTimeout;
    return { deadline: new Date(until === undefined ? own : Math.min(own, until.getTime())) };
  }

  /**
   * Bounds work that has no deadline of its own (such as opening a watch) by the request timeout;
   * a timeout is reported like an unreachable etcd.
   */
  async within<T>(operation: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`DEADLINE_EXCEEDED after ${this.#requestTimeout} ms`)),
        this.#requestTimeout,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw this.#failed(translateEtcdError(error, operation, this.#endpoints));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `attempt` under the retry policy. `operation` names it in errors ("publish the member
   * record"). Pass `retry: false` for writes that must not be repeated blindly. `signal` abandons
   * the call (rejecting with its reason); `deadline` bounds it as a whole (see {@link CallOptions}).
   */
  async call<T>(
    operation: string,
    attempt: (options: CallDeadline) => Promise<T>,
    signal?: AbortSignal,
    options: { retry?: boolean; deadline?: Date | undefined } = {},
  ): Promise<T> {
    signal?.throwIfAborted();
    const { deadline } = options;
    const remaining = deadline === undefined ? undefined : deadline.getTime() - Date.now();
    if (remaining !== undefined && remaining <= 0) throw this.#outOfTime(undefined);
    const expired = remaining === undefined ? undefined : AbortSignal.timeout(remaining);
    const stop = signal && expired ? AbortSignal.any([signal, expired]) : (signal ?? expired);
    try {
      const counted = () => {
        this.#attempts++;
        return attempt(this.deadline(deadline));
      };
      const work = options.retry === false ? counted() : this.#policy.execute(counted, stop);
      // The retry policy looks at the signal only between attempts; a waiting attempt is left behind
      // at once (its own deadline, cut to `deadline`, ends it on the wire).
      return await (stop ? untilAborted(work, stop) : work);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // An attempt's own deadline may fire a moment before the timer: both mean "out of time".
      const late = deadline !== undefined && Date.now() >= deadline.getTime();
      if ((expired?.aborted && error === expired.reason) || (late && isTransientEtcdError(error)))
        throw this.#outOfTime(error);
      throw this.#failed(translateEtcdError(error, operation, this.#endpoints));
    }
  }

  #outOfTime(cause: unknown): Error {
    return this.#failed(
      new EtcdUnavailableError(this.#endpoints, 'no answer before the deadline', { cause }),
    );
  }

  #failed(error: Error): Error {
    this.#onError?.(errorKind(error), error);
    return error;
  }
}

/** `work`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
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
