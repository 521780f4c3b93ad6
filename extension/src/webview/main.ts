/**
 * The Message Trace page. A windowed DOM: only the rows in the viewport exist (one
 * absolutely positioned row with an SVG arrow each); the model (../model/trace.ts) decides
 * which. Events come from the extension host by postMessage; nothing is polled, and the
 * page only renders on an animation frame after something changed.
 */
import type { TraceContext, TraceEvent } from '../model/events';
import { NO_CALL_SITE, PauseBuffer, TraceModel, callSite, formatDuration, laneKey, type Row, type TraceFilter } from '../model/trace';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };

const vscode = acquireVsCodeApi();
const ROW_H = 22;
const LANE_W = 120;
const TIME_W = 90;
const SVG_NS = 'http://www.w3.org/2000/svg';

interface SavedState {
  paused: boolean;
  pausedAt: number;
  filter: TraceFilter;
}

const saved = (vscode.getState() as SavedState | undefined) ?? { paused: false, pausedAt: 0, filter: {} };
let model = new TraceModel();
let follow = !saved.paused;
let dirty = false;
let t0 = 0;
let selected = -1;
let live = false;
/** The filter in force: from the saved state at load, then from the controls. */
let currentFilter: TraceFilter = saved.filter;
const buffer = new PauseBuffer((batch) => {
  model.append(batch);
  schedule();
});

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const k of kids) e.append(k);
  return e;
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// ---- layout of the page ----
const app = document.getElementById('app')!;
const pauseBtn = el('button', { id: 'pause', title: 'Pause / follow the live trace' });
const bufferedEl = el('span', { id: 'buffered', className: 'badge' });
const countEl = el('span', { id: 'count' });
const nodeSel = el('select', { id: 'f-node', title: 'Node' });
const dcSel = el('select', { id: 'f-dc', title: 'DC' });
const epSel = el('select', { id: 'f-ep', title: 'Endpoint' });
const typeSel = el('select', { id: 'f-type', title: 'Message type' });
const errChk = el('input', { id: 'f-err', type: 'checkbox' });
const search = el('input', { id: 'search', type: 'search', placeholder: 'Search (Enter: next)' });
const statsBtn = el('button', { id: 'stats-btn', textContent: 'Latency' });
const exportChrome = el('button', { id: 'export-chrome', textContent: 'Export Chrome JSON' });
const exportJsonl = el('button', { id: 'export-jsonl', textContent: 'Export JSON lines' });
const toolbar = el(
  'div',
  { id: 'toolbar' },
  pauseBtn,
  bufferedEl,
  countEl,
  nodeSel,
  dcSel,
  epSel,
  typeSel,
  el('label', { className: 'chk' }, errChk, ' errors only'),
  search,
  statsBtn,
  exportChrome,
  exportJsonl,
);
const legend = el('div', { id: 'legend' });
for (const [kind, text] of [
  ['send', 'send'],
  ['request', 'sendrec request'],
  ['reply', 'reply'],
  ['notify', 'notify'],
  ['vcopy', 'vcopy'],
  ['marker', 'bind / unbind'],
  ['error', 'error'],
] as const) {
  const s = svg('svg', { width: 36, height: 10 });
  s.append(svg('line', { x1: 2, y1: 5, x2: 34, y2: 5, class: `arrow ${kind}` }));
  legend.append(el('span', { className: 'legend-item' }, s as unknown as Node, text));
}
const header = el('div', { id: 'lanes-header' });
const spacer = el('div', { id: 'spacer' });
const rowsEl = el('div', { id: 'rows' });
const scroller = el('div', { id: 'scroller' }, spacer, rowsEl);
const details = el('div', { id: 'details' });
const stats = el('div', { id: 'stats', hidden: true });
const empty = el('div', { id: 'empty' });
app.append(toolbar, legend, header, scroller, empty, details, stats);

// ---- controls ----
function updatePause(): void {
  pauseBtn.textContent = follow ? 'Pause' : 'Follow';
  pauseBtn.classList.toggle('paused', !follow);
  bufferedEl.textContent = buffer.paused ? `${buffer.buffered} buffered` : '';
  bufferedEl.hidden = !buffer.paused;
}

pauseBtn.onclick = () => {
  follow = !follow;
  if (follow) buffer.resume();
  else buffer.pause();
  save();
  updatePause();
  schedule();
};

function numberList(sel: HTMLSelectElement): number[] | undefined {
  return sel.value === '' ? undefined : [Number(sel.value)];
}

function applyFilter(): void {
  const filter: TraceFilter = {
    nodes: numberList(nodeSel),
    dcs: numberList(dcSel),
    endpoints: epSel.value === '' ? undefined : [epSel.value],
    types: numberList(typeSel),
    errorsOnly: errChk.checked,
    search: search.value || undefined,
  };
  currentFilter = filter;
  model.setFilter(filter);
  save();
  schedule(true);
}

for (const s of [nodeSel, dcSel, epSel, typeSel]) s.onchange = applyFilter;
errChk.onchange = applyFilter;
let searchTimer: ReturnType<typeof setTimeout> | undefined;
search.oninput = () => {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(applyFilter, 200);
};
search.onkeydown = (ev) => {
  if (ev.key !== 'Enter' || !search.value) return;
  // Filtering already keeps only matches; Enter walks through them.
  const next = model.findNext(search.value, selected < 0 ? -1 : selected, ev.shiftKey);
  if (next >= 0) select(next, true);
};
statsBtn.onclick = () => {
  stats.hidden = !stats.hidden;
  schedule();
};
exportChrome.onclick = () => vscode.postMessage({ type: 'export', format: 'chrome' });
exportJsonl.onclick = () => vscode.postMessage({ type: 'export', format: 'jsonl' });
scroller.onscroll = () => {
  // Scrolling up leaves follow mode's auto-scroll, but never pauses the intake.
  const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW_H * 2;
  autoScroll = atBottom;
  schedule();
};
let autoScroll = true;

function save(): void {
  vscode.setState({ paused: !follow, pausedAt: model.total, filter: model.getFilter() } satisfies SavedState);
}

function fillSelect(sel: HTMLSelectElement, all: string, options: Array<[string, string]>, wanted?: string | number): void {
  const value = sel.value || (wanted === undefined ? '' : String(wanted));
  sel.replaceChildren(el('option', { value: '', textContent: all }), ...options.map(([v, t]) => el('option', { value: v, textContent: t })));
  sel.value = options.some(([v]) => v === value) ? value : '';
}

let lastTypes = '';
let lastLanes = '';
function refreshFilters(ctx: TraceContext): void {
  const lanes = model.lanes();
  const laneSig = lanes.map((l) => l.key).join(',');
  const types = model.types;
  const typeSig = types.join(',');
  if (laneSig === lastLanes && typeSig === lastTypes) return;
  lastLanes = laneSig;
  lastTypes = typeSig;
  const nodeIds = [...new Set([...ctx.nodes.map((n) => n.id), ...lanes.map((l) => l.node).filter((n) => n >= 0)])];
  fillSelect(nodeSel, 'All nodes', nodeIds.map((id) => [String(id), ctx.nodes.find((n) => n.id === id)?.name ?? `node ${id}`]), currentFilter.nodes?.[0]);
  const dcIds = [...new Set([...ctx.dcs.map((d) => d.id), ...lanes.map((l) => l.dc)])];
  fillSelect(dcSel, 'All DCs', dcIds.map((id) => [String(id), ctx.dcs.find((d) => d.id === id)?.name ?? `dc ${id}`]), currentFilter.dcs?.[0]);
  fillSelect(epSel, 'All endpoints', lanes.map((l) => [l.key, `${l.label} (${l.endpoint})`]), currentFilter.endpoints?.[0]);
  fillSelect(typeSel, 'All types', types.map((t) => [String(t), model.decode.typeName(t)]), currentFilter.types?.[0]);
  renderHeader();
}

// ---- rendering ----
let frame = 0;
let forceAll = false;
function schedule(all = false): void {
  dirty = true;
  forceAll ||= all;
  // Hidden pages get no animation frames, so nothing renders while the panel is hidden.
  frame ||= requestAnimationFrame(render);
}

function laneX(i: number): number {
  return TIME_W + i * LANE_W + LANE_W / 2;
}

function renderHeader(): void {
  const lanes = model.lanes();
  const ctx = model.context;
  header.replaceChildren();
  header.style.width = `${TIME_W + lanes.length * LANE_W}px`;
  const groups = el('div', { className: 'groups' });
  const names = el('div', { className: 'names' });
  groups.append(el('div', { className: 'cell time', textContent: 'node / DC' }));
  names.append(el('div', { className: 'cell time', textContent: 'time' }));
  let i = 0;
  while (i < lanes.length) {
    const l = lanes[i]!;
    let j = i;
    while (j < lanes.length && lanes[j]!.node === l.node && lanes[j]!.dc === l.dc) j++;
    const nodeName = ctx.nodes.find((n) => n.id === l.node)?.name ?? (l.node >= 0 ? `node ${l.node}` : 'node ?');
    const dcName = ctx.dcs.find((d) => d.id === l.dc)?.name ?? `dc ${l.dc}`;
    const g = el('div', { className: 'cell group', textContent: `${nodeName} · ${dcName}` });
    g.style.width = `${(j - i) * LANE_W}px`;
    groups.append(g);
    i = j;
  }
  for (const l of lanes) {
    const c = el('div', { className: 'cell lane', textContent: `${l.label} (${l.endpoint})`, title: `endpoint ${l.endpoint} of DC ${l.dc}` });
    c.style.width = `${LANE_W}px`;
    names.append(c);
  }
  header.append(groups, names);
}

function renderRow(r: Row, lanesCount: number): HTMLElement {
  const e = r.event;
  const row = el('div', { className: `row${r.row === selected ? ' selected' : ''}${r.error ? ' error' : ''}` });
  row.dataset['row'] = String(r.row);
  row.style.top = `${r.row * ROW_H}px`;
  row.style.width = `${TIME_W + lanesCount * LANE_W}px`;
  row.append(el('div', { className: 'cell time', textContent: formatDuration(Math.max(0, e.ts - t0)) }));
  const s = svg('svg', { width: lanesCount * LANE_W, height: ROW_H, class: 'lanes' });
  for (let i = 0; i < lanesCount; i++) s.append(svg('line', { x1: laneX(i) - TIME_W, y1: 0, x2: laneX(i) - TIME_W, y2: ROW_H, class: 'lane-line' }));
  const x1 = laneX(r.fromLane) - TIME_W;
  const x2 = laneX(r.toLane) - TIME_W;
  const cls = `arrow ${r.kind}${r.error ? ' error' : ''}`;
  if (r.kind === 'marker' || x1 === x2) {
    s.append(svg('circle', { cx: x1, cy: ROW_H / 2, r: 4, class: cls }));
  } else {
    const dir = x2 > x1 ? 1 : -1;
    s.append(svg('line', { x1, y1: ROW_H / 2, x2: x2 - dir * 2, y2: ROW_H / 2, class: cls }));
    s.append(svg('path', { d: `M${x2} ${ROW_H / 2} l${-dir * 7} -4 v8 z`, class: `head ${cls}` }));
  }
  row.append(s as unknown as Node);
  const label = el('span', { className: 'label', textContent: r.label });
  label.style.left = `${TIME_W + Math.min(x1, x2) + 6}px`;
  row.append(label);
  const site = callSite(e);
  row.title = site ? `${site.file}:${site.line} — click to open` : 'no call site recorded — click for details';
  row.onclick = () => {
    select(r.row, false);
    if (site) vscode.postMessage({ type: 'open', file: site.file, line: site.line });
    // Selecting alone would look like the click was lost: say why nothing opens.
    else details.append(el('div', { id: 'no-call-site', className: 'note', textContent: NO_CALL_SITE }));
  };
  return row;
}

function select(row: number, scroll: boolean): void {
  selected = row;
  const [r] = model.layoutWindow(row, row + 1);
  if (r) {
    const e = r.event;
    details.textContent =
      `#${e.seq} node ${e.node} dc ${e.dc}: ${e.op} ${model.decode.endpointName(e.dc, e.src)} → ${model.decode.endpointName(e.dc, e.dst)} · ` +
      `${r.label} · ${e.bytes} B · result ${e.result}${e.err ? ` (${e.err})` : ''} · lamport ${e.lamport}` +
      (e.file ? ` · ${e.file}:${e.line ?? ''}` : '');
  }
  if (scroll) {
    follow = false;
    buffer.pause();
    updatePause();
    scroller.scrollTop = Math.max(0, row * ROW_H - scroller.clientHeight / 2);
  }
  schedule();
}

function renderStats(): void {
  if (stats.hidden) return;
  const rows = model.latency.stats(model.decode);
  const table = el('table');
  table.append(el('tr', {}, ...['client → server', 'count', 'p50', 'p95', 'max', 'mean'].map((h) => el('th', { textContent: h }))));
  for (const s of rows) {
    table.append(
      el(
        'tr',
        {},
        el('td', { textContent: `${s.client} → ${s.server}` }),
        el('td', { textContent: String(s.count) }),
        el('td', { textContent: formatDuration(s.p50) }),
        el('td', { textContent: formatDuration(s.p95) }),
        el('td', { textContent: formatDuration(s.max) }),
        el('td', { textContent: formatDuration(s.mean) }),
      ),
    );
  }
  stats.replaceChildren(el('h3', { textContent: 'sendrec round trips per pair' }), rows.length ? table : el('p', { textContent: 'No sendrec round trip yet.' }));
}

function render(): void {
  frame = 0;
  if (!dirty) return;
  dirty = false;
  forceAll = false;
  refreshFilters(model.context);
  const lanes = model.lanes();
  const n = model.visibleCount;
  spacer.style.height = `${n * ROW_H}px`;
  spacer.style.width = `${TIME_W + lanes.length * LANE_W}px`;
  if (follow && autoScroll) scroller.scrollTop = scroller.scrollHeight;
  const { first, last } = TraceModel.window(scroller.scrollTop, scroller.clientHeight || 600, ROW_H, n);
  const rows = model.layoutWindow(first, last);
  rowsEl.replaceChildren(...rows.map((r) => renderRow(r, lanes.length)));
  header.scrollLeft = scroller.scrollLeft;
  countEl.textContent = `${model.total} events${model.dropped ? ` (${model.dropped} oldest dropped)` : ''} · ${n} shown · ${model.errors} errors`;
  empty.textContent =
    model.total === 0 ? (live ? 'Waiting for messages…' : 'No trace yet: start the cluster (DVS: Start Cluster). The runtime in use must support tracing.') : '';
  empty.hidden = model.total > 0;
  updatePause();
  renderStats();
}
scroller.addEventListener('scroll', () => (header.scrollLeft = scroller.scrollLeft));

// ---- messages from the extension host ----
window.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data as
    | { type: 'init'; context: TraceContext; events: TraceEvent[]; dropped: number; live: boolean }
    | { type: 'events'; batch: TraceEvent[] }
    | { type: 'context'; context: TraceContext; live: boolean };
  switch (m.type) {
    case 'init': {
      live = m.live;
      // The controls may have been used before `init` arrived: they win over the saved state.
      model = new TraceModel(m.context);
      model.setFilter(currentFilter);
      lastLanes = lastTypes = '';
      t0 = m.events[0]?.ts ?? 0;
      // A paused page that was hidden keeps what came later in the buffer, not on screen.
      const cut = !follow ? Math.max(0, Math.min(m.events.length, saved.pausedAt - m.dropped)) : m.events.length;
      model.append(m.events.slice(0, cut));
      if (!follow) {
        buffer.pause();
        buffer.push(m.events.slice(cut));
      }
      schedule(true);
      break;
    }
    case 'events':
      if (t0 === 0 && m.batch[0]) t0 = m.batch[0].ts;
      buffer.push(m.batch);
      if (buffer.paused) updatePause();
      break;
    case 'context':
      live = m.live;
      model.setContext(m.context);
      lastLanes = '';
      schedule(true);
      break;
  }
});

// Keyboard: space toggles pause, End follows.
window.addEventListener('keydown', (ev) => {
  if ((ev.target as HTMLElement).tagName === 'INPUT') return;
  if (ev.key === ' ') {
    ev.preventDefault();
    pauseBtn.click();
  } else if (ev.key === 'End') {
    autoScroll = true;
    schedule();
  }
});

void laneKey;
errChk.checked = !!saved.filter.errorsOnly;
search.value = saved.filter.search ?? '';
if (!follow) buffer.pause();
updatePause();
vscode.postMessage({ type: 'ready' });
