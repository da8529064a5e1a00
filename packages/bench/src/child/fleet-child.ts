/**
 * A share of a fleet: `nodeIds.length` agents in this process, each with an etcd client (its own
 * connection) of its own, each following the leader and the policies. The parent spreads a fleet over
 * several of these. Every agent reports, with monotonic timestamps comparable across processes:
 * - `lead` / `unlead`: it became leader / stopped leading (reason);
 * - `knows`: it learned a new leader (id, or null);
 * - `policy`: it holds policy `name` at `version`;
 * - `lost`: a keepalive said its lease is gone; `live`: its member record is back under a new lease;
 * - `resync`: its view was rebuilt from a full list.
 *
 * stdin commands: `push <name> <value>` (the current leader here, if any, writes a policy), `resign`
 * (the leader here resigns), `rss` (reports memory), `stop`.
 */
import { createInterface } from 'node:readline';
import { createEtcdClient, EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { childConfig, report } from './report.ts';

export interface FleetChildConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly nodeIds: readonly string[];
  /** Ids of the agents that may lead (role `candidate`); the others are members (role `member`). */
  readonly candidates: readonly string[];
  /** What the members watch: `full` (the whole cluster) or `leader` (leader and policies only). */
  readonly memberView: 'full' | 'leader';
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  /** The agents start spread evenly over this window (ms). */
  readonly startWindowMs: number;
}

const config = childConfig<FleetChildConfig>();

interface Agent {
  readonly id: string;
  readonly election: EtcdElection;
  readonly policies: EtcdPolicySync;
  readonly stop: AbortController;
}

const agents: Agent[] = [];
let failedStarts = 0;

function agentFor(id: string, index: number): Agent {
  const endpoint = config.endpoints[index % config.endpoints.length] as string;
  const client = createEtcdClient({ endpoints: [endpoint], requestTimeout: config.electionTimeoutMs / 2 });
  const election = new EtcdElection({
    nodeId: id,
    nodeAddress: `127.0.0.1:${20000 + index}`,
    client,
    prefix: config.prefix,
    electionTimeout: config.electionTimeoutMs,
    heartbeatInterval: config.heartbeatMs,
    initialLeadership: 0,
    ...(config.candidates.includes(id) ? {} : { role: 'member' as const, view: config.memberView }),
  });
  const agent: Agent = { id, election, policies: new EtcdPolicySync(election), stop: new AbortController() };
  const { telemetry } = election;
  telemetry.onLeadership((event) => {
    if (event.leading) report({ event: 'lead', node: id, term: event.term });
    else report({ event: 'unlead', node: id, reason: event.reason });
  });
  telemetry.onLeaderChange((change) =>
    report({ event: 'knows', node: id, leader: change.leader?.id ?? null }),
  );
  telemetry.onHeartbeat((beat) => {
    if (!beat.ok && beat.failure === 'lease_lost') report({ event: 'lost', node: id });
  });
  telemetry.onLiveness((liveness) => {
    report(
      liveness.ok ? { event: 'live', node: id } : { event: 'notlive', node: id, reason: liveness.reason },
    );
  });
  telemetry.onResync(() => report({ event: 'resync', node: id }));
  void followPolicies(agent);
  return agent;
}

async function followPolicies(agent: Agent): Promise<void> {
  const known = new Map<string, number>();
  const note = (name: string, version: number, value: string) => {
    if (known.get(name) === version) return;
    known.set(name, version);
    report({ event: 'policy', node: agent.id, name, version, value });
  };
  try {
    for await (const update of agent.policies.subscribePolicies({ signal: agent.stop.signal })) {
      if (update.type === 'snapshot')
        for (const policy of update.policies) note(policy.name, policy.version, policy.document);
      else if (update.type === 'updated')
        note(update.policy.name, update.policy.version, update.policy.document);
    }
  } catch (error) {
    if (!agent.stop.signal.aborted) report({ event: 'policy-error', node: agent.id, error: String(error) });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts an agent; a failed start is reported (it counts) and tried again, as a supervisor would. */
async function startWithRetries(agent: Agent): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await agent.election.start();
      report({ event: 'started', node: agent.id, attempt });
      return;
    } catch (error) {
      failedStarts++;
      report({ event: 'start-failed', node: agent.id, error: String(error) });
      if (attempt >= 5) return;
      await sleep(1000);
    }
  }
}

const spacing = config.nodeIds.length > 1 ? config.startWindowMs / config.nodeIds.length : 0;
const starts: Promise<void>[] = [];
for (const [index, id] of config.nodeIds.entries()) {
  const agent = agentFor(id, index);
  agents.push(agent);
  starts.push(startWithRetries(agent));
  if (spacing > 0) await sleep(spacing);
}
await Promise.all(starts);
report({ event: 'all-started', failedStarts, rssMiB: process.memoryUsage().rss / 2 ** 20 });

let stopping = false;
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const agent of agents) agent.stop.abort();
  await Promise.all(agents.map((agent) => agent.election.stop().catch(() => {})));
  for (const agent of agents) agent.election.client.close();
  report({ event: 'stopped' });
  process.exit(0);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, ...args] = line.trim().split(' ');
  if (command === 'stop') void stopAll();
  else if (command === 'rss') report({ event: 'rss', rssMiB: process.memoryUsage().rss / 2 ** 20 });
  else if (command === 'push') {
    const leader = agents.find((agent) => agent.election.isLeader());
    if (!leader) return;
    const [name = 'p', value = ''] = args;
    leader.policies.syncPolicy(name, value).then(
      (result) => report({ event: 'pushed', node: leader.id, name, version: result.version }),
      (error: unknown) => report({ event: 'push-failed', node: leader.id, error: String(error) }),
    );
  } else if (command === 'resign') {
    const leader = agents.find((agent) => agent.election.isLeader());
    if (leader)
      leader.election.resign().then(
        () => report({ event: 'resigned', node: leader.id }),
        (error: unknown) => report({ event: 'resign-failed', node: leader.id, error: String(error) }),
      );
  }
});
process.on('SIGTERM', () => void stopAll());

// CPU and event-loop delay, sampled: whether this process kept up during a storm.
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  const usage = process.cpuUsage();
  report({
    event: 'load',
    cpuSeconds: (usage.user + usage.system) / 1e6,
    loopDelayMs: Math.max(0, now - lastTick - 250),
  });
  lastTick = now;
}, 250).unref();
