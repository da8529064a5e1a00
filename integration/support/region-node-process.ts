/**
 * A multi-region node in its own process, for chaos tests. Configured by ZTAP_TEST_NODE (JSON, see
 * RegionNodeConfig); reports on stdout, one JSON object per line, instants from process.hrtime
 * (comparable across the processes of one machine):
 *
 * - `leader` / `lost`: its regional leadership; `global-leader` / `global-lost`: its global one,
 *   at the instant it began or ended (telemetry fires synchronously);
 * - `global-write` / `policy-write`: while it leads globally, each attempt to write through the
 *   global fence (a counter, and global policies), taken right after it checked it leads, with the
 *   global revision etcd committed it at;
 * - `replica-write`: each fenced write of its replication into its region, with the regional term
 *   and the regional revision; `replica-resync`: each full resync, with the reason.
 *
 * On stdin: "dump" reports its view (replicated policies, lag, the global leader it knows); "quiet"
 * stops its global writes (replication goes on); "stop" (or SIGTERM) stops it gracefully.
 */
import { MultiRegionNode } from '@ztap/cluster-multi-region';
import { LeaderActs, report } from './leader-acts.ts';
import { listenForCommands } from './node-control.ts';
import type { RegionNodeConfig } from './region-node-config.ts';

const config = JSON.parse(process.env.ZTAP_TEST_NODE ?? '{}') as RegionNodeConfig;

const node = new MultiRegionNode({
  nodeId: config.nodeId,
  nodeAddress: '127.0.0.1:9090',
  region: config.region,
  cluster: config.cluster,
  ...(config.homeRegion ? { homeRegion: config.homeRegion } : {}),
  regional: {
    endpoints: [...config.regionalEndpoints],
    heartbeatInterval: config.regionalTtlMs / 5,
    electionTimeout: config.regionalTtlMs,
    initialLeadership: 0,
  },
  global: { endpoints: [...config.globalEndpoints], electionTimeout: config.globalTtlMs },
  replication: { confirmInterval: config.confirmIntervalMs },
});

node.regional.telemetry.onLeadership((event) =>
  report({ event: event.leading ? 'leader' : 'lost', term: event.term, reason: event.reason }),
);
node.telemetry.onGlobalLeadership((event) =>
  report({ event: event.leading ? 'global-leader' : 'global-lost', term: event.term, reason: event.reason }),
);
node.telemetry.onReplication((event) => {
  if (event.type === 'write')
    report({
      event: 'replica-write',
      term: event.term,
      ok: event.ok,
      revision: event.revision,
      kind: event.kind,
    });
  else if (event.type === 'resync') report({ event: 'replica-resync', reason: event.reason });
  else report({ event: 'replica-error', error: event.error.message });
});

const acts = new LeaderActs();

let counter = 0;
async function writeCounter(term: number) {
  counter++;
  const response = await node.globalGuardedTxn({
    term,
    success: [
      {
        request_put: {
          key: Buffer.from(`${node.prefixes.global}test/counter`),
          value: Buffer.from(`${config.nodeId}:${term}:${counter}`),
        },
      },
    ],
  });
  return { revision: Number(response.header.revision) };
}

let round = 0;
async function publishPolicy(term: number) {
  round++;
  const name = `p${round % 5}`;
  if (round % 7 === 0) {
    await node.globalPolicies.deletePolicy(name, { term });
    return { name, deleted: true };
  }
  const policy = await node.globalPolicies.syncPolicy(name, `by: ${config.nodeId}\nround: ${round}\n`, {
    term,
  });
  return { name, version: policy.version, revision: policy.version };
}

listenForCommands({
  stop: () => node.stop(),
  quieten: () => acts.quieten(),
  view: () => ({
    region: config.region,
    policies: Object.fromEntries(node.policies.list().map((policy) => [policy.name, policy.version])),
    lagMs: node.replicationLagMs,
    leader: node.globalLeader?.node ?? null,
    isLeader: node.isGlobalLeader(),
  }),
});

await node.start();
report({ event: 'started', pid: process.pid });
const leadingGlobally = () => (node.isGlobalLeader() ? node.globalTerm : undefined);
if (config.globalWriteEveryMs > 0)
  acts.every(config.globalWriteEveryMs, 'global-write', leadingGlobally, writeCounter);
if (config.globalPolicyEveryMs > 0)
  acts.every(config.globalPolicyEveryMs, 'policy-write', leadingGlobally, publishPolicy);
process.on('unhandledRejection', (error) => report({ event: 'follow-ended', error: String(error) }));
