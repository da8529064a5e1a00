/**
 * A ZTAP cluster node in its own process, for tests that kill, freeze or isolate it. Configured by the
 * ZTAP_TEST_NODE environment variable (JSON, see NodeProcessConfig); reports on stdout, one JSON
 * object per line, every timestamp from process.hrtime (CLOCK_MONOTONIC: comparable across the
 * processes of one machine). While leader it writes a counter through the fenced transaction every
 * `writeEveryMs` and reports each attempt. Send "stop" on stdin (or SIGTERM) for a graceful exit.
 */
import { createInterface } from 'node:readline';
import { isLeadershipLostError } from '@ztap/cluster';
import { EtcdElection } from '@ztap/cluster-etcd';
import type { NodeProcessConfig } from './node-process-config.ts';

const config = JSON.parse(process.env.ZTAP_TEST_NODE ?? '{}') as NodeProcessConfig;
const now = () => process.hrtime.bigint().toString();
const report = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...event, at: event.at ?? now() })}\n`);

const election = new EtcdElection({
  nodeId: config.nodeId,
  nodeAddress: '127.0.0.1:9090',
  endpoints: config.endpoints,
  cluster: config.cluster,
  heartbeatInterval: config.heartbeatInterval,
  electionTimeout: config.electionTimeout,
  initialLeadership: 0,
});

async function followLeadership(): Promise<void> {
  for (;;) {
    const leadership = await election.waitForLeadership();
    report({ event: 'leader', term: leadership.term });
    await new Promise((resolve) => leadership.signal.addEventListener('abort', resolve, { once: true }));
    const reason = leadership.signal.reason;
    report({
      event: 'lost',
      term: leadership.term,
      reason: isLeadershipLostError(reason) ? reason.reason : String(reason),
    });
  }
}

/** While leader, writes a counter through the fenced transaction every `writeEveryMs`. */
function writeWhileLeader(): void {
  const counterKey = `${election.prefix}test/counter`;
  let counter = 0;
  let writing = false;
  setInterval(async () => {
    if (writing) return;
    const term = election.term;
    // The instant this node acted as leader: taken right after the check, before the write leaves.
    if (term === undefined || !election.isLeader()) return;
    const actedAt = now();
    writing = true;
    counter++;
    try {
      const value = `${config.nodeId}:${term}:${counter}`;
      await election.guardedTxn({
        term,
        success: [{ request_put: { key: Buffer.from(counterKey), value: Buffer.from(value) } }],
      });
      report({ event: 'write', term, ok: true, at: actedAt });
    } catch (error) {
      report({ event: 'write', term, ok: false, error: (error as Error).name, at: actedAt });
    } finally {
      writing = false;
    }
  }, config.writeEveryMs);
}

async function stop(code: number): Promise<never> {
  await election.stop();
  report({ event: 'stopped' });
  process.exit(code);
}

process.on('SIGTERM', () => void stop(0));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stop') void stop(0);
});

await election.start();
report({ event: 'started', pid: process.pid, leaseId: election.leaseId });
void followLeadership().catch((error: unknown) => report({ event: 'follow-ended', error: String(error) }));
if (config.writeEveryMs > 0) writeWhileLeader();
