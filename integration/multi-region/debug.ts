import { EtcdClusterClient } from '@ztap/cluster-etcd';
import { globalEtcdFlags, MultiRegionNode, wanTiming } from '@ztap/cluster-multi-region';
import { startWanTopology } from '@ztap/testkit';

const topo = await startWanTopology({ globalEtcdArgs: globalEtcdFlags(wanTiming(160)) });
const t0 = performance.now();
const log = (m: string) => console.log(`${(performance.now() - t0).toFixed(0).padStart(6)} ${m}`);
const mk = (region: string, id: string) =>
  new MultiRegionNode({
    nodeId: id,
    nodeAddress: '127.0.0.1:1',
    region,
    cluster: 'dbg',
    regional: {
      endpoints: [...topo.region(region).etcd.endpoints],
      heartbeatInterval: 200,
      electionTimeout: 2000,
      initialLeadership: 0,
    },
    global: { endpoints: [topo.region(region).globalEndpoint], electionTimeout: 3000 },
    replication: { confirmInterval: 500 },
  });
const nodes = [mk('eu', 'eu-1'), mk('ap', 'ap-1'), mk('ap', 'ap-2')];
for (const node of nodes)
  node.telemetry.onReplication((e) =>
    log(
      `${node.nodeId} ${JSON.stringify({ ...e, error: 'error' in e ? String(e.error).slice(0, 100) : undefined })}`,
    ),
  );
await Promise.all(nodes.map((n) => n.start()));
const op = new EtcdClusterClient({
  endpoints: [topo.region('eu').globalEndpoint],
  prefix: '/ztap/global/dbg/',
});
await op.policies.push('web', 'v: 1\n');
await new Promise((r) => setTimeout(r, 1500));
log(`leader of raft: ${(await topo.global.leader()).name}; isolating ap`);
topo.isolate('ap');
for (let i = 0; i < 12; i++) {
  await new Promise((r) => setTimeout(r, 500));
  log(nodes.map((n) => `${n.nodeId} lag ${n.replicationLagMs?.toFixed(0)}`).join(' | '));
}
topo.rejoin('ap');
await Promise.all(nodes.map((n) => n.stop()));
await op.close();
await topo.stop();
