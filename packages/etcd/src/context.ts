import {
  type BackendErrorKind,
  type Clock,
  type ClusterStateChange,
  ValidationError,
  type ViewKind,
} from '@ztap/cluster';
import { describeValue, type LeaderRecord } from '@ztap/cluster/backend';
import type { Etcd3 } from 'etcd3';
import { type CallAccount, EtcdCaller } from './calls.ts';
import { warnAboutFaultHandling } from './client.ts';
import { KeepaliveChannel } from './keepalive.ts';
import { KeyLayout } from './keys.ts';
import { type MirrorBatch, PrefixMirror } from './mirror.ts';
import { SharedView } from './shared-view.ts';

/** What a context is configured with, once, by whoever creates it. */
export interface ContextSettings {
  /** Deadline of each request attempt, ms (also how long a keepalive may go unanswered). */
  readonly requestTimeout: number;
  /** Retries of transient failures. */
  readonly maxRetries: number;
  readonly clock: Clock;
}

/** What a user of a context (an election, a cluster client, a policy sync) asks for. */
export interface ContextRequest {
  readonly client: Etcd3;
  readonly prefix: string;
  /**
   * What the context watches: `full`, the whole prefix (members, election, policies); `leader`,
   * only the election keys, and the policies once a policy subscription asks for them. A full and a
   * narrow user of one client get two contexts: neither forces its view on the other.
   */
  readonly view: ViewKind;
  /** For error messages: where the client connects. */
  readonly endpoints: readonly string[];
  /** Settings this user depends on: a context that has other values is a `ValidationError`. */
  readonly required: { readonly [Setting in keyof ContextSettings]?: ContextSettings[Setting] | undefined };
  /** What a context this user creates gets where `required` says nothing. */
  readonly defaults: ContextSettings;
  /** How often this user wants the shared watch checked for progress; the shortest asked is used. */
  readonly progressIntervalMs: number;
}

/** An election on a context: what the context tells it after each batch. */
export interface ContextMember {
  /** Whether it may lead: the re-lists of a context with a candidate skip the process's line. */
  candidate?(): boolean;
  /** Its own keys changed, the first campaign key moved, or the view was rebuilt: decide again. */
  reconsider(): void;
  /** Its own keys changed or the view was rebuilt: make etcd match what it wants (in the background). */
  reconcile(): void;
  /** Only while it is watched: the shared view changed; `leaderBefore` is the leader before. */
  deliver(changes: readonly ClusterStateChange[], leaderBefore: LeaderRecord | undefined): void;
  /** A call of the context itself (the shared watch) failed. */
  onContextError(kind: BackendErrorKind, error: Error): void;
  /** The view was rebuilt from a full list. */
  onResync(): void;
}

/** An election's place in a context. */
export interface Membership {
  /** The campaign key its lease names (whether or not it exists), so batches touching it reach it. */
  setCampaignKey(key: string | undefined): void;
  /** Whether it has watchers, so batches are delivered to it. */
  setWatching(watching: boolean): void;
  leave(): void;
}

const SETTINGS: readonly (keyof ContextSettings)[] = ['requestTimeout', 'maxRetries', 'clock'];

/**
 * Everything the elections of one process share on one etcd client and key prefix: the caller
 * (retries, deadlines, the in-flight bound, error reporting), the keepalive stream, the mirror of
 * the prefix and the shared decoded view. Settings are the creator's and are checked against every
 * later user's (see {@link acquireContext}); nothing is silently the first caller's.
 *
 * A batch from the mirror costs O(changed keys + watchers): it is decoded once; leadership is decided
 * again only by the elections whose own keys changed, or whose key became or stopped being first;
 * and the ordered changes reach, by reference, only elections that have watchers.
 */
export class EtcdClusterContext {
  readonly client: Etcd3;
  readonly keys: KeyLayout;
  readonly settings: ContextSettings;
  readonly caller: EtcdCaller;
  readonly keepalives: KeepaliveChannel;
  /** The watched keys: the whole prefix, or (view `leader`) only the election keys. */
  readonly mirror: PrefixMirror;
  readonly view: SharedView;
  readonly viewKind: ViewKind;
  #policyMirror: PrefixMirror | undefined;
  /** The context's own calls (the mirror's): a failure is reported to every member. */
  readonly account: CallAccount;
  readonly #members = new Set<ContextMember>();
  readonly #owners = new Map<string, Set<ContextMember>>();
  readonly #watching = new Set<ContextMember>();
  readonly #listeners = new Set<(changes: readonly ClusterStateChange[]) => void>();
  #progressIntervalMs: number;
  /** How many users hold it (see the registry below). */
  users = 0;

  constructor(request: ContextRequest) {
    this.client = request.client;
    this.keys = new KeyLayout(request.prefix);
    this.viewKind = request.view;
    this.settings = Object.freeze({ ...request.defaults, ...definedOnly(request.required) });
    this.#progressIntervalMs = request.progressIntervalMs;
    this.caller = new EtcdCaller({
      endpoints: request.endpoints,
      maxRetries: this.settings.maxRetries,
      requestTimeout: this.settings.requestTimeout,
    });
    this.account = {
      attempts: 0,
      report: (kind, error) => {
        for (const member of [...this.#members]) member.onContextError(kind, error);
      },
    };
    this.keepalives = new KeepaliveChannel(request.client, this.settings.clock, this.settings.requestTimeout);
    this.mirror =
      request.view === 'full'
        ? new PrefixMirror(request.client, request.prefix, this.caller, this.#mirrorOptions('revision'))
        : new PrefixMirror(
            request.client,
            this.keys.electionPrefix,
            this.caller,
            this.#mirrorOptions('contents'),
          );
    this.view = new SharedView(this.keys, this.settings.clock);
    this.mirror.subscribe((batch) => this.#onBatch(batch));
  }

  #mirrorOptions(progress: 'revision' | 'contents') {
    return {
      progressIntervalMs: () => this.#progressIntervalMs,
      clock: this.settings.clock,
      account: this.account,
      progress,
      // A candidate decides from this view: its re-lists do not wait behind the members'.
      urgent: () => [...this.#members].some((member) => member.candidate?.() ?? false),
    };
  }

  /**
   * The mirror that holds the policies: the whole-prefix mirror of a full context; for a narrow one,
   * a mirror of the policy keys alone, made at the first ask (a node that never subscribes to
   * policies never watches them).
   */
  policyMirror(): PrefixMirror {
    if (this.viewKind === 'full') return this.mirror;
    this.#policyMirror ??= new PrefixMirror(
      this.client,
      this.keys.policiesPrefix,
      this.caller,
      this.#mirrorOptions('contents'),
    );
    return this.#policyMirror;
  }

  /**
   * A mirror of the one key `key` on this context's caller: what a node with a narrow view watches
   * of its own member record. Its owner starts and stops it.
   */
  keyMirror(key: string): PrefixMirror {
    return new PrefixMirror(this.client, key, this.caller, {
      ...this.#mirrorOptions('contents'),
      scope: 'key',
    });
  }

  /** Checks a later user's settings; a different value is an error naming the setting. */
  admit(request: ContextRequest): void {
    for (const field of SETTINGS) {
      const wanted = request.required[field];
      const actual = this.settings[field];
      if (wanted === undefined || wanted === actual) continue;
      const shown = (value: unknown) =>
        field === 'clock'
          ? 'another clock'
          : `${describeValue(value)}${field === 'requestTimeout' ? ' ms' : ''}`;
      throw new ValidationError(
        field,
        `must be the same for everything in this process that shares an etcd client and key prefix ` +
          `(${this.keys.prefix}): ${shown(actual)} is in use, got ${shown(wanted)}. Give them the same ${field}, ` +
          'or give this one a client of its own',
      );
    }
    this.#progressIntervalMs = Math.min(this.#progressIntervalMs, request.progressIntervalMs);
  }

  /** An election joins: batches touching `memberKey` (and its campaign key, once set) reach it. */
  join(member: ContextMember, memberKey: string): Membership {
    this.#members.add(member);
    this.#own(memberKey, member);
    let campaignKey: string | undefined;
    return {
      setCampaignKey: (key) => {
        if (campaignKey !== undefined) this.#disown(campaignKey, member);
        campaignKey = key;
        if (key !== undefined) this.#own(key, member);
      },
      setWatching: (watching) => {
        if (watching && this.#members.has(member)) this.#watching.add(member);
        else this.#watching.delete(member);
      },
      leave: () => {
        this.#members.delete(member);
        this.#watching.delete(member);
        this.#disown(memberKey, member);
        if (campaignKey !== undefined) this.#disown(campaignKey, member);
      },
    };
  }

  /** Every batch's changes, as computed once for all, until the returned function is called. */
  watchChanges(listener: (changes: readonly ClusterStateChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the watch and the keepalive stream (the last user left). */
  async close(): Promise<void> {
    this.keepalives.close();
    await Promise.all([this.mirror.stop(), this.#policyMirror?.stop()]);
  }

  #onBatch(batch: MirrorBatch): void {
    const update = this.view.apply(batch, this.mirror);
    const touched = new Set<ContextMember>();
    if (batch.resync) {
      for (const member of this.#members) touched.add(member);
    } else {
      for (const key of batch.changedKeys) this.#addOwners(key, touched);
    }
    const reconsidering = new Set(touched);
    if (update.firstMoved) {
      this.#addOwners(update.firstMoved.before, reconsidering);
      this.#addOwners(update.firstMoved.after, reconsidering);
    }
    for (const member of reconsidering) member.reconsider();
    if (update.changes.length > 0) {
      for (const member of [...this.#watching]) member.deliver(update.changes, update.leaderBefore);
      for (const listener of [...this.#listeners]) listener(update.changes);
    }
    if (batch.resync) for (const member of [...this.#members]) member.onResync();
    for (const member of touched) member.reconcile();
  }

  #addOwners(key: string | undefined, into: Set<ContextMember>): void {
    const owners = key === undefined ? undefined : this.#owners.get(key);
    if (owners) for (const owner of owners) into.add(owner);
  }

  #own(key: string, member: ContextMember): void {
    let owners = this.#owners.get(key);
    if (!owners) {
      owners = new Set();
      this.#owners.set(key, owners);
    }
    owners.add(member);
  }

  #disown(key: string, member: ContextMember): void {
    const owners = this.#owners.get(key);
    owners?.delete(member);
    if (owners?.size === 0) this.#owners.delete(key);
  }
}

function definedOnly<T extends object>(values: { [Key in keyof T]?: T[Key] | undefined }): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

// ---- one context per client and prefix ------------------------------------------------------------

const contexts = new WeakMap<Etcd3, Map<string, EtcdClusterContext>>();

/** A held context and the way to let go of it. */
export interface HeldContext {
  readonly context: EtcdClusterContext;
  /** Idempotent; the last user's release stops the context's watch and keepalive stream. */
  release(): Promise<void>;
}

/**
 * The context of `request.client`, `request.prefix` and `request.view`, created on first use with the request's
 * settings. A later user whose `required` settings differ gets a `ValidationError` naming the
 * setting. The progress check of the shared watch runs at the shortest interval any user asked for.
 */
export function acquireContext(request: ContextRequest): HeldContext {
  let byPrefix = contexts.get(request.client);
  if (!byPrefix) {
    byPrefix = new Map();
    contexts.set(request.client, byPrefix);
  }
  // By view too: a full and a narrow election on one client each get the mirror they asked for.
  const slot = `${request.view} ${request.prefix}`;
  let context = byPrefix.get(slot);
  if (context) context.admit(request);
  else {
    warnAboutFaultHandling(request.client);
    context = new EtcdClusterContext(request);
    byPrefix.set(slot, context);
  }
  context.users++;
  const held = context;
  const registry = byPrefix;
  let released = false;
  return {
    context: held,
    release: async () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      if (registry.get(slot) === held) registry.delete(slot);
      await held.close();
    },
  };
}

/** Runs `work` with the context held, and lets go of it afterwards. */
export async function withContext<T>(
  request: ContextRequest,
  work: (context: EtcdClusterContext) => Promise<T>,
): Promise<T> {
  const { context, release } = acquireContext(request);
  try {
    return await work(context);
  } finally {
    await release();
  }
}
