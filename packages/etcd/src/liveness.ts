import type { Liveness } from '@ztap/cluster';
import { LIVE, notLive } from '@ztap/cluster/backend';

/** What {@link sessionLiveness} needs to know of a lease session. */
export interface SessionState {
  readonly id: string;
  readonly ttlSeconds: number;
  readonly lost: boolean;
  /** False from the step-down deadline on, unless a keepalive renewed it. */
  readonly valid: boolean;
}

/**
 * Whether a node on etcd can vouch for its membership: it holds a lease that etcd confirmed recently
 * enough that it cannot have expired (the same step-down deadline that ends leadership), and its
 * member record is on that lease in the view. `leaseWasLost` tells "never had one" from "lost it";
 * `memberLease` is the lease of this node's member record in the view, if there is one.
 */
export function sessionLiveness(
  session: SessionState | undefined,
  leaseWasLost: boolean,
  memberLease: string | undefined,
): Liveness {
  if (session?.lost || (!session && leaseWasLost)) {
    return notLive("this node's lease expired or was revoked; it is asking etcd for a new one");
  }
  if (!session) return notLive('etcd has not granted this node a lease yet');
  if (!session.valid) {
    return notLive(
      `etcd has not confirmed this node's heartbeats in time: its lease (TTL ${session.ttlSeconds} s) may be expiring (step-down deadline passed)`,
    );
  }
  if (memberLease !== session.id)
    return notLive("this node's member record is not in etcd; it is registering again");
  return LIVE;
}
