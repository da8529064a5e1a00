/**
 * A ZTAP cluster node in its own process, for tests that kill, freeze or isolate it. Configured by the
 * ZTAP_TEST_NODE environment variable (JSON, see NodeProcessConfig); reports on stdout, one JSON
 * object per line, every timestamp from process.hrtime (CLOCK_MONOTONIC: comparable across the
 * processes of one machine).
 *
 * While leader it writes a counter through the fenced transaction every `writeEveryMs` (and a policy
 * every `policyEveryMs`) and reports each attempt with the revision etcd committed it at. With
 * `workLingerMs` it runs leader work through `election.lead()` and reports when each term's work
 * starts and ends. With `watchPolicies` it reports every policy update it receives. On stdin: "dump"
 * reports its view of the members and policies; "resign" resigns; "transfer <id> [timeoutMs]" hands
 * leadership to <id> and reports the outcome (`transfer`, with `target`, `ok`, the successor's
 * `term` or the failure's `reason`); "stop" (or SIGTERM) stops it gracefully.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isLeadershipLostError } from '@ztap/cluster';
import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { LeaderActs, now, report } from './leader-acts.ts';
import { listenForCommands } from './node-control.ts';
import type { NodeProcessConfig } from './node-process-config.ts';

const config = JSON.parse(process.env.ZTAP_TEST_NODE ?? '{}') as NodeProcessConfig;

const election = new EtcdElection({
  nodeId: config.nodeId,
  nodeAddress: '127.0.0.1:9090',
  endpoints: config.endpoints,
  cluster: config.cluster,
  heartbeatInterval: config.heartbeatInterval,
  electionTimeout: config.electionTimeout,
  initialLeadership: 0,
  ...(config.requestTimeout ? { requestTimeout: config.requestTimeout } : {}),
});
const policies = new EtcdPolicySync(election);
let resyncs = 0;
election.telemetry.onResync(() => {
  resyncs++;
});
const knownPolicies = new Map<string, number>();

async function followLeadership(): Promise<void> {
  for (;;) {
    const leadership = await election.waitForLeadership();
    report({ event: 'leader', term: leadership.term });
    await new Promise((resolve) => leadership.signal.addEventListener('abort', resolve, { once: true }));
    const reason = leadership.signal.reason;
    report({
      event: 'lost',
      term: leadership.term,
      reason: isLeadershipLostError(reason) ? reason.reason : String(reason),
    });
  }
}

/**
 * Leader work as services write it: it runs until its signal aborts, then cleans up for `lingerMs`
 * without looking at the signal. Its start and end instants are what the overlap oracle compares.
 */
async function leadWork(lingerMs: number): Promise<void> {
  await election.lead(async ({ term, signal }) => {
    report({ event: 'work-start', term });
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await delay(lingerMs);
    report({ event: 'work-end', term });
  });
  report({ event: 'lead-ended' });
}

const acts = new LeaderActs();

let counter = 0;
async function writeCounter(term: number) {
  counter++;
  const key = Buffer.from(`${election.prefix}test/counter`);
  const response = await election.guardedTxn({
    term,
    success: [{ request_put: { key, value: Buffer.from(`${config.nodeId}:${term}:${counter}`) } }],
  });
  return { revision: Number(response.header.revision) };
}

let policyRound = 0;
async function publishPolicy() {
  policyRound++;
  const name = `p${policyRound % 3}`;
  const policy = await policies.syncPolicy(name, `by: ${config.nodeId}\nround: ${policyRound}\n`);
  return { name, version: policy.version };
}

async function followPolicies(): Promise<void> {
  for await (const update of policies.subscribePolicies()) {
    if (update.type === 'snapshot') {
      knownPolicies.clear();
      for (const policy of update.policies) knownPolicies.set(policy.name, policy.version);
      report({ event: 'policy-snapshot', policies: Object.fromEntries(knownPolicies) });
    } else if (update.type === 'updated') {
      knownPolicies.set(update.policy.name, update.policy.version);
      report({ event: 'policy-updated', name: update.policy.name, version: update.policy.version });
    } else {
      knownPolicies.delete(update.name);
      report({ event: 'policy-deleted', name: update.name, version: update.version });
    }
  }
}

async function transfer([target = '', timeout]: string[]): Promise<void> {
  const requestedAt = now();
  try {
    const result = await election.transferLeadership(target, timeout ? { timeoutMs: Number(timeout) } : {});
    report({ event: 'transfer', target, ok: true, term: result.term, requestedAt });
  } catch (error) {
    report({
      event: 'transfer',
      target,
      ok: false,
      reason: (error as { reason?: string }).reason,
      error: String(error),
      requestedAt,
    });
  }
}

listenForCommands({
  stop: () => election.stop(),
  quieten: () => acts.quieten(),
  view: () => ({
    members: election.getNodes().map((node) => node.id),
    leader: election.getLeader()?.id ?? null,
    isLeader: election.isLeader(),
    leaseId: election.leaseId,
    lastError: election.lastError?.message,
    resyncs,
    ...(config.watchPolicies ? { policies: Object.fromEntries(knownPolicies) } : {}),
  }),
  other: (command) => {
    if (command === 'resign') void election.resign();
    if (command.startsWith('transfer ')) void transfer(command.split(' ').slice(1));
  },
});

await election.start();
report({ event: 'started', pid: process.pid, leaseId: election.leaseId });
void followLeadership().catch((error: unknown) => report({ event: 'follow-ended', error: String(error) }));
if (config.workLingerMs !== undefined)
  void leadWork(config.workLingerMs).catch((error: unknown) =>
    report({ event: 'lead-failed', error: String(error) }),
  );
const leading = () => (election.isLeader() ? election.term : undefined);
if (config.writeEveryMs > 0) acts.every(config.writeEveryMs, 'write', leading, writeCounter);
if (config.policyEveryMs) acts.every(config.policyEveryMs, 'policy-write', leading, publishPolicy);
if (config.watchPolicies)
  void followPolicies().catch((error: unknown) =>
    report({ event: 'policy-follow-ended', error: String(error) }),
  );
