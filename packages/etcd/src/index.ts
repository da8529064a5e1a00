/**
 * `@ztap/cluster-etcd`: the production `LeaderElection` backend on etcd — leases, campaign keys in
 * etcd's Go `concurrency` layout, step-down before lease expiry, and fenced writes.
 * @packageDocumentation
 */
export type { CallOptions } from './calls.ts';
export type { GuardedTxn } from './campaign.ts';
export { createEtcdClient } from './client.ts';
export {
  EtcdClusterClient,
  type EtcdClusterClientOptions,
  type GetStateOptions,
  type OperatorPolicies,
} from './cluster-client.ts';
export {
  EtcdAuthError,
  EtcdLeaseLostError,
  EtcdNoSpaceError,
  EtcdPermissionError,
  EtcdRequestError,
  EtcdUnavailableError,
  isEtcdAuthError,
  isEtcdLeaseLostError,
  isEtcdNoSpaceError,
  isEtcdPermissionError,
  isEtcdRequestError,
  isEtcdUnavailableError,
} from './errors.ts';
export { EtcdElection, type LeaseRenewal } from './etcd-election.ts';
export type { OperatorTransferOptions } from './operator-transfer.ts';
export {
  DEFAULT_ENDPOINTS,
  type EtcdConnectionOptions,
  type EtcdElectionOptions,
  validateEndpoint,
} from './options.ts';
export { EtcdPolicySync } from './policy-sync.ts';
