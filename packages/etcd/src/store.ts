/**
 * `@ztap/cluster-etcd/store`: how a cluster is laid out in etcd, for tools that read its keys directly
 * (a history replay, an audit): the key layout, the range end of a prefix, how a stored policy is
 * decoded, and the translation of what `etcd3` throws into this package's typed errors. Elections,
 * the cluster client and policy sync need none of it. Follows the package's version; the layout
 * itself is documented in docs/architecture.md.
 * @module @ztap/cluster-etcd/store
 */
import type { Policy } from '@ztap/cluster';
import type { IKeyValue } from 'etcd3';
import { translateEtcdError } from './errors.ts';
import { KeyLayout } from './keys.ts';
import { prefixRangeEnd, toEntry } from './mirror.ts';
import { policyFrom } from './policy-store.ts';

/** Where a cluster's keys live under its prefix (which ends in `/`). */
export interface ClusterKeys {
  readonly prefix: string;
  /** `<prefix>members/`: one member record per node, JSON. */
  readonly membersPrefix: string;
  /** `<prefix>election/`: campaign keys, one per candidate's lease; the lowest create revision leads. */
  readonly electionPrefix: string;
  /** `<prefix>policies/`: one key per policy; its mod revision is the policy's version. */
  readonly policiesPrefix: string;
  memberKey(nodeId: string): string;
  policyKey(name: string): string;
}

/** The key layout of the cluster under `prefix` (as `EtcdClusterClient.prefix` or `EtcdElection.prefix` give it). */
export function clusterKeys(prefix: string): ClusterKeys {
  return new KeyLayout(prefix);
}

/** A policy as stored at one revision; undefined for a value that is not a policy this package wrote. */
export function decodePolicy(kv: IKeyValue, keys: ClusterKeys): Policy | undefined {
  return policyFrom(toEntry(kv), keys);
}

export { prefixRangeEnd, translateEtcdError };
