import {
  type Clock,
  type LeaderRecord,
  type MemberRecord,
  NodeExistsError,
  NodeNotFoundError,
  type NodeRegistration,
  validateNodeId,
  validateRegistration,
} from '@ztap/cluster';
import type { Etcd3 } from 'etcd3';
import type { CallOptions, EtcdCaller } from './calls.ts';
import { decodeMember, encodeMember, type KeyLayout } from './keys.ts';
import type { MirrorEntry } from './mirror.ts';

const bytes = (text: string) => Buffer.from(text);

/** Members read from entries of the cluster prefix (other keys are ignored). */
export function membersFrom(entries: Iterable<MirrorEntry>, keys: KeyLayout, lastSeen: Date): MemberRecord[] {
  const members: MemberRecord[] = [];
  for (const entry of entries) {
    if (!entry.key.startsWith(keys.membersPrefix)) continue;
    const member = memberFrom(entry, keys, lastSeen);
    if (member) members.push(member);
  }
  return members;
}

export function memberFrom(entry: MirrorEntry, keys: KeyLayout, lastSeen: Date): MemberRecord | undefined {
  return decodeMember(entry.key.slice(keys.membersPrefix.length), entry.value, entry.lease !== '0', lastSeen);
}

/** The leader is the campaign key with the lowest create revision; that revision is its term. */
export function leaderFrom(firstCampaign: MirrorEntry | undefined): LeaderRecord | undefined {
  return firstCampaign ? { id: firstCampaign.value, term: firstCampaign.createRevision } : undefined;
}

/**
 * The operator's side of membership: add and remove member records, in one place for the election
 * and the read-only cluster client. Records added here have no lease (`unknown` until a node with
 * that id runs and adopts it).
 */
export class MemberRecords {
  readonly #client: () => Etcd3;
  readonly #keys: KeyLayout;
  readonly #caller: EtcdCaller;
  readonly #clock: Clock;

  constructor(client: () => Etcd3, keys: KeyLayout, caller: EtcdCaller, clock: Clock) {
    this.#client = client;
    this.#keys = keys;
    this.#caller = caller;
    this.#clock = clock;
  }

  /** Adds a member; `NodeExistsError` if the id is taken. Returns the revision of the write. */
  async register(node: NodeRegistration, call: CallOptions = {}): Promise<number> {
    const registration = validateRegistration(node);
    const key = bytes(this.#keys.memberKey(registration.id));
    const value = encodeMember({
      address: registration.address,
      metadata: registration.metadata ?? {},
      joinedAt: this.#clock.wallNow().toISOString(),
    });
    const response = await this.#caller.call(
      'register a node',
      (options) =>
        this.#client().kv.txn(
          {
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: '0' }],
            success: [{ request_put: { key, value: bytes(value) } }],
            failure: [],
          },
          options,
        ),
      call.signal,
      { deadline: call.deadline },
    );
    if (!response.succeeded) throw new NodeExistsError(registration.id);
    return Number(response.header.revision);
  }

  /** Removes a member; `NodeNotFoundError` if there is none. Returns the revision of the write. */
  async deregister(nodeId: string, call: CallOptions = {}): Promise<number> {
    const id = validateNodeId(nodeId);
    const response = await this.#caller.call(
      'deregister a node',
      (options) => this.#client().kv.deleteRange({ key: bytes(this.#keys.memberKey(id)) }, options),
      call.signal,
      { deadline: call.deadline },
    );
    if (Number(response.deleted) === 0) throw new NodeNotFoundError(id);
    return Number(response.header.revision);
  }
}
