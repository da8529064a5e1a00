/**
 * `pnpm demo:multi-region`: three regions on this machine (a one-member etcd per region and a global
 * etcd with a member in each, 30/50/80 ms apart through delaying proxies), two nodes per region. One
 * node of the home region leads globally; a global policy reaches every region; then the home region is
 * cut off: it keeps serving its last policies (and says how stale they are), its leader steps down
 * before another region's is elected, and when the region returns it catches up and leads again.
 */
import { EtcdClusterClient } from '@ztap/cluster-etcd';
import { globalEtcdFlags, type MultiRegionNode, wanTiming } from '@ztap/cluster-multi-region';
import { startWanTopology } from '@ztap/testkit';
import { startRegionNodes } from './nodes.ts';

const startedAt = performance.now();
const elapsed = () => `+${((performance.now() - startedAt) / 1000).toFixed(2).padStart(6)} s`;
const say = (line: string) => console.log(`${elapsed()}  ${line}`);
const HOME = 'eu';

const topology = await startWanTopology({ globalEtcdArgs: globalEtcdFlags(wanTiming(160)) });
console.log(
  `ZTAP multi-region demo: regions ${topology.regions.map((region) => region.name).join(', ')} on ${topology.global.description}`,
);
console.log(
  `one way between regions: eu-us ${topology.delayMs('eu', 'us')} ms, us-ap ${topology.delayMs('us', 'ap')} ms, eu-ap ${topology.delayMs('eu', 'ap')} ms; home region ${HOME}\n`,
);
const nodes = await startRegionNodes(topology, { cluster: 'demo', homeRegion: HOME, say });
// An operator pushes global policies through a member of the global etcd in a region that is not
// cut off (a partitioned member answers nothing).
const operators = new Map(
  topology.regions.map((region) => [
    region.name,
    new EtcdClusterClient({ endpoints: [region.globalEndpoint], prefix: '/ztap/global/demo/' }),
  ]),
);
const operatorOutside = (away?: string) =>
  [...operators].find(([name]) => name !== away)?.[1] as EtcdClusterClient;

try {
  // Whichever region's leader was elected first hands global leadership to the home region's.
  const leader = await globalLeader(nodes.filter((node) => node.region === HOME));
  say(`${leader.nodeId} leads region ${leader.region} and globally (global term ${leader.globalTerm})`);

  console.log('\nA global policy, pushed by an operator to the global store:');
  await timePropagation('allow:\n  - port: 443\n');

  // Every region has confirmed its copy at least once (so each knows how stale it is from here on).
  await until(() => nodes.every((node) => node.replicationLagMs !== undefined));
  const region = leader.region;
  console.log(`\nRegion ${region} (the home region, the global leader's) is cut off from the other regions.`);
  const cutAt = performance.now();
  let steppedDownAt: number | undefined;
  leader.globalLeadershipSignal.addEventListener('abort', () => {
    steppedDownAt = performance.now();
  });
  topology.isolate(region);
  const successor = await globalLeader(nodes.filter((node) => node.region !== region));
  const electedAt = performance.now();
  say(
    `${successor.nodeId} of ${successor.region} leads globally, ${(electedAt - cutAt).toFixed(0)} ms after the cut`,
  );
  if (steppedDownAt !== undefined) {
    const ahead = electedAt - steppedDownAt;
    say(
      `${leader.nodeId} had stopped acting as global leader ${(steppedDownAt - cutAt).toFixed(0)} ms after the cut, ` +
        `${Math.abs(ahead).toFixed(0)} ms ${ahead >= 0 ? 'before' : 'AFTER'} its successor: ${ahead >= 0 ? 'never two global leaders' : 'TWO GLOBAL LEADERS'}.`,
    );
  }

  console.log('\nAnother global policy while the region is away:');
  await timePropagation('allow:\n  - port: 443\n  - port: 8443\n', region);
  const away = nodes.find((node) => node.region === region) as MultiRegionNode;
  say(
    `${region} still serves web@${away.policies.get('web')?.version}, last confirmed current ${((away.replicationLagMs ?? 0) / 1000).toFixed(1)} s ago`,
  );

  console.log(`\nRegion ${region} returns.`);
  topology.rejoin(region);
  const version = (await operatorOutside(region).policies.get('web'))?.version;
  await Promise.all(
    nodes
      .filter((node) => node.region === region)
      .map((node) => until(() => node.policies.get('web')?.version === version)),
  );
  say(`${region} caught up: web@${version} everywhere`);
  const home = await globalLeader(nodes.filter((node) => node.region === HOME));
  say(`${home.nodeId} of the home region ${HOME} leads globally again (global term ${home.globalTerm})`);
} finally {
  await Promise.all(nodes.map((node) => node.stop()));
  await Promise.all([...operators.values()].map((operator) => operator.close()));
  await topology.stop();
}

/** Pushes `document` as policy `web` and prints when each region's nodes see it. */
async function timePropagation(document: string, except?: string): Promise<void> {
  const pushedAt = performance.now();
  const pushed = await operatorOutside(except).policies.push('web', document);
  say(`pushed web@${pushed.version}`);
  const regions = [...new Set(nodes.map((node) => node.region))].filter((name) => name !== except);
  await Promise.all(
    regions.map(async (name) => {
      const inRegion = nodes.filter((node) => node.region === name);
      await Promise.all(
        inRegion.map((node) => until(() => node.policies.get('web')?.version === pushed.version)),
      );
      say(
        `  every node of ${name} has web@${pushed.version}, ${(performance.now() - pushedAt).toFixed(0)} ms after the push`,
      );
    }),
  );
}

/** The node of `among` that leads globally, once one does. */
async function globalLeader(among: readonly MultiRegionNode[]): Promise<MultiRegionNode> {
  const { term } = await Promise.any(among.map((node) => node.waitForGlobalLeadership()));
  return among.find((node) => node.globalTerm === term) as MultiRegionNode;
}

/** Resolves once `condition` holds (checked whenever a node's replicated policies change). */
function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const subscriptions = nodes.map((node) => node.policies.onChange(check));
    function check() {
      if (!condition()) return;
      for (const subscription of subscriptions) subscription.dispose();
      resolve();
    }
    check();
  });
}
