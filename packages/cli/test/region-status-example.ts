import type { MultiRegionStatus } from '@ztap/cluster-multi-region';

/** Two regions (eu reachable and replicating, ap unreachable) and the global leader in us. */
export const exampleStatus: MultiRegionStatus = {
  global: {
    endpoints: ['http://g:1'],
    reachable: true,
    leader: { node: 'us-1@us', region: 'us', term: 12 },
    revision: 40,
    policies: 3,
  },
  regions: [
    {
      name: 'eu',
      endpoints: ['http://e:1'],
      reachable: true,
      leader: { nodeId: 'eu-2', term: 7 },
      nodes: 2,
      healthyNodes: 2,
      replication: {
        globalRevision: 40,
        lagMs: 1234,
        policies: 3,
        resyncing: false,
        writer: { nodeId: 'eu-2', term: 7 },
      },
    },
    {
      name: 'ap',
      endpoints: ['http://a:1'],
      reachable: false,
      error: 'etcd at http://a:1 is unreachable',
    },
  ],
};
