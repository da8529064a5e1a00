import {
  EtcdAuthError,
  EtcdNoSpaceError,
  EtcdPermissionError,
  EtcdRequestError,
  EtcdUnavailableError,
} from '@ztap/cluster-etcd';
import { ExponentialBackoff, handleWhen, type RetryPolicy, retry } from 'cockatiel';

/** The gRPC deadline of one attempt. */
export interface AttemptOptions {
  readonly deadline: Date;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const isOurs = (error: unknown): boolean =>
  error instanceof Error && /^ZTAP_/.test(String((error as { code?: unknown }).code));

/** NOSPACE, auth and permission errors never heal by themselves; everything that looks like the network may. */
function isTransient(error: unknown): boolean {
  if (isOurs(error)) return (error as { code?: unknown }).code === EtcdUnavailableError.code;
  const message = messageOf(error);
  if (/database space exceeded|permission denied|authentication failed|invalid auth token/i.test(message))
    return false;
  return /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|no leader|leader changed|timed out|too many requests|Deadline exceeded|Failed to connect|No connection established/i.test(
    message,
  );
}

/**
 * etcd's failure as one of `@ztap/cluster-etcd`'s public error classes, so callers tell NOSPACE,
 * permission and auth failures from an unreachable etcd with the same guards everywhere.
 */
export function translateError(error: unknown, operation: string, endpoints: readonly string[]): Error {
  if (isOurs(error)) return error as Error;
  const message = messageOf(error);
  const options = { cause: error };
  if (/database space exceeded/i.test(message)) return new EtcdNoSpaceError(options);
  if (/permission denied/i.test(message)) return new EtcdPermissionError(operation, options);
  if (/authentication failed|invalid auth token|UNAUTHENTICATED/i.test(message))
    return new EtcdAuthError(message.replace(/^.*etcdserver: /, ''), options);
  if (isTransient(error)) {
    const detail = /Last error: (.*)$/m.exec(message)?.[1] ?? message.replace(/^\w+Error: /, '');
    return new EtcdUnavailableError(endpoints, detail.trim(), options);
  }
  return new EtcdRequestError(operation, message, options);
}

/**
 * How this package talks to etcd outside an election: every attempt with a deadline, transient
 * failures retried with backoff (never NOSPACE, auth or permission), failures translated into the
 * etcd package's error classes naming the operation and the endpoints.
 */
export class EtcdCalls {
  readonly endpoints: readonly string[];
  readonly requestTimeout: number;
  readonly #policy: RetryPolicy;

  constructor(endpoints: readonly string[], options: { requestTimeout: number; maxRetries: number }) {
    this.endpoints = endpoints;
    this.requestTimeout = options.requestTimeout;
    this.#policy = retry(handleWhen(isTransient), {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }),
    });
  }

  /** Runs `attempt` (retried when transient unless `retry: false`); rejects with a translated error. */
  async call<T>(
    operation: string,
    attempt: (options: AttemptOptions) => Promise<T>,
    options: { signal?: AbortSignal | undefined; retry?: boolean } = {},
  ): Promise<T> {
    const once = () => attempt({ deadline: new Date(Date.now() + this.requestTimeout) });
    try {
      if (options.retry === false) return await once();
      return await this.#policy.execute(once, options.signal);
    } catch (error) {
      throw translateError(error, operation, this.endpoints);
    }
  }

  /** Bounds work that has no deadline of its own (opening a watch) by the request timeout. */
  async within<T>(operation: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`DEADLINE_EXCEEDED after ${this.requestTimeout} ms`)),
        this.requestTimeout,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      throw translateError(error, operation, this.endpoints);
    } finally {
      clearTimeout(timer);
    }
  }
}
