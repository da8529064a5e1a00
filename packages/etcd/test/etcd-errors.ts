import { GRPCResourceExhastedError, GRPCUnavailableError } from 'etcd3';

/** The endpoint the errors below name. */
export const endpoints = ['http://127.0.0.1:2379'];

/** What etcd3 throws when etcd cannot be reached. */
export const unavailable = () =>
  new GRPCUnavailableError(
    '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379',
  );

/** What etcd3 throws for a write refused by a NOSPACE alarm. */
export const nospace = () =>
  new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded');
