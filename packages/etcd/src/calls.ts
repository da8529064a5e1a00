import type { BackendErrorKind } from '@ztap/cluster';
import { ExponentialBackoff, handleWhen, type RetryPolicy, retry } from 'cockatiel';
import { isTransientEtcdError, translateEtcdError } from './errors.ts';

/** gRPC call options carrying the per-attempt deadline. */
export interface CallDeadline {
  readonly deadline: Date;
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

  /** The deadline options for one attempt started now. */
  deadline(): CallDeadline {
    return { deadline: new Date(Date.now() + this.#requestTimeout) };
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
   * record"). Pass `retry: false` for writes that must not be repeated blindly.
   */
  async call<T>(
    operation: string,
    attempt: (options: CallDeadline) => Promise<T>,
    signal?: AbortSignal,
    options: { retry?: boolean } = {},
  ): Promise<T> {
    try {
      const counted = () => {
        this.#attempts++;
        return attempt(this.deadline());
      };
      if (options.retry === false) return await counted();
      return await this.#policy.execute(counted, signal);
    } catch (error) {
      throw this.#failed(translateEtcdError(error, operation, this.#endpoints));
    }
  }

  #failed(error: Error): Error {
    this.#onError?.(errorKind(error), error);
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
