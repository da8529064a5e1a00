import type { FromKeeper } from './keeper-protocol.ts';
import { describeProcesses } from './process-group.ts';

/** `1.6s`, `10s`: a grace period as people write it. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))}s`;
}

function whenKilled(report: { graceMs: number; deadlineMs: number }, renewable: boolean): string {
  const grace = formatSeconds(report.graceMs);
  const deadline = formatSeconds(report.deadlineMs);
  if (report.graceMs <= report.deadlineMs) return `SIGKILL in ${grace}`;
  if (renewable)
    return `SIGKILL in ${grace}, or at the leadership deadline in ${deadline} unless the lease is renewed`;
  return `SIGKILL in ${deadline}, at the leadership deadline (before --grace ${grace} runs out)`;
}

/**
 * A keeper report as one sentence, the same whether `ztap run` logs it or the keeper itself prints
 * it (once `ztap run` is gone). Undefined for reports that `ztap run` words itself.
 */
export function describeReport(
  report: FromKeeper,
  command: {
    readonly name: string;
    readonly pgid: number;
    /** Whether lease renewals may still move the deadline (ztap run leads and passes them on). */
    readonly renewable: boolean;
  },
): string | undefined {
  const group = `process group ${command.pgid}`;
  switch (report.type) {
    case 'stopping': {
      const running =
        report.processes.length === 0 ? '' : ` (running: ${describeProcesses(report.processes)})`;
      const left = report.cause === 'exited' ? `${command.name} left processes behind; ` : '';
      return `${left}sending SIGTERM to ${group}${running}; ${whenKilled(report, command.renewable)}`;
    }
    case 'killing':
      return `still running: ${describeProcesses(report.processes)}; sending SIGKILL to ${group}`;
    case 'ended':
      return report.remaining.length === 0
        ? `${group} has ended`
        : `${group} has not ended even after SIGKILL: ${describeProcesses(report.remaining)}`;
    default:
      return undefined;
  }
}
