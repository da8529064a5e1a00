import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';

const hub = new MemoryHub();
const a = new InMemoryElection({ nodeId: 'a', nodeAddress: '127.0.0.1:1', initialLeadership: 0, hub });
const b = new InMemoryElection({ nodeId: 'b', nodeAddress: '127.0.0.1:2', initialLeadership: 0, hub });
await a.start();
await b.start();
console.log(`a leads (lowest id) with term ${(await a.waitForLeadership()).term}`);
// Stop it and b takes over:
await a.stop();
console.log(`b took over with term ${(await b.waitForLeadership()).term}`);
await b.stop();
