import { readFileSync } from 'node:fs';
import { EtcdElection } from '@ztap/cluster-etcd';

const election = new EtcdElection({
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'https://etcd-1:2379').split(','),
  tls: { ca: readFileSync('ca.pem'), cert: readFileSync('node.pem'), key: readFileSync('node-key.pem') },
});
await election.start(); // a TLS mismatch fails here, with one clear EtcdUnavailableError
console.log(`joined ${election.prefix} over TLS; members: ${election.getNodes().map((node) => node.id)}`);
await election.stop();
