import { existsSync } from 'node:fs';
import { isValidationError } from '@ztap/cluster';
import { eventually } from '@ztap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHealthy } from '../src/etcd/etcd-api.ts';
import {
  type EtcdCluster,
  type EtcdMember,
  isEtcdMemberStoppedError,
  isWaitTimeoutError,
  startEtcdCluster,
} from '../src/index.ts';
import { get, memberNames, processExists, processState, put } from './etcd-helpers.ts';

describe('startEtcdCluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3 });
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const others = (...excluded: EtcdMember[]) =>
    cluster.members.filter((member) => !excluded.includes(member));

  it('starts 3 members on their own loopback ports that form one cluster', async () => {
    expect(cluster.members.map((member) => member.name)).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    expect(new Set(cluster.members.map((member) => member.clientUrl)).size).toBe(3);
    expect(cluster.endpoints).toEqual(cluster.members.map((member) => member.clientUrl));
    expect(cluster.description).toMatch(
      /^local etcd cluster of 3, 3\.\d+\.\d+ \(.*\) on (127\.0\.0\.1:\d+(, )?){3}$/,
    );
    for (const member of cluster.members) {
      expect(await memberNames(member.clientUrl)).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    }
  });

  it('keeps serving after its leader is SIGKILLed, and the restarted member catches up', {
    timeout: 20_000,
  }, async () => {
    const leader = await cluster.leader();
    await put(leader.clientUrl, 'before', '1');
    const oldPid = leader.pid;

    await leader.kill();
    expect(leader.running).toBe(false);
    expect(processExists(oldPid)).toBe(false);
    const successor = await cluster.leader();
    expect(successor).not.toBe(leader);
    const [follower] = others(leader, successor) as [EtcdMember];
    await put(follower.clientUrl, 'during', '2'); // forwarded to the new leader
    expect(await get(successor.clientUrl, 'before')).toBe('1');

    await leader.restart();
    expect(leader.running).toBe(true);
    expect(leader.pid).not.toBe(oldPid);
    // A linearizable read through the restarted member: it has rejoined and caught up.
    expect(await get(leader.clientUrl, 'during')).toBe('2');
  });

  it('goes on without a paused member, which serves again once resumed', { timeout: 20_000 }, async () => {
    const leader = await cluster.leader();
    leader.pause();
    expect(leader.paused).toBe(true);
    await eventually(() => processState(leader.pid) === 'T', 5_000, 'the paused process to stop');
    expect(await isHealthy(leader.clientUrl, 300)).toBe(false);

    const successor = await cluster.leader();
    expect(successor).not.toBe(leader);
    await put(successor.clientUrl, 'while-paused', '3');

    leader.resume();
    expect(leader.paused).toBe(false);
    await eventually(() => processState(leader.pid) !== 'T', 5_000, 'the resumed process to run');
    await leader.waitForHealth();
    expect(await get(leader.clientUrl, 'while-paused')).toBe('3');
  });

  it('restarts members that lost quorum with their data, once a majority runs again', {
    timeout: 20_000,
  }, async () => {
    const anyMember = cluster.members[0] as EtcdMember;
    await put(anyMember.clientUrl, 'durable', '4');
    await Promise.all(cluster.members.map((member) => member.kill()));
    expect(cluster.members.some((member) => member.running)).toBe(false);
    // The levers say plainly what cannot be done, and the bounded wait says what it saw.
    const [anyStopped] = cluster.members as [EtcdMember];
    expect(() => anyStopped.pause()).toThrow('cannot pause etcd member etcd-1: it is not running');
    let resumeError: unknown;
    try {
      anyStopped.resume();
    } catch (error) {
      resumeError = error;
    }
    expect(isEtcdMemberStoppedError(resumeError)).toBe(true);
    const stopWaiting = new Error('stop waiting');
    await expect(cluster.leader({ signal: AbortSignal.abort(stopWaiting) })).rejects.toBe(stopWaiting);
    await expect(anyStopped.waitForHealth({ signal: AbortSignal.abort(stopWaiting) })).rejects.toBe(
      stopWaiting,
    );
    const noLeader = await cluster.leader({ timeoutMs: 200 }).catch((error: unknown) => error);
    expect(isWaitTimeoutError(noLeader)).toBe(true);
    expect(noLeader).toHaveProperty(
      'message',
      'timed out after 200 ms waiting for the etcd members to agree on a raft leader; seen instead: ' +
        'etcd-1 is not running; etcd-2 is not running; etcd-3 is not running',
    );

    const [first, second, third] = cluster.members as [EtcdMember, EtcdMember, EtcdMember];
    // Alone, a member cannot be healthy: restart it waiting only until it listens.
    await first.restart({ waitForHealth: false });
    expect(first.running).toBe(true);
    await second.restart({ waitForHealth: false });
    await Promise.all([first.waitForHealth(), second.waitForHealth()]);
    await third.restart();
    for (const member of cluster.members) expect(await get(member.clientUrl, 'durable')).toBe('4');
    expect(await cluster.leader()).toBeDefined();
  });

  it('stop() ends every member and removes the data dirs', async () => {
    const { members } = cluster;
    const pids = members.map((member) => member.pid);
    await cluster.stop();
    expect(pids.filter(processExists)).toEqual([]);
    expect(members.filter((member) => existsSync(member.dir))).toEqual([]);
  });
});

describe('startEtcdCluster options', () => {
  it('refuses a member count that is not a whole number of at least 1, naming the option', async () => {
    for (const members of [0, -1, 1.5, Number.NaN]) {
      const error = await startEtcdCluster({ members }).catch((caught: unknown) => caught);
      expect(isValidationError(error) && error.field, String(members)).toBe('members');
    }
    await expect(startEtcdCluster({ members: 0 })).rejects.toThrow(
      'members must be a whole number of at least 1 (got 0)',
    );
  });
});
