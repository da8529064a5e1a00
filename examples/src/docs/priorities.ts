import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';

// Prefer the primary zone; a canary (priority below zero) never leads while another node can.
const priorityOf = (zone: string, canary: boolean) => (canary ? -1 : zone === 'eu-1' ? 10 : 0);

const hub = new MemoryHub();
const node = (nodeId: string, zone: string, canary = false) =>
  new InMemoryElection({
    nodeId,
    nodeAddress: `${nodeId}.internal:8080`,
    metadata: { zone },
    priority: priorityOf(zone, canary),
    // Short holds for the demo; the defaults are 3 s and 5 s.
    initialLeadership: 200,
    minLeadership: 200,
    hub,
  });

async function leaderIs(election: InMemoryElection, id: string): Promise<void> {
  for await (const leader of election.leaderChanges()) if (leader?.id === id) return;
}

const canary = node('canary', 'eu-2', true);
await canary.start();
await leaderIs(canary, 'canary');
console.log('canary leads: it is the only node');

const eu2 = node('web-eu-2', 'eu-2');
await eu2.start();
await leaderIs(canary, 'web-eu-2');
console.log('web-eu-2 leads: the canary handed over');

const eu1 = node('web-eu-1', 'eu-1');
await eu1.start();
await leaderIs(canary, 'web-eu-1');
console.log('web-eu-1 leads: the preferred zone');

for (const election of [eu1, eu2, canary]) await election.stop();
