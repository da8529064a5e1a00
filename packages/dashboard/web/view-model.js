// The page's state and everything computed from it, without the DOM (so Node tests can run it).
/** @import { WireSnapshot, WireDelta, WireMember, WireLeadership, WirePolicySummary, WireConnection, WireHistory, WireRegions } from '../src/wire.ts' */

/** How long a member that changed state stays marked as recently changed. */
export const RECENT_MS = 60_000;
/** The timeline chart's window: the last hour by default; the page can zoom to the last 10 or 1 minutes. */
export const WINDOW_MS = 3_600_000;
/** The windows the page offers, with their tick spacing and label. */
export const WINDOWS = [
  { ms: 3_600_000, tickMs: 600_000, label: '1 h', title: 'last hour' },
  { ms: 600_000, tickMs: 120_000, label: '10 min', title: 'last 10 minutes' },
  { ms: 60_000, tickMs: 10_000, label: '1 min', title: 'last minute' },
];

/**
 * @typedef {object} PageState
 * @property {string} prefix
 * @property {WireConnection} connection
 * @property {boolean} loaded
 * @property {boolean} serverReachable whether the page's own event stream to the dashboard is up
 * @property {Map<string, WireMember>} members
 * @property {{ id: string, term: number } | null} leader
 * @property {Map<number, WireLeadership>} timeline
 * @property {WireHistory} history
 * @property {Map<string, WirePolicySummary>} policies
 * @property {WireRegions | undefined} regions
 */

/** @returns {PageState} */
export function emptyState() {
  return {
    prefix: '',
    connection: { state: 'connecting', since: new Date(0).toISOString() },
    loaded: false,
    serverReachable: false,
    members: new Map(),
    leader: null,
    timeline: new Map(),
    history: { state: 'reading' },
    policies: new Map(),
    regions: undefined,
  };
}

/**
 * @param {WireSnapshot} snapshot
 * @returns {PageState}
 */
export function stateFromSnapshot(snapshot) {
  return {
    prefix: snapshot.prefix,
    connection: snapshot.connection,
    loaded: snapshot.loaded,
    serverReachable: true,
    members: new Map(snapshot.members.map((member) => [member.id, member])),
    leader: snapshot.leader,
    timeline: new Map(snapshot.timeline.map((leadership) => [leadership.term, leadership])),
    history: snapshot.history,
    policies: new Map(snapshot.policies.map((policy) => [policy.name, policy])),
    regions: snapshot.regions,
  };
}

/**
 * Applies one delta in place.
 * @param {PageState} state
 * @param {WireDelta} delta
 */
export function applyDelta(state, delta) {
  switch (delta.kind) {
    case 'members':
      for (const id of delta.removals) state.members.delete(id);
      for (const member of delta.upserts) state.members.set(member.id, member);
      state.loaded = true;
      break;
    case 'leader':
      state.leader = delta.leader;
      break;
    case 'timeline':
      for (const leadership of delta.leaderships) state.timeline.set(leadership.term, leadership);
      break;
    case 'history':
      state.history = delta.history;
      break;
    case 'connection':
      state.connection = delta.connection;
      break;
    case 'policies':
      for (const name of delta.removals) state.policies.delete(name);
      for (const policy of delta.upserts) state.policies.set(policy.name, policy);
      break;
    case 'last-seen':
      for (const [id, lastSeen] of Object.entries(delta.lastSeen)) {
        const member = state.members.get(id);
        if (member) state.members.set(id, { ...member, lastSeen });
      }
      break;
    case 'regions':
      state.regions = delta.regions;
      break;
  }
}

/** Whether what the page shows may be out of date. @param {PageState} state */
export function isStale(state) {
  return !state.serverReachable || state.connection.state === 'disconnected';
}

/** @param {PageState} state */
export function countStates(state) {
  const counts = { healthy: 0, unhealthy: 0, unknown: 0 };
  for (const member of state.members.values()) counts[member.state]++;
  return counts;
}

/** @typedef {'id' | 'address' | 'state' | 'role' | 'joinedAt' | 'lastSeen'} MemberColumn */

/**
 * Members matching `filter` (case-insensitive, in id, address, state, role or metadata), sorted.
 * @param {Iterable<WireMember>} members
 * @param {string} filter
 * @param {MemberColumn} column
 * @param {'ascending' | 'descending'} direction
 * @returns {WireMember[]}
 */
export function visibleMembers(members, filter, column, direction) {
  const needle = filter.trim().toLowerCase();
  const matches = [...members].filter(
    (member) =>
      needle === '' ||
      [member.id, member.address, member.state, member.role, metadataText(member)].some((text) =>
        text.toLowerCase().includes(needle),
      ),
  );
  const sign = direction === 'ascending' ? 1 : -1;
  return matches.sort((a, b) => {
    const x = a[column];
    const y = b[column];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return sign * order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
}

/** @param {WireMember} member */
export function metadataText(member) {
  const entries = Object.entries(member.metadata);
  return entries.length === 0 ? '' : entries.map(([key, value]) => `${key}=${value}`).join(' ');
}

/** @param {WireMember} member @param {number} now */
export function changedRecently(member, now) {
  return member.changedAt !== undefined && now - Date.parse(member.changedAt) < RECENT_MS;
}

/** `3h 2m`, `4m 05s`, `12s`. @param {number} ms */
export function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Local wall time as HH:MM:SS. @param {string | number} time */
export function clockTime(time) {
  const date = new Date(time);
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** `~12:03:04` for estimates, `≤12:03:04` for upper bounds. @param {import('../src/wire.ts').WireTime} time */
export function timeLabel(time) {
  const mark = time.accuracy === 'estimated' ? '~' : time.accuracy === 'before' ? '≤' : '';
  return `${mark}${clockTime(time.at)}`;
}

/** The leaderships, newest first. @param {PageState} state */
export function leadershipsNewestFirst(state) {
  return [...state.timeline.values()].sort((a, b) => b.term - a.term);
}

/** How long the current leader has led, if known. @param {PageState} state @param {number} now */
export function currentLeadership(state, now) {
  if (!state.leader) return undefined;
  const leadership = state.timeline.get(state.leader.term);
  if (!leadership) return undefined;
  const since = Date.parse(leadership.start.at);
  const mark = { observed: '', estimated: '~', before: 'at least ' }[leadership.start.accuracy];
  return { leadership, forMs: now - since, mark };
}

/**
 * @typedef {object} TimelineRow
 * @property {WireLeadership} leadership
 * @property {number | undefined} gapBeforeMs time without a leader before it began
 */

/**
 * Each leadership with the leaderless gap before it, newest first.
 * @param {PageState} state
 * @returns {TimelineRow[]}
 */
export function timelineRows(state) {
  const ordered = [...state.timeline.values()].sort((a, b) => a.term - b.term);
  return ordered
    .map((leadership, index) => {
      const previous = ordered[index - 1];
      const gap = previous?.end ? Date.parse(leadership.start.at) - Date.parse(previous.end.at) : undefined;
      return { leadership, gapBeforeMs: gap === undefined ? undefined : Math.max(0, gap) };
    })
    .reverse();
}

/**
 * @typedef {object} ChartSegment
 * @property {number} x0 0..1 across the window
 * @property {number} x1
 * @property {WireLeadership} leadership
 * @property {boolean} estimated
 */

/**
 * Where each leadership and each leaderless gap lies in the window ending now, as fractions of the width.
 * @param {PageState} state
 * @param {number} now
 * @param {number} [windowMs]
 * @param {number} [tickMs]
 * @returns {{ segments: ChartSegment[], gaps: { x0: number, x1: number }[], ticks: { x: number, label: string }[] }}
 */
export function chartGeometry(state, now, windowMs = WINDOW_MS, tickMs = 600_000) {
  const start = now - windowMs;
  const x = (/** @type {number} */ time) => Math.min(1, Math.max(0, (time - start) / windowMs));
  const ordered = [...state.timeline.values()].sort((a, b) => a.term - b.term);
  /** @type {ChartSegment[]} */
  const segments = [];
  const gaps = [];
  let previousEnd = /** @type {number | undefined} */ (undefined);
  for (const leadership of ordered) {
    const from = Date.parse(leadership.start.at);
    const to = leadership.end ? Date.parse(leadership.end.at) : now;
    if (previousEnd !== undefined && from > previousEnd && from > start)
      gaps.push({ x0: x(previousEnd), x1: x(from) });
    previousEnd = to;
    if (to < start) continue;
    segments.push({
      x0: x(from),
      x1: x(to),
      leadership,
      estimated:
        leadership.start.accuracy !== 'observed' || (leadership.end?.accuracy ?? 'observed') !== 'observed',
    });
  }
  if (previousEnd !== undefined && !state.leader && previousEnd < now)
    gaps.push({ x0: x(previousEnd), x1: 1 });
  const ticks = [];
  for (let ago = windowMs; ago >= 0; ago -= tickMs) {
    const label = ago === 0 ? 'now' : ago % 60_000 === 0 ? `-${ago / 60_000}m` : `-${ago / 1000}s`;
    ticks.push({ x: x(now - ago), label });
  }
  return { segments, gaps: gaps.filter((gap) => gap.x1 > gap.x0), ticks };
}

/** A stable colour slot (0-7) per node id. @param {string} id */
export function colourSlot(id) {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 8;
}

/** @param {import('../src/wire.ts').WireEndReason | undefined} reason */
export function reasonText(reason) {
  switch (reason) {
    case 'lease_ended':
      return 'left: lease revoked or expired (stopped, crashed or cut off)';
    case 'withdrew':
      return 'withdrew while still a member (resigned)';
    case 'unhealthy':
      return 'withdrew: its health check failed';
    case 'unknown':
      return 'unknown';
    default:
      return '';
  }
}

/**
 * A replication lag: tenths of a second while short (confirmations come every few seconds, so
 * "0s" would hide the difference between fresh and one beat behind), then as {@link duration}.
 * @param {number} ms
 */
export function lagText(ms) {
  return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : duration(ms);
}

/**
 * The line above the regions table: who leads globally, or why that is not known.
 * @param {WireRegions} view
 * @returns {{ text: string, bad: boolean }}
 */
export function globalLeaderLine(view) {
  if (view.globalState === 'disconnected')
    return { text: `Global store unreachable: ${view.globalReason ?? 'no answer'}`, bad: true };
  if (!view.globalLeader) return { text: 'No global leader', bad: true };
  const where = view.globalRegion ? ` in region ${view.globalRegion}` : '';
  const term = view.globalTerm === undefined ? '' : `, global term ${view.globalTerm}`;
  return { text: `Global leader: ${view.globalLeader}${where}${term}`, bad: false };
}
