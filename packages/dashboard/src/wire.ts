/**
 * What the dashboard sends to the page, as JSON: one `snapshot` when a tab connects, then `delta`s.
 * Times are ISO-8601 strings. Nothing here may carry a secret (tokens, passwords, TLS material).
 * The page's modules (web/) import these types in JSDoc, so both sides share one definition.
 */
// Self-contained on purpose: the page's type check reads this file without Node's or the packages' types.

/** As `@ztap/cluster`'s `NodeState`. */
export type WireNodeState = 'unknown' | 'healthy' | 'unhealthy';

export interface WireMember {
  readonly id: string;
  readonly address: string;
  readonly state: WireNodeState;
  readonly role: 'leader' | 'follower';
  readonly joinedAt: string;
  /** From the member's lease (when its last keepalive arrived, to the second), else when it joined. */
  readonly lastSeen: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** When the dashboard saw its state or role change; absent if it has not changed since the dashboard started. */
  readonly changedAt?: string;
}

/** A moment on the timeline, and how it is known. */
export interface WireTime {
  readonly at: string;
  /**
   * `observed`: the dashboard saw it happen (exact to its clock). `estimated`: placed from etcd's history
   * between records that carry wall times (see docs/dashboard.md). `before`: it happened at or before `at`
   * (the history before it was compacted away).
   */
  readonly accuracy: 'observed' | 'estimated' | 'before';
  /** The etcd revision, when known (always for reconstructed moments). */
  readonly revision?: number;
}

/**
 * Why a leadership ended, as far as etcd's records tell:
 * - `lease_ended`: its campaign key and member record went in the same revision: the node stopped (lease
 *   revoked) or its lease expired (crash, partition);
 * - `withdrew`: its campaign key went while its member record stayed healthy (resigned);
 * - `unhealthy`: its campaign key went while its member record said unhealthy;
 * - `unknown`: the dashboard cannot tell (e.g. seen only after an outage).
 */
export type WireEndReason = 'lease_ended' | 'withdrew' | 'unhealthy' | 'unknown';

/** One leadership: a term (the fencing token) held by one node from `start` until `end`. */
export interface WireLeadership {
  readonly term: number;
  readonly nodeId: string;
  readonly start: WireTime;
  /** Absent while it lasts. */
  readonly end?: WireTime;
  readonly endReason?: WireEndReason;
}

export interface WireConnection {
  /** `connecting` until etcd first answers. */
  readonly state: 'connecting' | 'connected' | 'disconnected';
  /** Since when this state holds. */
  readonly since: string;
  /** Why etcd cannot be reached (endpoint and cause; never credentials). */
  readonly reason?: string;
}

/** How far back the timeline could be reconstructed from etcd's history. */
export interface WireHistory {
  readonly state: 'reading' | 'done' | 'failed';
  /** The oldest revision still in etcd (history before it was compacted). */
  readonly oldestRevision?: number;
  /** The revision the reconstruction ran up to; later changes were observed live. */
  readonly toRevision?: number;
  readonly detail?: string;
}

export interface WirePolicySummary {
  readonly name: string;
  readonly version: number;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

/** One region of a multi-region deployment (the extension point; see {@link WireRegions}). */
export interface WireRegion {
  readonly name: string;
  /** Its regional leader's node id. */
  readonly leader?: string;
  /** Its regional term. */
  readonly term?: number;
  /** How far the region's copy of the global policies lags behind, ms. */
  readonly replicationLagMs?: number;
  /** Whether its etcd answered the last read (`disconnected`: what is shown is the last known state). */
  readonly state?: 'connected' | 'disconnected';
  /** Why it could not be read (endpoint and cause; never credentials). */
  readonly reason?: string;
}

export interface WireRegions {
  /** The global leader's node id. */
  readonly globalLeader?: string;
  /** The region the global leader leads. */
  readonly globalRegion?: string;
  readonly globalTerm?: number;
  /** Whether the global store answered the last read. */
  readonly globalState?: 'connected' | 'disconnected';
  /** Why the global store could not be read. */
  readonly globalReason?: string;
  readonly regions: readonly WireRegion[];
}

export interface WireSnapshot {
  readonly kind: 'snapshot';
  readonly prefix: string;
  readonly generatedAt: string;
  readonly connection: WireConnection;
  /** Whether `members`, `leader` and `policies` have been read from etcd at least once. */
  readonly loaded: boolean;
  readonly members: readonly WireMember[];
  readonly leader: { readonly id: string; readonly term: number } | null;
  readonly timeline: readonly WireLeadership[];
  readonly history: WireHistory;
  readonly policies: readonly WirePolicySummary[];
  /** Present only when the dashboard was given a region source. */
  readonly regions?: WireRegions;
}

export type WireDelta =
  | {
      readonly kind: 'members';
      readonly upserts: readonly WireMember[];
      readonly removals: readonly string[];
    }
  | { readonly kind: 'leader'; readonly leader: { readonly id: string; readonly term: number } | null }
  /** Leaderships added or changed (matched by term). */
  | { readonly kind: 'timeline'; readonly leaderships: readonly WireLeadership[] }
  | { readonly kind: 'history'; readonly history: WireHistory }
  | { readonly kind: 'connection'; readonly connection: WireConnection }
  | {
      readonly kind: 'policies';
      readonly upserts: readonly WirePolicySummary[];
      readonly removals: readonly string[];
    }
  /** `lastSeen` refreshed from the members' leases. */
  | { readonly kind: 'last-seen'; readonly lastSeen: Readonly<Record<string, string>> }
  | { readonly kind: 'regions'; readonly regions: WireRegions };

/** One version of a policy still in etcd's history (GET policies/<name>/versions). */
export interface WirePolicyVersion {
  readonly version: number;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

/** A policy document at one version (GET policies/<name>?version=N). */
export interface WirePolicyDocument extends WirePolicyVersion {
  readonly name: string;
  readonly document: string;
}

/** One line of a diff. */
export interface WireDiffLine {
  readonly op: 'same' | 'add' | 'remove';
  readonly text: string;
}

/** GET policies/<name>/diff?from=A&to=B. */
export interface WirePolicyDiff {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly lines: readonly WireDiffLine[];
  /** True when the documents were too different to diff line by line within the limit. */
  readonly truncated: boolean;
}
