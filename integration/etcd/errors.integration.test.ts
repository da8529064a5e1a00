/**
 * Errors that must never be retried, on a real etcd: NOSPACE (backend quota exhausted) and RBAC
 * (authentication, permission). Each surfaces at once as its own typed error with a clear message.
 */
import {
  EtcdElection,
  type EtcdElectionOptions,
  isEtcdAuthError,
  isEtcdNoSpaceError,
  isEtcdPermissionError,
} from '@ztap/cluster-etcd';
import type { EtcdHandle } from '@ztap/cluster-testing';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueCluster, within } from '../support/etcd.ts';
import { fillUntilNoSpace, RBAC_USERS, startRbacEtcd, startSmallQuotaEtcd } from '../support/special-etcd.ts';

const elections: EtcdElection[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
});

function node(nodeId: string, options: Partial<EtcdElectionOptions>): EtcdElection {
  const election = new EtcdElection({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    heartbeatInterval: 200,
    electionTimeout: 2000,
    initialLeadership: 0,
    maxRetries: 3,
    ...options,
  });
  elections.push(election);
  return election;
}

describe('database space exceeded (NOSPACE)', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startSmallQuotaEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('is reported once, typed and explained; the leader keeps leading (keepalives are not writes)', async () => {
    const leader = node('a', { endpoints: [...etcd.endpoints], cluster: uniqueCluster('nospace') });
    await leader.start();
    await waitUntilLeads(leader);
    await fillUntilNoSpace(etcd);

    const requestsBefore = leader.requestCount;
    const error = await leader
      .registerNode({ id: 'late', address: '127.0.0.1:1' })
      .catch((caught: unknown) => caught);
    expect(isEtcdNoSpaceError(error)).toBe(true);
    expect((error as Error).message).toContain('etcdctl compact / defrag / alarm disarm');
    expect(leader.requestCount - requestsBefore).toBe(1);
    expect(leader.isLeader()).toBe(true);
    // A leader-only write is refused too: etcd 3.4 would not count a nested transaction's puts
    // against the quota, so guardedTxn keeps them at the top level.
    const term = leader.term as number;
    const fenced = leader.guardedTxn({
      term,
      success: [{ request_put: { key: Buffer.from(`${leader.prefix}x`), value: Buffer.from('y') } }],
    });
    await expect(fenced).rejects.toSatisfy(isEtcdNoSpaceError);
  }, 60_000);
});

describe('authentication and permissions (RBAC)', () => {
  let etcd: EtcdHandle;
  const endpoints = () => [...etcd.endpoints];
  beforeAll(async () => {
    etcd = await startRbacEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('a wrong password is an EtcdAuthError, not retried and not printed', async () => {
    const election = node('a', {
      endpoints: endpoints(),
      cluster: 'rbac',
      auth: { username: 'viewer', password: 'not-the-password' },
    });
    const error = await within(election.start().catch((caught: unknown) => caught));
    expect(isEtcdAuthError(error)).toBe(true);
    expect((error as Error).message).toContain('etcd rejected the credentials');
    expect((error as Error).message).not.toContain('not-the-password');
  });

  it('a read-only user cannot join: an EtcdPermissionError names the operation', async () => {
    const election = node('a', { endpoints: endpoints(), cluster: 'rbac', auth: RBAC_USERS.viewer });
    const error = await within(election.start().catch((caught: unknown) => caught));
    expect(isEtcdPermissionError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^etcd denied permission to (grant a lease|publish the member record)/,
    );
  });
});
