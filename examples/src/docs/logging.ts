import { EtcdElection } from '@ztap/cluster-etcd';
import { pino } from 'pino';

// JSON lines on stdout; the election logs through a child bound to { nodeId, prefix }.
const logger = pino({ level: 'info' });

const election = new EtcdElection({
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'logging',
  initialLeadership: 0,
  logger,
});
await election.start();
await election.waitForLeadership(); // leadership_gained
await election.resign(); // leadership_lost (resigned); still a candidate, it leads again:
await election.waitForLeadership(); // leadership_gained
await election.stop(); // leadership_lost (stopped)
