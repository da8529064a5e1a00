import { MultiRegionNode } from '@ztap/cluster-multi-region';
import type { WanTopology } from '@ztap/testkit';

/**
 * Two nodes per region of `topology`, started, each printing its leaderships. In production each
 * node is its own process (or `ztap agent --region`); here they share one for the demo. The global
 * lease is 3 s instead of the 5 s wanTiming() suggests for these round trips, to keep the demo short.
 */
export async function startRegionNodes(
  topology: WanTopology,
  options: { cluster: string; homeRegion: string; say: (line: string) => void },
): Promise<MultiRegionNode[]> {
  const nodes = topology.regions.flatMap((region) =>
    [1, 2].map(
      (index) =>
        new MultiRegionNode({
          nodeId: `${region.name}-${index}`,
          nodeAddress: `127.0.0.1:${9000 + index}`,
          region: region.name,
          homeRegion: options.homeRegion,
          cluster: options.cluster,
          regional: {
            endpoints: [...region.etcd.endpoints],
            initialLeadership: 0,
            heartbeatInterval: 400,
            electionTimeout: 2000,
          },
          global: { endpoints: [region.globalEndpoint], electionTimeout: 3000 },
          handBackDelay: 1000,
        }),
    ),
  );
  for (const node of nodes) {
    node.telemetry.onGlobalLeadership((event) => {
      // (Not the end of the demo: every node stops then.)
      if (!event.leading && event.reason !== 'stopped')
        options.say(`${node.nodeId} no longer leads globally (global term ${event.term}: ${event.reason})`);
    });
  }
  await Promise.all(nodes.map((node) => node.start()));
  return nodes;
}
