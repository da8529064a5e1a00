import {
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
} from 'etcd3';
import { describe, expect, it } from 'vitest';
import {
  isEtcdAuthError,
  isEtcdLeaseLostError,
  isEtcdNoSpaceError,
  isEtcdPermissionError,
  isEtcdRequestError,
  isEtcdUnavailableError,
  isTransientEtcdError,
  translateEtcdError,
} from '../src/errors.ts';
import { endpoints, nospace, unavailable } from './etcd-errors.ts';

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

describe('a lost lease', () => {
  it('is its own typed error, never retried', () => {
    const error = translateEtcdError(
      new EtcdLeaseInvalidError('etcdserver: requested lease not found'),
      'campaign',
      endpoints,
    );
    expect(isEtcdLeaseLostError(error)).toBe(true);
    expect(error.message).toBe(
      'etcd could not campaign: the lease is gone (expired or revoked), and the keys on it with it',
    );
    expect(isTransientEtcdError(error)).toBe(false);
  });
});
