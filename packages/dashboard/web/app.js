// The page: one event stream from the dashboard (a snapshot, then deltas), rendered at most once a frame.
import { byId, h, setText } from './dom.js';
import { MembersTable } from './render-members.js';
import { PoliciesView } from './render-policies.js';
import { renderChart, renderTimelineRows } from './render-timeline.js';
import {
  applyDelta,
  clockTime,
  countStates,
  currentLeadership,
  duration,
  emptyState,
  globalLeaderLine,
  isStale,
  lagText,
  stateFromSnapshot,
  WINDOWS,
} from './view-model.js';

/** @import { PageState } from './view-model.js' */

let state = emptyState();
let chartWindow = WINDOWS[0] ?? { ms: 3_600_000, tickMs: 600_000, title: 'last hour' };
for (const button of document.querySelectorAll('[data-window]')) {
  button.addEventListener('click', () => {
    chartWindow = WINDOWS[Number(button.getAttribute('data-window'))] ?? chartWindow;
    for (const other of document.querySelectorAll('[data-window]'))
      other.setAttribute('aria-pressed', String(other === button));
    setText(byId('window-title'), chartWindow.title);
    schedule();
  });
}
let scheduled = false;
const members = new MembersTable(schedule);
const policies = new PoliciesView();

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render(state, Date.now());
  });
}

/** @param {PageState} state @param {number} now */
function render(state, now) {
  setText(byId('prefix'), state.prefix);
  renderConnection(state);
  renderOverview(state, now);
  renderChart(state, now, chartWindow);
  renderTimelineRows(state);
  members.render(state, now);
  policies.render(state);
  renderRegions(state);
  byId('main').classList.toggle('stale', isStale(state));
}

/** @param {PageState} state */
function renderConnection(state) {
  const status = byId('connection');
  const banner = byId('banner');
  const connection = state.connection;
  if (!state.serverReachable) {
    status.dataset.state = 'disconnected';
    setText(status, 'Dashboard unreachable');
    banner.hidden = false;
    setText(
      banner,
      'Lost the connection to the dashboard server; reconnecting… The state below is the last known (stale).',
    );
    return;
  }
  status.dataset.state = connection.state;
  setText(
    status,
    connection.state === 'connected'
      ? 'etcd connected'
      : connection.state === 'connecting'
        ? 'Connecting to etcd…'
        : 'etcd disconnected',
  );
  banner.hidden = connection.state !== 'disconnected';
  if (connection.state === 'disconnected')
    setText(
      banner,
      `Disconnected from etcd since ${clockTime(connection.since)}. Showing the last known state (stale).${connection.reason ? ` ${connection.reason}` : ''}`,
    );
}

/** @param {PageState} state @param {number} now */
function renderOverview(state, now) {
  const leader = byId('leader');
  const detail = byId('leader-detail');
  if (!state.loaded) {
    setText(leader, '…');
    setText(detail, 'waiting for etcd');
  } else if (!state.leader) {
    setText(leader, 'none');
    leader.classList.add('bad');
    setText(detail, 'no node leads right now');
  } else {
    setText(leader, state.leader.id);
    leader.classList.remove('bad');
    const led = currentLeadership(state, now);
    setText(
      detail,
      `term ${state.leader.term}${led ? ` · leading for ${led.mark}${duration(led.forMs)}` : ''}`,
    );
  }
  const counts = countStates(state);
  setText(byId('count-healthy'), String(counts.healthy));
  setText(byId('count-unhealthy'), String(counts.unhealthy));
  setText(byId('count-unknown'), String(counts.unknown));
}

/** @param {PageState} state */
function renderRegions(state) {
  const section = byId('regions');
  section.hidden = !state.regions;
  if (!state.regions) return;
  const view = state.regions;
  const global = globalLeaderLine(view);
  const line = byId('global-leader');
  setText(line, global.text);
  line.classList.toggle('bad', global.bad);
  byId('region-rows').replaceChildren(
    ...view.regions.map((region) =>
      h('tr', {}, [
        h('td', { text: region.name }),
        // Without an answer from its etcd, "none" would be a guess: the leader is unknown, not absent.
        h(
          'td',
          region.leader
            ? { text: region.state === 'disconnected' ? `${region.leader} (last known)` : region.leader }
            : region.state === 'disconnected'
              ? { text: 'unknown', className: 'state-unknown' }
              : { text: 'none', className: 'bad' },
        ),
        h('td', { text: region.term === undefined ? '' : String(region.term) }),
        h('td', { text: region.replicationLagMs === undefined ? '' : lagText(region.replicationLagMs) }),
        h(
          'td',
          region.state === undefined
            ? {}
            : region.state === 'connected'
              ? { text: 'yes', className: 'state-healthy' }
              : { text: 'no', className: 'state-unhealthy' },
        ),
        h('td', { text: region.reason ?? '', className: 'reason' }),
      ]),
    ),
  );
}

const events = new EventSource('events');
events.addEventListener('snapshot', (event) => {
  state = stateFromSnapshot(JSON.parse(/** @type {MessageEvent<string>} */ (event).data));
  schedule();
});
events.addEventListener('delta', (event) => {
  applyDelta(state, JSON.parse(/** @type {MessageEvent<string>} */ (event).data));
  schedule();
});
events.addEventListener('error', () => {
  // The browser reconnects by itself; until then what is on screen may be stale.
  state.serverReachable = false;
  schedule();
});
// Durations ("leading for", "last seen") and the recent-change marks move with time.
setInterval(schedule, 1000);
