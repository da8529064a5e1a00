/**
 * `@ztap/cluster-memory`: the in-memory `LeaderElection` backend, for tests, demos and single-process use.
 * @packageDocumentation
 */
export { MemoryHub } from './hub.ts';
export { InMemoryElection, type InMemoryElectionOptions } from './memory-election.ts';
export { InMemoryPolicySync } from './memory-policy-sync.ts';
