import { MultiRegionNode, wanTiming } from '@ztap/cluster-multi-region';

const timing = wanTiming(150); // the largest round trip between the global etcd's members, ms
const node = new MultiRegionNode({
  nodeId: process.env.NODE_ID ?? 'node-1',
  nodeAddress: '10.1.0.7:9090',
  region: 'eu',
  homeRegion: 'eu',
  cluster: 'payments',
  regional: { endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',') },
  global: {
    endpoints: (process.env.ZTAP_GLOBAL_ENDPOINTS ?? 'http://127.0.0.1:2479').split(','),
    electionTimeout: timing.electionTimeout,
  },
});
const shutdown = new AbortController();
process.once('SIGTERM', () => shutdown.abort());
await node.start({ signal: shutdown.signal });

// Services in every region: the global policies as this region holds them.
void (async () => {
  for await (const update of node.policies.subscribe({ signal: shutdown.signal })) {
    if (update.type === 'snapshot') console.log(`${update.policies.length} policies`);
    else if (update.type === 'updated')
      console.log(`${update.policy.name} is at global version ${update.policy.version}`);
    if ((node.replicationLagMs ?? 0) > 30_000) console.log('policies may be stale');
  }
})();

// The global leader's work: fenced by the global term, aborted the moment the region is lost.
await node
  .runWhileGlobalLeader(
    async ({ term, signal }) => {
      await node.globalPolicies.syncPolicy('web', 'allow:\n  - port: 443\n', { term });
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
    { signal: shutdown.signal },
  )
  .catch(() => {}); // SIGTERM before it led
await node.stop(); // global first (drain, revoke), then the region
