/**
 * One candidate in its own process, of either system, for the scenarios that kill, freeze or cut
 * off a leader. Reports (JSON lines, monotonic ms):
 *
 * - `ready`: the node is a queued candidate;
 * - `leader`: it learned it leads (ZTAP: waitForLeadership resolved; etcd3: the campaign's 'elected');
 * - `lost`: it learned it no longer leads (ZTAP: the leadership signal aborted; etcd3: 'error');
 * - `stepped-down`: the belief poll saw "I lead" turn false, with `lastYes`, the last instant it saw true.
 *
 * "Believes it leads" is what code asking the library gets, polled every `pollMs`: ZTAP's
 * `isLeader()`; for etcd3, elected and no 'error' since — the state its users act on (its docs: "Once
 * acquired, instance will not lose its leadership unless `resign()` is called, or `error` is emitted").
 */
import { isLeadershipLostError } from '@ztap/cluster';
import { EtcdElection } from '@ztap/cluster-etcd';
import { Etcd3 } from 'etcd3';
import { heartbeatFor } from '../candidates.ts';
import type { SystemName } from '../results.ts';
import { nowMs } from '../time.ts';
import { childConfig, onStopRequest, report } from './report.ts';

export interface NodeChildConfig {
  readonly system: SystemName;
  readonly nodeId: string;
  readonly endpoint: string;
  /** ZTAP prefix `/bench/<name>/`, or etcd3 election name. */
  readonly name: string;
  readonly ttlSeconds: number;
  readonly pollMs: number;
}

const config = childConfig<NodeChildConfig>();
let believes: () => boolean;
let stop: () => Promise<void>;

if (config.system === 'ztap') {
  const election = new EtcdElection({
    nodeId: config.nodeId,
    nodeAddress: '127.0.0.1:9090',
    endpoints: [config.endpoint],
    prefix: `/bench/${config.name}/`,
    electionTimeout: config.ttlSeconds * 1000,
    heartbeatInterval: heartbeatFor(config.ttlSeconds),
    initialLeadership: 0,
  });
  believes = () => election.isLeader();
  stop = () => election.stop();
  await election.start();
  report({ event: 'ready', pid: process.pid });
  void (async () => {
    for (;;) {
      const leadership = await election.waitForLeadership();
      report({ event: 'leader', term: leadership.term });
      await new Promise((resolve) => leadership.signal.addEventListener('abort', resolve, { once: true }));
      const reason = leadership.signal.reason;
      report({ event: 'lost', reason: isLeadershipLostError(reason) ? reason.reason : String(reason) });
    }
  })().catch(() => {});
} else {
  const client = new Etcd3({ hosts: config.endpoint });
  const campaign = client.election(config.name, config.ttlSeconds).campaign(config.nodeId);
  let elected = false;
  let failed = false;
  let ready = false;
  const markReady = () => {
    if (ready) return;
    ready = true;
    report({ event: 'ready', pid: process.pid });
  };
  believes = () => elected && !failed;
  stop = async () => {
    await campaign.resign().catch(() => {});
    client.close();
  };
  // etcd3's internal "found my predecessor" event: only used to say the candidate is queued.
  campaign.on('_isWaiting' as 'elected', markReady);
  campaign.on('elected', () => {
    markReady();
    elected = true;
    report({ event: 'leader' });
  });
  campaign.on('error', (error: Error) => {
    failed = true;
    report({ event: 'lost', reason: error.name });
  });
}

let was = false;
let lastYes = 0;
setInterval(() => {
  const now = nowMs();
  const yes = believes();
  if (yes) lastYes = now;
  else if (was) report({ event: 'stepped-down', lastYes, at: now });
  was = yes;
}, config.pollMs);

onStopRequest(() => stop());
