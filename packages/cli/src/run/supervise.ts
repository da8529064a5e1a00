import { isLeadershipLostError, type Leadership } from '@ztap/cluster';
import type { EtcdElection } from '@ztap/cluster-etcd';
import { CliFailure } from '../errors.ts';
import type { Logger } from '../log.ts';
import { toHostDeadline } from './host-clock.ts';
import { isKeeperDiedError, type KeeperProcess } from './keeper-process.ts';
import type { FromKeeper } from './keeper-protocol.ts';
import { describeReport } from './keeper-report.ts';

/** The keeper's reports as log events: `stopping` is ztap run's own decision, SIGTERM going out is this. */
const LOG_EVENT: Partial<Record<FromKeeper['type'], string>> = { stopping: 'terminating' };

/** Why the command's process group is being ended, first reason first. */
type EndCause = 'exited' | 'lost' | 'signal' | 'deadline';

export interface SupervisedCommand {
  readonly commandLine: readonly string[];
  readonly env: Record<string, string>;
  readonly graceMs: number;
}

/**
 * Runs the command through `keeper` for as long as `leadership` lasts. Resolves with the command's
 * exit status (it exited by itself, or ztap run was told to stop), or with the sentence explaining
 * why it was stopped (leadership lost). The keeper holds the step-down deadline too: every lease
 * renewal is passed on while leadership lasts, and none after, so the command's group is killed by
 * the last deadline this leadership could claim, even if this process freezes or dies.
 */
export async function superviseCommand(
  election: EtcdElection,
  leadership: Leadership,
  keeper: KeeperProcess,
  command: SupervisedCommand,
  log: Logger,
  { signal }: { signal: AbortSignal },
): Promise<number | string> {
  const file = command.commandLine[0] as string;
  const lostReason = () =>
    isLeadershipLostError(leadership.signal.reason) ? leadership.signal.reason.reason : 'unknown';
  const validUntilMs = election.leadershipValidUntil;
  if (validUntilMs === undefined || leadership.signal.aborted)
    return `leadership lost (${lostReason()}) before ${file} started`;
  log('leader', `elected (term ${leadership.term}); starting ${command.commandLine.join(' ')}`, {
    term: leadership.term,
  });

  let cause: EndCause | undefined;
  let failure: string | undefined;
  let pgid = 0;
  const stopFor = (why: EndCause, message: string, fields: Record<string, unknown>) => {
    if (cause !== undefined) return;
    cause = why;
    log('stopping', message, fields);
    keeper.stop();
  };
  const onLost = () =>
    stopFor('lost', `leadership lost (${lostReason()}): stopping ${file}`, { reason: lostReason() });
  const onSignal = () =>
    stopFor('signal', `${String(signal.reason)}: stopping ${file}`, { reason: 'signal' });
  let signalled = false;
  const onReport = (report: FromKeeper) => {
    switch (report.type) {
      case 'started':
        pgid = report.pid;
        log('started', `started ${file} (pid ${pgid}, its own process group; keeper pid ${keeper.pid})`, {
          pid: pgid,
          keeperPid: keeper.pid,
        });
        return;
      case 'failed':
        failure = report.message;
        return;
      case 'exited':
        cause ??= 'exited';
        return;
      case 'stopping':
        signalled = true;
        if (report.cause === 'deadline' && cause === undefined) {
          // The keeper saw the deadline pass before we did: this process was frozen or starved.
          cause = 'deadline';
          log('stopping', `no lease renewal before the leadership deadline: stopping ${file}`, {
            reason: 'deadline',
          });
        }
        break;
      case 'ended':
        // A command that exited alone and left nothing behind needs no word about its group.
        if (!signalled) return;
        break;
    }
    const message = describeReport(report, { name: file, pgid, renewable: !leadership.signal.aborted });
    if (message === undefined) return;
    const { type, ...fields } = report;
    const alarming = report.type === 'killing' || (report.type === 'ended' && report.remaining.length > 0);
    log(LOG_EVENT[type] ?? type, message, fields, alarming ? 'yellow' : undefined);
  };

  const reports = keeper.onReport(onReport);
  keeper.start(
    command.commandLine,
    command.env,
    command.graceMs,
    toHostDeadline(validUntilMs, election.clock),
  );
  const renewals = election.onLeaseRenewed((renewal) => {
    if (!leadership.signal.aborted) keeper.renew(toHostDeadline(renewal.validUntilMs, election.clock));
  });
  leadership.signal.addEventListener('abort', onLost, { once: true });
  signal.addEventListener('abort', onSignal, { once: true });
  if (leadership.signal.aborted) onLost();
  if (signal.aborted) onSignal();
  try {
    const ended = await keeper.ended;
    if (failure !== undefined) throw new CliFailure(`cannot start ${file}: ${failure}`);
    if (ended.status === null) return `leadership lost (deadline) before ${file} started`;
    if (cause === 'lost') return `leadership lost (${lostReason()}); stopped ${file}`;
    if (cause === 'deadline') return `leadership lost (deadline); stopped ${file}`;
    if (cause === 'exited')
      log('exited', `${file} exited with status ${ended.status}; resigning`, { status: ended.status });
    return ended.status;
  } catch (error) {
    if (!isKeeperDiedError(error)) throw error;
    const killed = keeper.killCommandGroup();
    const cleanup =
      killed === undefined ? `no process of ${file} was left to kill` : `killed process group ${killed}`;
    throw new CliFailure(`the keeper of ${file} (pid ${error.pid}) ${error.how}; ${cleanup}`, undefined, {
      cause: error,
    });
  } finally {
    reports.dispose();
    renewals.dispose();
    leadership.signal.removeEventListener('abort', onLost);
    signal.removeEventListener('abort', onSignal);
  }
}
