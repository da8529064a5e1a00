import {
  type Clock,
  NodeExistsError,
  NodeNotFoundError,
  type NodeRegistration,
  validateNodeId,
  validateRegistration,
} from '@ztap/cluster';
import type { LeaderRecord, MemberRecord } from '@ztap/cluster/backend';
import type { Etcd3 } from 'etcd3';
import type { CallAccount, CallOptions, EtcdCaller } from './calls.ts';
import { bytes, type StoredKey } from './campaign.ts';
import { decodeMember, encodeMember, type KeyLayout } from './keys.ts';

/** Members read from entries of the cluster prefix (other keys are ignored). */
export function membersFrom(entries: Iterable<StoredKey>, keys: KeyLayout, lastSeen: Date): MemberRecord[] {
  const members: MemberRecord[] = [];
  for (const entry of entries) {
    if (!entry.key.startsWith(keys.membersPrefix)) continue;
    const member = memberFrom(entry, keys, lastSeen);
    if (member) members.push(member);
  }
  return members;
}

export function memberFrom(entry: StoredKey, keys: KeyLayout, lastSeen: Date): MemberRecord | undefined {
  return decodeMember(entry.key.slice(keys.membersPrefix.length), entry.value, entry.lease !== '0', lastSeen);
}

/** The leader is the campaign key with the lowest create revision; that revision is its term. */
export function leaderFrom(firstCampaign: StoredKey | undefined): LeaderRecord | undefined {
  return firstCampaign ? { id: firstCampaign.value, term: firstCampaign.createRevision } : undefined;
}

/** What an operator's membership change needs: the client, its caller and whose call it is. */
export interface RecordsAccess {
  readonly client: Etcd3;
  readonly keys: KeyLayout;
  readonly caller: EtcdCaller;
  readonly clock: Clock;
  readonly account: CallAccount;
}

/**
 * The operator's side of membership — add a member record, in one place for the election and the
 * cluster client. Records added here have no lease (`unknown` until a node with that id runs and
 * adopts it). Returns the revision of the write; `NodeExistsError` if the id is taken.
 */
export async function registerMember(
  access: RecordsAccess,
  node: NodeRegistration,
  call: CallOptions = {},
): Promise<number> {
  const registration = validateRegistration(node);
  const key = bytes(access.keys.memberKey(registration.id));
  const value = encodeMember({
    address: registration.address,
    metadata: registration.metadata ?? {},
    joinedAt: access.clock.wallNow().toISOString(),
  });
  const response = await access.caller.call(
    'register a node',
    (options) =>
      access.client.kv.txn(
        {
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: '0' }],
          success: [{ request_put: { key, value: bytes(value) } }],
          failure: [],
        },
        options,
      ),
    { class: 'write', account: access.account, signal: call.signal, deadline: call.deadline },
  );
  if (!response.succeeded) throw new NodeExistsError(registration.id);
  return Number(response.header.revision);
}

/** Removes a member record; `NodeNotFoundError` if there is none. Returns the revision of the write. */
export async function deregisterMember(
  access: RecordsAccess,
  nodeId: string,
  call: CallOptions = {},
): Promise<number> {
  const id = validateNodeId(nodeId);
  const response = await access.caller.call(
    'deregister a node',
    (options) => access.client.kv.deleteRange({ key: bytes(access.keys.memberKey(id)) }, options),
    { class: 'write', account: access.account, signal: call.signal, deadline: call.deadline },
  );
  if (Number(response.deleted) === 0) throw new NodeNotFoundError(id);
  return Number(response.header.revision);
}
