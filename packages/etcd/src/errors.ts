import { ZtapError } from '@ztap/cluster';
import { hasErrorCode as hasCode } from '@ztap/cluster/backend';
import { EtcdLeaseInvalidError } from 'etcd3';

/** etcd could not be reached, or did not answer in time, even after retries. Worth retrying later. */
export class EtcdUnavailableError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_UNAVAILABLE';
  readonly endpoints: readonly string[];

  constructor(endpoints: readonly string[], detail: string, options?: ErrorOptions & { hint?: string }) {
    const hint = options?.hint ?? 'is etcd running, and are the endpoints right?';
    super(
      EtcdUnavailableError.code,
      `etcd at ${endpoints.join(', ')} is unreachable (${detail}) — ${hint}`,
      options,
    );
    this.endpoints = endpoints;
  }
}
export const isEtcdUnavailableError = (error: unknown): error is EtcdUnavailableError =>
  hasCode(error, EtcdUnavailableError.code);

/** etcd's backend quota is exhausted: it refuses every write until an operator compacts and defragments. */
export class EtcdNoSpaceError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_NOSPACE';

  constructor(options?: ErrorOptions) {
    super(
      EtcdNoSpaceError.code,
      'etcd refused the write: database space exceeded (NOSPACE alarm). An operator must compact, defragment ' +
        'and disarm the alarm (etcdctl compact / defrag / alarm disarm); retrying will not help.',
      options,
    );
  }
}
export const isEtcdNoSpaceError = (error: unknown): error is EtcdNoSpaceError =>
  hasCode(error, EtcdNoSpaceError.code);

/** The etcd user lacks a permission (RBAC) for the key range. */
export class EtcdPermissionError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_PERMISSION_DENIED';

  constructor(operation: string, options?: ErrorOptions) {
    super(
      EtcdPermissionError.code,
      `etcd denied permission to ${operation}: the user's role does not cover this key range`,
      options,
    );
  }
}
export const isEtcdPermissionError = (error: unknown): error is EtcdPermissionError =>
  hasCode(error, EtcdPermissionError.code);

/** The username/password (or token) was rejected. */
export class EtcdAuthError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_AUTH';

  constructor(detail: string, options?: ErrorOptions) {
    super(EtcdAuthError.code, `etcd rejected the credentials: ${detail}`, options);
  }
}
export const isEtcdAuthError = (error: unknown): error is EtcdAuthError => hasCode(error, EtcdAuthError.code);

/**
 * etcd no longer knows this node's lease (it expired or was revoked), so nothing can be written on it
 * any more: the node's keys are gone with it. A running election grants a new lease and joins again.
 */
export class EtcdLeaseLostError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_LEASE_LOST';

  constructor(operation: string, options?: ErrorOptions) {
    super(
      EtcdLeaseLostError.code,
      `etcd could not ${operation}: the lease is gone (expired or revoked), and the keys on it with it`,
      options,
    );
  }
}
export const isEtcdLeaseLostError = (error: unknown): error is EtcdLeaseLostError =>
  hasCode(error, EtcdLeaseLostError.code);

/** Any other failure reported by etcd; `cause` holds the original. */
export class EtcdRequestError extends ZtapError {
  static readonly code = 'ZTAP_ETCD_REQUEST';

  constructor(operation: string, detail: string, options?: ErrorOptions) {
    super(EtcdRequestError.code, `etcd failed to ${operation}: ${detail}`, options);
  }
}
export const isEtcdRequestError = (error: unknown): error is EtcdRequestError =>
  hasCode(error, EtcdRequestError.code);

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Whether a failed call may succeed if simply tried again: the server was unreachable, slow, or between
 * raft leaders. Quota, auth and permission errors are never transient — unlike `etcd3`'s own policy,
 * which retries NOSPACE and then opens its circuit breaker for unrelated reads.
 */
export function isTransientEtcdError(error: unknown): boolean {
  const message = messageOf(error);
  if (/database space exceeded|permission denied|authentication failed|invalid auth token/i.test(message)) {
    return false;
  }
  // Ours: a request that got no answer in time (or waited past its deadline for a slot).
  if (isEtcdUnavailableError(error)) return true;
  const name = error instanceof Error ? error.constructor.name : '';
  return (
    /GRPCUnavailableError|GRPCDeadlineExceededError|GRPCCancelledError|GRPCInternalError|GRPCAbortedError/.test(
      name,
    ) ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|no leader|leader changed|timed out|too many requests|Deadline exceeded/i.test(
      message,
    )
  );
}

/** The short reason inside a gRPC error, e.g. `connect ECONNREFUSED 127.0.0.1:2379`. */
function connectionDetail(message: string): string {
  // grpc-js says only "Failed to connect (<timestamp>)" when the server hangs up during the handshake.
  if (/Failed to connect \(/.test(message)) return 'the server closed the connection during the handshake';
  // grpc-js says "Last error: null" when it retries a channel still backing off from the real error.
  const lastError = /Last error: (.*)$/m.exec(message)?.[1]?.replace(/^null\.? ?Resolution note:.*$/, '');
  if (lastError === '') return 'no connection could be established';
  // grpc-js wraps it as "Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ...".
  if (lastError)
    return lastError
      .replace(/^Error: /, '')
      .replace(/\.? ?Resolution note:.*$/, '')
      .trim();
  if (/DEADLINE_EXCEEDED|Deadline exceeded/i.test(message)) return 'no answer before the deadline';
  return message.replace(/^\w+Error: /, '').trim();
}

/**
 * Translates whatever the etcd client threw into this package's typed errors, with a message that
 * says what went wrong and what to do. Errors that are already ours pass through.
 */
export function translateEtcdError(error: unknown, operation: string, endpoints: readonly string[]): Error {
  if (error instanceof ZtapError) return error;
  const message = messageOf(error);
  const options = { cause: error };
  if (error instanceof EtcdLeaseInvalidError) return new EtcdLeaseLostError(operation, options);
  if (/database space exceeded/i.test(message)) return new EtcdNoSpaceError(options);
  if (/permission denied/i.test(message)) return new EtcdPermissionError(operation, options);
  if (/authentication failed|invalid auth token|UNAUTHENTICATED|user name is empty/i.test(message)) {
    return new EtcdAuthError(message.replace(/^.*etcdserver: /, ''), options);
  }
  if (/alert bad certificate|alert certificate required|SSL alert number 4[26]/i.test(message)) {
    return new EtcdUnavailableError(endpoints, `TLS handshake failed: ${connectionDetail(message)}`, {
      ...options,
      hint: 'etcd rejected the client certificate: give a certificate and key (--cert/--key) signed by a CA it trusts',
    });
  }
  if (/certificate|SSL|TLS|handshake|self.signed|unable to verify|wrong version number/i.test(message)) {
    return new EtcdUnavailableError(endpoints, `TLS handshake failed: ${connectionDetail(message)}`, {
      ...options,
      hint: 'does the endpoint speak TLS (https://), and does the CA you gave match its certificate?',
    });
  }
  // A TLS client on a plaintext port is cut off before any connection exists: grpc-js reports that
  // as "Failed to connect (...)" or, through some port forwarders (Podman), as a reset.
  const cutOffWhileConnecting =
    /Failed to connect \(|No connection established\. Last error: .*ECONNRESET/.test(message);
  if (cutOffWhileConnecting && endpoints.every((endpoint) => endpoint.startsWith('https:'))) {
    return new EtcdUnavailableError(endpoints, `TLS handshake failed: ${connectionDetail(message)}`, {
      ...options,
      hint: 'does the endpoint speak TLS (https://), and does the CA you gave match its certificate?',
    });
  }
  if (/Failed to connect \(/.test(message) && endpoints.some((endpoint) => endpoint.startsWith('http:'))) {
    return new EtcdUnavailableError(endpoints, connectionDetail(message), {
      ...options,
      hint: 'is it a TLS port? then use https:// endpoints and the CA (--cacert)',
    });
  }
  if (isTransientEtcdError(error)) {
    return new EtcdUnavailableError(endpoints, connectionDetail(message), options);
  }
  return new EtcdRequestError(operation, message, options);
}
