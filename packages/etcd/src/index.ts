/**
 * `@ztap/cluster-etcd`: the production `LeaderElection` backend on etcd — leases, campaign keys in
 * etcd's Go `concurrency` layout, step-down before lease expiry, and fenced writes.
 * @packageDocumentation
 */
export { type CallDeadline, type CallOptions, EtcdCaller, errorKind } from './calls.ts';
export { createEtcdClient } from './client.ts';
export {
  EtcdClusterClient,
  type EtcdClusterClientOptions,
  type GetStateOptions,
  OperatorPolicies,
} from './cluster-client.ts';
export { leaderFrom, MemberRecords, memberFrom, membersFrom } from './cluster-store.ts';
export * from './errors.ts';
export { EtcdElection, type GuardedTxn, type LeaseRenewal } from './etcd-election.ts';
export {
  clusterPrefix,
  decodeMember,
  encodeMember,
  KeyLayout,
  leaseIdHex,
  resolvePrefix,
  type StoredMember,
} from './keys.ts';
export {
  acquireMirror,
  type MirrorBatch,
  type MirrorEntry,
  type MirrorListener,
  type MirrorOptions,
  PrefixMirror,
  prefixRangeEnd,
  toEntry,
} from './mirror.ts';
export {
  DEFAULT_ENDPOINTS,
  type EtcdConnectionOptions,
  type EtcdElectionOptions,
  type ResolvedConnection,
  type ResolvedEtcdOptions,
  resolveConnection,
  resolveEtcdOptions,
  validateEndpoint,
} from './options.ts';
export { EtcdPolicyStore, type PolicyTxn, policyFrom } from './policy-store.ts';
export { EtcdPolicySync } from './policy-sync.ts';
