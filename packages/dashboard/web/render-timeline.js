import { byId, h, setText, svg } from './dom.js';
import { chartGeometry, colourSlot, duration, reasonText, timeLabel, timelineRows } from './view-model.js';

/** @import { PageState } from './view-model.js' */

const WIDTH = 1000;
const BAR_Y = 8;
const BAR_HEIGHT = 30;

/**
 * Draws the window as one bar: a colour per leader, red where there was none, faded where times are
 * estimated. Tick labels are HTML under the bar, so they keep their shape at any width.
 * @param {PageState} state
 * @param {number} now
 * @param {{ ms: number, tickMs: number }} window
 */
export function renderChart(state, now, window) {
  const { segments, gaps, ticks } = chartGeometry(state, now, window.ms, window.tickMs);
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} 46`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': chartLabel(state),
  });
  chart.append(
    svg('rect', { x: 0, y: BAR_Y, width: WIDTH, height: BAR_HEIGHT, class: 'axis', fill: 'none' }),
  );
  for (const segment of segments) {
    const rect = svg('rect', {
      x: segment.x0 * WIDTH,
      y: BAR_Y,
      width: Math.max(1, (segment.x1 - segment.x0) * WIDTH),
      height: BAR_HEIGHT,
      class: `segment c${colourSlot(segment.leadership.nodeId)}${segment.estimated ? ' estimated' : ''}`,
      'data-term': segment.leadership.term,
    });
    const title = svg('title');
    title.textContent = `${segment.leadership.nodeId}, term ${segment.leadership.term}, from ${timeLabel(segment.leadership.start)}${segment.leadership.end ? ` to ${timeLabel(segment.leadership.end)}` : ''}`;
    rect.append(title);
    chart.append(rect);
  }
  for (const gap of gaps) {
    chart.append(
      svg('rect', {
        x: gap.x0 * WIDTH,
        y: BAR_Y + BAR_HEIGHT - 4,
        width: Math.max(2, (gap.x1 - gap.x0) * WIDTH),
        height: 6,
        class: 'gap',
      }),
    );
  }
  for (const tick of ticks)
    chart.append(
      svg('line', {
        x1: tick.x * WIDTH,
        x2: tick.x * WIDTH,
        y1: BAR_Y + BAR_HEIGHT,
        y2: BAR_Y + BAR_HEIGHT + 5,
        class: 'axis',
      }),
    );
  const labels = h(
    'div',
    { className: 'ticks', attributes: { 'aria-hidden': 'true' } },
    ticks.map((tick) => {
      const label = h('span', { text: tick.label });
      label.style.left = `${tick.x * 100}%`;
      return label;
    }),
  );
  const names = h(
    'div',
    { className: 'bar-labels', attributes: { 'aria-hidden': 'true' } },
    segments
      .filter((segment) => segment.x1 - segment.x0 > 0.08)
      .map((segment) => {
        const label = h('span', { text: segment.leadership.nodeId });
        label.style.left = `${segment.x0 * 100}%`;
        return label;
      }),
  );
  byId('chart').replaceChildren(chart, names, labels);
}

/** @param {PageState} state */
function chartLabel(state) {
  const count = state.timeline.size;
  const leader = state.leader ? `${state.leader.id} leads (term ${state.leader.term})` : 'no leader now';
  return `Leadership over the last hour: ${leader}; ${count} leaderships known. The table below lists every change.`;
}

/** The table of every leader change, newest first. @param {PageState} state */
export function renderTimelineRows(state) {
  const rows = timelineRows(state).map(({ leadership, gapBeforeMs }) =>
    h('tr', { attributes: { 'data-term': String(leadership.term) } }, [
      h('td', { text: timeLabel(leadership.start) }),
      h('td', { text: String(leadership.term) }),
      h('td', { text: leadership.nodeId }),
      h('td', { text: leadership.end ? timeLabel(leadership.end) : 'leading' }),
      h('td', { text: leadership.end ? reasonText(leadership.endReason) : '' }),
      h('td', { text: gapBeforeMs === undefined ? '' : duration(gapBeforeMs) }),
    ]),
  );
  byId('timeline-rows').replaceChildren(...rows);
  const history = state.history;
  setText(
    byId('history-note'),
    history.state === 'done'
      ? `Before ${history.toRevision ? `revision ${history.toRevision}` : 'the dashboard started'}, reconstructed from etcd's history back to revision ${history.oldestRevision}: order and terms exact, times estimated (~) or upper bounds (≤). Later changes observed live.`
      : history.state === 'failed'
        ? `Could not read etcd's history yet (${history.detail ?? 'unknown reason'}); retrying. Changes are observed live.`
        : "Reading etcd's history…",
  );
}
