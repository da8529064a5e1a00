import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it. */
export interface GroupProcess {
  readonly pid: number;
  /** Its command line, or `[name]` when it has none (a process that is exiting). */
  readonly command: string;
}

/** The fields of `/proc/<pid>/stat` that tell what a process is and where it belongs. */
export interface ProcStat {
  readonly pid: number;
  readonly name: string;
  /** `R`, `S`, `D`, `T`, `Z` (zombie: exited, not yet reaped), ... */
  readonly state: string;
  readonly pgid: number;
}

/**
 * Parses `/proc/<pid>/stat`. The name is in parentheses and may itself hold spaces and `)`, so the
 * fields after it are found from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const [state, _ppid, pgid] = text
    .slice(close + 1)
    .trim()
    .split(' ');
  if (!Number.isInteger(pid) || state === undefined || pgid === undefined) return undefined;
  return { pid, name: text.slice(open + 1, close), state, pgid: Number(pgid) };
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // it exited while we looked
  }
}

/** Refuses the process group ids whose negation `kill()` reads as "every process" (0, 1, -1, ...). */
function assertGroupId(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`not a process group id: ${pgid}`);
}

/**
 * The processes of group `pgid` that can still do work, from /proc, by pid. Zombies are left out:
 * they have exited and only wait for a parent (or an init that may never reap them) to collect them.
 */
export function liveGroupMembers(pgid: number): GroupProcess[] {
  assertGroupId(pgid);
  // The common case costs one system call: no process at all is left in the group.
  if (!signalGroup(pgid, 0)) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No /proc (not Linux): the group exists, but who is in it cannot be told, nor zombies told apart.
    return [{ pid: pgid, command: `process group ${pgid}` }];
  }
  const members: GroupProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = parseProcStat(readProc(entry, 'stat') ?? '');
    if (!stat || stat.pgid !== pgid || stat.state === 'Z' || stat.state === 'X') continue;
    const commandLine = (readProc(entry, 'cmdline') ?? '').split('\0').filter(Boolean).join(' ');
    members.push({ pid: stat.pid, command: shorten(commandLine || `[${stat.name}]`) });
  }
  return members.sort((a, b) => a.pid - b.pid);
}

/**
 * Sends `signal` to every process of group `pgid` (0 only checks that one exists). Returns false when
 * the group has no process left; throws for anything else (e.g. EPERM).
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  assertGroupId(pgid);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

const MAX_COMMAND_LENGTH = 200;

/** A command line fit for one log line: a script passed inline can be kilobytes long. */
function shorten(commandLine: string): string {
  return commandLine.length <= MAX_COMMAND_LENGTH
    ? commandLine
    : `${commandLine.slice(0, MAX_COMMAND_LENGTH - 1)}…`;
}

/** `pid 12 (sleep 1000), pid 13 (sh -c ...)`, for logs. */
export function describeProcesses(processes: readonly GroupProcess[]): string {
  return processes.map(({ pid, command }) => `pid ${pid} (${command})`).join(', ');
}
