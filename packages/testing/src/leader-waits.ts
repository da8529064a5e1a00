import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import {
  type Disposable,
  type LeaderElection,
  type Leadership,
  type Node,
  type SignalOptions,
  ValidationError,
} from '@ztap/cluster';
import { WaitTimeoutError } from './errors.ts';

/** Options of the leader waits. */
export interface LeaderWaitOptions extends SignalOptions {
  /**
   * How long to wait before failing with a {@link WaitTimeoutError}, in real milliseconds (not a
   * {@link ManualClock}'s); 10 000 by default. Allow for your `electionTimeout` when a leader must first
   * lose its lease.
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The waits react to the elections' events at once; this slower re-check covers what changes without
 * an event (an election that stops clears its view quietly).
 */
const RECHECK_INTERVAL_MS = 100;

function electionsOf(elections: LeaderElection | readonly LeaderElection[]): readonly LeaderElection[] {
  const list = Array.isArray(elections)
    ? (elections as readonly LeaderElection[])
    : [elections as LeaderElection];
  if (list.length === 0) throw new ValidationError('elections', 'must hold at least one election');
  return list;
}

function timeoutOf(options: LeaderWaitOptions): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ValidationError('timeoutMs', `must be a number of milliseconds above 0 (got ${timeoutMs})`);
  }
  return timeoutMs;
}

/** `a, b and c` */
function names(elections: readonly LeaderElection[]): string {
  const ids = elections.map((election) => election.nodeId);
  return ids.length === 1 ? (ids[0] as string) : `${ids.slice(0, -1).join(', ')} and ${ids.at(-1)}`;
}

/**
 * What one election sees, for a failure message: `node-a leads (term 3)`, `node-b sees node-a lead
 * (term 3)`, `node-c sees no leader (not live: this node has not joined yet)`.
 */
function describeView(election: LeaderElection): string {
  const { leader, term } = election.getState();
  const leading = election.isLeader();
  let seen: string;
  if (leading && leader?.id === election.nodeId) seen = `${election.nodeId} leads (term ${election.term})`;
  else if (leader) seen = `${election.nodeId} sees ${leader.id} lead (term ${term})`;
  else seen = `${election.nodeId} sees no leader`;
  if (leading && leader?.id !== election.nodeId)
    seen += `, yet believes it leads itself (term ${election.term})`;
  const { liveness } = election;
  return liveness.ok ? seen : `${seen} (not live: ${liveness.reason})`;
}

/**
 * Resolves with what `check` returns once it returns something other than `undefined`, re-checking on
 * every leader, leadership and liveness event of `elections`; rejects with a {@link WaitTimeoutError}
 * naming `awaited` and what each election sees after `timeoutMs`, or with the signal's reason.
 */
function waitUntil<T>(
  elections: readonly LeaderElection[],
  awaited: string,
  options: LeaderWaitOptions,
  check: () => T | undefined,
): Promise<T> {
  const timeoutMs = timeoutOf(options);
  const { signal } = options;
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const subscriptions: Disposable[] = [];
    let done = false;
    // Real timers from node:timers: a test runner's fake timers (which patch the globals) must not
    // freeze the bound.
    const timer = setTimeout(() => {
      finish(() => reject(new WaitTimeoutError(awaited, timeoutMs, elections.map(describeView).join('; '))));
    }, timeoutMs);
    const recheck = setInterval(() => attempt(), RECHECK_INTERVAL_MS);
    const onAbort = () => finish(() => reject(signal?.reason));
    function finish(settle: () => void): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(recheck);
      signal?.removeEventListener('abort', onAbort);
      for (const subscription of subscriptions) subscription.dispose();
      settle();
    }
    function attempt(): void {
      if (done) return;
      let result: T | undefined;
      try {
        result = check();
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      if (result !== undefined) finish(() => resolve(result));
    }
    // Events fire while the election updates itself: look once it is done.
    const soon = () => queueMicrotask(attempt);
    for (const election of elections) {
      subscriptions.push(
        election.telemetry.onLeaderChange(soon),
        election.telemetry.onLeadership(soon),
        election.telemetry.onLiveness(soon),
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt();
  });
}

/**
 * Waits until a leader exists as every one of `elections` sees it: each sees the same leader with the
 * same term, and if that leader is one of them, it knows it leads (`isLeader()`). Resolves with the
 * leader. With one election, that is "this node sees a leader".
 *
 * Fails after `timeoutMs` with a {@link WaitTimeoutError} that says what each election saw instead,
 * e.g. `node-a sees no leader; node-b sees node-c lead (term 4)`. Pass only elections that run: a
 * stopped one sees no leader.
 *
 * @example
 * ```ts
 * const leader = await waitForLeader([a, b, c]);
 * const leading = [a, b, c].find((election) => election.nodeId === leader.id);
 * ```
 */
export async function waitForLeader(
  elections: LeaderElection | readonly LeaderElection[],
  options: LeaderWaitOptions = {},
): Promise<Node> {
  const list = electionsOf(elections);
  const awaited =
    list.length === 1 ? `${names(list)} to see a leader` : `a leader that ${names(list)} agree on`;
  return waitUntil(list, awaited, options, () => {
    const states = list.map((election) => election.getState());
    const [first] = states;
    const leader = first?.leader;
    if (!leader) return undefined;
    const agreed = states.every((state) => state.leader?.id === leader.id && state.term === first.term);
    const itself = list.find((election) => election.nodeId === leader.id);
    return agreed && (!itself || itself.isLeader()) ? leader : undefined;
  });
}

/**
 * Waits until `election` leads, and resolves with its leadership (the term, its fencing token, and the
 * signal that aborts when the leadership ends). Fails after `timeoutMs` with a {@link WaitTimeoutError}
 * saying whom it sees lead instead, and with `ElectionStoppedError` if the election is not running or
 * stops meanwhile.
 */
export async function waitUntilLeads(
  election: LeaderElection,
  options: LeaderWaitOptions = {},
): Promise<Leadership> {
  const timeoutMs = timeoutOf(options);
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, giveUp.signal]) : giveUp.signal;
  try {
    return await election.waitForLeadership({ signal });
  } catch (error) {
    if (giveUp.signal.aborted && !options.signal?.aborted) {
      throw new WaitTimeoutError(`${election.nodeId} to lead`, timeoutMs, describeView(election));
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until nobody leads as every one of `elections` sees it: none sees a leader, and none believes
 * it leads itself. Fails after `timeoutMs` with a {@link WaitTimeoutError} saying who still leads.
 */
export async function waitForNoLeader(
  elections: LeaderElection | readonly LeaderElection[],
  options: LeaderWaitOptions = {},
): Promise<void> {
  const list = electionsOf(elections);
  await waitUntil(list, `${names(list)} to see no leader`, options, () =>
    list.every((election) => !election.getLeader() && !election.isLeader()) ? true : undefined,
  );
}
