import { byId, h, setText, svg } from './dom.js';
import { chartGeometry, colourSlot, duration, reasonText, timeLabel, timelineRows } from './view-model.js';

/** @import { PageState } from './view-model.js' */

const WIDTH = 1000;
const BAR_Y = 8;
const BAR_HEIGHT = 30;

/** Draws the last hour as one bar: a colour per leader, red where there was none, faded where times are estimated. */
export function renderChart(/** @type {PageState} */ state, /** @type {number} */ now) {
  const { segments, gaps, ticks } = chartGeometry(state, now);
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} 62`,
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
    if ((segment.x1 - segment.x0) * WIDTH > 60) {
      const label = svg('text', { x: segment.x0 * WIDTH + 4, y: BAR_Y + 19 });
      label.textContent = segment.leadership.nodeId;
      label.setAttribute('class', 'on-bar');
      chart.append(label);
    }
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
  for (const tick of ticks) {
    chart.append(
      svg('line', {
        x1: tick.x * WIDTH,
        x2: tick.x * WIDTH,
        y1: BAR_Y + BAR_HEIGHT,
        y2: BAR_Y + BAR_HEIGHT + 5,
        class: 'axis',
      }),
    );
    const label = svg('text', {
      x: Math.min(WIDTH - 2, Math.max(2, tick.x * WIDTH)),
      y: 60,
      'text-anchor': tick.x <= 0 ? 'start' : tick.x >= 1 ? 'end' : 'middle',
    });
    label.textContent = tick.label;
    chart.append(label);
  }
  byId('chart').replaceChildren(chart);
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
