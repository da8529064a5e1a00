/**
 * Roles and views against a real etcd: what a node with `view: 'leader'` receives from etcd (the
 * election keys, never the member churn), a full and a narrow election on one client, and the
 * narrow member's own record and policies.
 */
import { type ElectionRole, isFencedWriteError, isLeadershipLostError, type ViewKind } from '@ztap/cluster';
import { createEtcdClient, EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { cutOffProxy, type EtcdLink, waitUntilLeads } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import type { Etcd3, IRangeRequest, IWatchResponse } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, testNodeOptions, uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();
const elections: EtcdElection[] = [];
const clients: Etcd3[] = [];
const links: EtcdLink[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
  for (const client of clients.splice(0)) client.close();
  await Promise.all(links.splice(0).map((link) => link.close()));
});

/** A client of its own (its own connection, as a separate agent would have), with what etcd sends it counted. */
function countingClient() {
  const client = createEtcdClient({ endpoints: etcd.endpoints, requestTimeout: 1000 });
  clients.push(client);
  /** The key of every watch event etcd delivered to this client. */
  const eventKeys: string[] = [];
  /** Every range request this client sent. */
  const ranges: IRangeRequest[] = [];
  const watch = client.watch.bind(client);
  client.watch = () => {
    const builder = watch();
    const create = builder.create.bind(builder);
    builder.create = async () => {
      const watcher = await create();
      watcher.on('data', (response: IWatchResponse) => {
        for (const event of response.events) eventKeys.push(event.kv.key.toString());
      });
      return watcher;
    };
    return builder;
  };
  const range = client.kv.range.bind(client.kv);
  client.kv.range = (request, options) => {
    ranges.push(request);
    return range(request, options);
  };
  return { client, eventKeys, ranges };
}

function node(
  nodeId: string,
  cluster: string,
  options: {
    role?: ElectionRole;
    view?: ViewKind;
    client?: Etcd3;
    endpoints?: string[];
    requestTimeout?: number;
  } = {},
): EtcdElection {
  const { endpoints, ...base } = testNodeOptions(etcd, nodeId, cluster);
  const election = new EtcdElection({
    ...base,
    ...(options.client || options.endpoints ? {} : { endpoints }),
    ...options,
  });
  elections.push(election);
  return election;
}

const leaderSeenBy = (election: EtcdElection, leaderId: string) =>
  within(
    new Recorder(election.leaderChanges()).until((leaders) => leaders.at(-1)?.id === leaderId),
    20_000,
    `${election.nodeId} to see leader ${leaderId}`,
  );

describe("view: 'leader' on etcd", () => {
  it('a narrow agent receives no watch event for member churn; a full one receives every one', async () => {
    const cluster = uniqueCluster('narrow-traffic');
    const prefix = `/ztap/clusters/${cluster}/`;
    const candidate = node('c', cluster);
    await candidate.start();
    await within(candidate.waitForLeadership());
    const narrowClient = countingClient();
    const fullClient = countingClient();
    const narrow = node('narrow', cluster, { role: 'member', view: 'leader', client: narrowClient.client });
    const full = node('full', cluster, { role: 'member', client: fullClient.client });
    await Promise.all([narrow.start(), full.start()]);
    await leaderSeenBy(narrow, 'c');
    narrowClient.eventKeys.length = 0;
    fullClient.eventKeys.length = 0;

    // Ten members come and go, on a client of their own.
    const churnClient = countingClient().client;
    const churn = Array.from({ length: 10 }, (_, index) =>
      node(`m${index}`, cluster, { role: 'member', client: churnClient }),
    );
    await Promise.all(churn.map((member) => member.start()));
    await Promise.all(churn.map((member) => member.stop()));
    // Then a leadership change, which both must hear; it also orders the churn before it.
    const successor = node('d', cluster);
    await successor.start();
    await candidate.stop();
    await Promise.all([leaderSeenBy(narrow, 'd'), leaderSeenBy(full, 'd')]);

    const churnEvents = (keys: readonly string[]) => keys.filter((key) => /\/members\/m\d+$/.test(key));
    const electionEvents = (keys: readonly string[]) =>
      keys.filter((key) => key.startsWith(`${prefix}election/`));
    console.info(
      `[views] watch events for 10 members joining and leaving + 1 leadership change: narrow ${narrowClient.eventKeys.length} ` +
        `(${churnEvents(narrowClient.eventKeys).length} of the churn), full ${fullClient.eventKeys.length} ` +
        `(${churnEvents(fullClient.eventKeys).length} of the churn)`,
    );
    expect(churnEvents(narrowClient.eventKeys)).toEqual([]);
    expect(electionEvents(narrowClient.eventKeys).length).toBeGreaterThanOrEqual(2); // d's key, c's deletion
    // Besides the election keys, only its own record (whose creation may still be on its way under load).
    const ownRecord = `${prefix}members/narrow`;
    expect(narrowClient.eventKeys.filter((key) => key !== ownRecord)).toEqual(
      electionEvents(narrowClient.eventKeys),
    );
    // The control: the same churn reaches a full view (a join and a departure each, at least).
    expect(churnEvents(fullClient.eventKeys).length).toBeGreaterThanOrEqual(20);
  });

  it('a narrow view’s progress checks do not mistake writes elsewhere for a stuck watch', async () => {
    const cluster = uniqueCluster('narrow-progress');
    const candidate = node('c', cluster);
    await candidate.start();
    const narrowClient = countingClient();
    const narrow = node('narrow', cluster, { role: 'member', view: 'leader', client: narrowClient.client });
    await narrow.start();
    await leaderSeenBy(narrow, 'c');
    const isCheck = (request: IRangeRequest) => request.keys_only === true || request.count_only === true;
    const listsBefore = narrowClient.ranges.filter((request) => !isCheck(request)).length;

    // Members keep changing (the store revision keeps moving) while the narrow node checks its
    // watches several times (each check is one keys-only read per watched range; a re-list reads values).
    const churnClient = countingClient().client;
    const checksBefore = narrowClient.ranges.filter(isCheck).length;
    const member = node('m', cluster, { role: 'member', client: churnClient });
    let round = 0;
    while (narrowClient.ranges.filter(isCheck).length < checksBefore + 6) {
      await member.start();
      await member.stop();
      round++;
    }
    const lists = narrowClient.ranges.filter((request) => !isCheck(request)).length - listsBefore;
    console.info(`[views] ${round} members came and went during 6 progress checks; re-lists: ${lists}`);
    expect(lists).toBe(0);
    expect(narrowClient.eventKeys.filter((key) => key.endsWith('/members/m'))).toEqual([]);
  });

  it('a full and a narrow election on one client each keep the view they asked for, in either order', async () => {
    const cluster = uniqueCluster('mixed-views');
    const shared = countingClient().client;
    const narrow = node('a-narrow', cluster, { view: 'leader', client: shared });
    const full = node('b-full', cluster, { client: shared });
    await narrow.start();
    await full.start();
    await within(narrow.waitForLeadership());
    await leaderSeenBy(full, 'a-narrow');
    await eventually(() => full.getNodes().length === 2, 20_000, 'the full view to show both');
    expect(full.getNodes().map((member) => member.id)).toEqual(['a-narrow', 'b-full']);
    expect(() => narrow.getNodes()).toThrow(/view: 'full'/);
    expect(narrow.getLeader()?.id).toBe('a-narrow');
  });

  it('a narrow member whose record an operator deletes registers again', async () => {
    const cluster = uniqueCluster('narrow-record');
    const memberKey = `/ztap/clusters/${cluster}/members/agent`;
    const agent = node('agent', cluster, { role: 'member', view: 'leader' });
    await agent.start();
    expect(await etcd.client.get(memberKey).string()).toContain('127.0.0.1:9090');
    await etcd.client.delete().key(memberKey);
    await eventually(
      async () => (await etcd.client.get(memberKey).string()) !== null,
      20_000,
      'the member record to be back',
    );
    // Members never write a campaign key.
    expect(await etcd.client.getAll().prefix(`/ztap/clusters/${cluster}/election/`).keys()).toEqual([]);
  });

  it('narrow nodes lead, write fenced policies and receive them', async () => {
    const cluster = uniqueCluster('narrow-policies');
    const leader = node('leader', cluster, { view: 'leader' });
    const agent = node('agent', cluster, { role: 'member', view: 'leader' });
    await Promise.all([leader.start(), agent.start()]);
    const { term } = await within(leader.waitForLeadership());
    const updates = new Recorder(new EtcdPolicySync(agent).subscribePolicies());
    const written = await new EtcdPolicySync(leader).syncPolicy('web', 'allow: [80]\n', { term });
    await within(
      updates.until((all) =>
        all.some((update) =>
          update.type === 'snapshot'
            ? update.policies.some((policy) => policy.version === written.version)
            : update.type === 'updated' && update.policy.version === written.version,
        ),
      ),
    );
  });

  describe('the safety rules hold for a narrow candidate', () => {
    it('cut off from etcd, it steps down before another node is elected', async () => {
      const cluster = uniqueCluster('narrow-cutoff');
      const link = await cutOffProxy(etcd);
      links.push(link);
      const isolated = node('a', cluster, {
        view: 'leader',
        endpoints: [...link.endpoints],
        requestTimeout: 500,
      });
      await isolated.start();
      await waitUntilLeads(isolated);
      const successor = node('b', cluster, { view: 'leader' });
      await successor.start();
      const signal = isolated.leadershipSignal;
      let steppedDownAt = 0;
      signal.addEventListener('abort', () => {
        steppedDownAt = performance.now();
      });
      link.cut();
      await waitUntilLeads(successor, { timeoutMs: 15_000 });
      const electedAt = performance.now();
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('deadline');
      expect(steppedDownAt).toBeGreaterThan(0);
      expect(steppedDownAt).toBeLessThan(electedAt);
    }, 40_000);

    it('deposed behind its back (its campaign key deleted), its fenced write fails, and it steps down and campaigns again', async () => {
      const cluster = uniqueCluster('narrow-fencing');
      const leader = node('a', cluster, { view: 'leader' });
      await leader.start();
      const { term, signal } = await waitUntilLeads(leader);
      const key = `${leader.prefix}test/fenced`;
      const campaignKey = leader.campaignKey as string;
      await etcd.client.delete().key(campaignKey);
      await expect(
        leader.guardedTxn({
          term,
          success: [{ request_put: { key: Buffer.from(key), value: Buffer.from('stale') } }],
        }),
      ).rejects.toSatisfy(isFencedWriteError);
      expect(await etcd.client.get(key).string()).toBeNull();
      await within(
        new Promise((resolve) =>
          signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true }),
        ),
      );
      const next = await waitUntilLeads(leader);
      expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
      expect(next.term).toBeGreaterThan(term);
    });
  });
});
