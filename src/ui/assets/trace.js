// The trace page: a header with the trace's facts, then either the waterfall (default) or the
// agent view (?view=agent). The waterfall is built in one pass into a DocumentFragment; folding
// a subtree flips `hidden` on a contiguous run of rows (depth-first order), so nothing is rebuilt.
import * as api from './api.js';
import {renderAgentView} from './agent.js';
import {append, clear, formatDuration, formatTime, h} from './dom.js';
import {buildTrace, collectSpans, displayValue} from './model.js';

export async function renderTrace(view, traceId, params, ctx) {
  clear(view).append(h('p', {class: 'loading'}, `Loading trace ${traceId}…`));
  let trace;
  const timing = {start: performance.now()};
  try {
    const data = await api.getTrace(traceId);
    timing.loaded = performance.now();
    const records = collectSpans(data).get(traceId.toLowerCase());
    if (!records || !records.length) throw new api.ApiError(404, 'No spans in this trace');
    trace = buildTrace(traceId.toLowerCase(), records);
    timing.modelled = performance.now();
  } catch (e) {
    if (!ctx.isCurrent()) return;
    clear(view).append(h('div', {class: 'error-box', role: 'alert'}, `Trace ${traceId}: ${e.message}`),
      h('p', null, h('a', {class: 'route', href: '/search'}, 'Back to search')));
    return;
  }
  if (!ctx.isCurrent()) return;
  const mode = params.get('view') === 'agent' ? 'agent' : 'timeline';
  const root = trace.roots[0];
  const base = `/trace/${encodeURIComponent(trace.traceId)}`;
  const tab = (name, label, href) => h('a', {class: 'route tab', href, role: 'tab', 'aria-selected': String(mode === name), id: `tab-${name}`}, label);
  const body = h('div', {class: 'trace-body', role: 'tabpanel', 'aria-labelledby': `tab-${mode}`});
  clear(view).append(
    h('section', {class: 'trace-header'},
      h('h1', null, h('span', {class: 'svc'}, root.service), ': ', root.name),
      h('dl', {class: 'facts'},
        h('dt', null, 'Trace'), h('dd', {class: 'mono', id: 'trace-id'}, trace.traceId),
        h('dt', null, 'Started'), h('dd', null, formatTime(trace.startUnixMs)),
        h('dt', null, 'Duration'), h('dd', {id: 'trace-duration'}, formatDuration(trace.durationNs)),
        h('dt', null, 'Spans'), h('dd', {id: 'trace-span-count'}, String(trace.spans.length)),
        h('dt', null, 'Services'), h('dd', null, trace.services.join(', ')),
        h('dt', null, 'Errors'), h('dd', {class: trace.errorCount ? 'error-text' : ''}, String(trace.errorCount))),
      h('div', {class: 'tabs', role: 'tablist'}, tab('timeline', 'Timeline', base), tab('agent', 'Agent view', `${base}?view=agent`))),
    body);
  document.title = `${root.name} · minion traces`;
  if (mode === 'agent') renderAgentView(body, trace);
  else renderWaterfall(body, trace, params.get('span'));
  // Where the time went, for anyone measuring big traces (the browser test reports these).
  body.dataset.loadMs = (timing.loaded - timing.start).toFixed(1);
  body.dataset.modelMs = (timing.modelled - timing.loaded).toFixed(1);
  body.dataset.renderMs = (performance.now() - timing.modelled).toFixed(1);
  ctx.announce(`Trace loaded: ${trace.spans.length} spans`);
}

function ticks(durationNs) {
  const out = h('div', {class: 'ticks', 'aria-hidden': 'true'});
  for (let i = 0; i <= 4; ++i) {
    out.append(h('span', {class: 'tick', style: {left: `${i * 25}%`}}, formatDuration((durationNs * i) / 4)));
  }
  return out;
}

function renderWaterfall(container, trace, selectedSpanId) {
  const t0 = performance.now();
  const spans = trace.spans;
  const total = Math.max(trace.durationNs, 1);
  // Size of each span's subtree: its rows follow it contiguously in depth-first order.
  const index = new Map();
  spans.forEach((s, i) => index.set(s, i));
  const subtree = new Array(spans.length).fill(1);
  for (let i = spans.length - 1; i >= 0; --i) {
    const parent = spans[i].parent;
    if (parent) subtree[index.get(parent)] += subtree[i];
  }
  const collapsed = new Uint8Array(spans.length);
  const rows = new Array(spans.length);
  const details = h('aside', {class: 'span-details', 'aria-label': 'Span details'}, h('p', {class: 'empty'}, 'Select a span (click, or Enter on a focused row) to see its details.'));
  const showCritical = h('input', {type: 'checkbox', id: 'critical-toggle', checked: true});
  const tree = h('div', {class: 'waterfall critical-on', role: 'tree', 'aria-label': 'Spans of the trace', 'aria-multiselectable': 'false'});
  showCritical.addEventListener('change', () => tree.classList.toggle('critical-on', showCritical.checked));

  // One template row cloned per span and filled in through properties (no HTML parsing, no
  // per-row helper calls): the cheapest way to make ~10 elements a row for thousands of rows.
  const template = h('div', {class: 'row', role: 'treeitem', tabindex: '-1', 'aria-selected': 'false'},
    h('div', {class: 'name-cell'}, h('span', {class: 'toggle', 'aria-hidden': 'true'}), h('span', {class: 'svc'}), ' ', h('span', {class: 'op'})),
    h('div', {class: 'time-cell'}, h('div', {class: 'bar'}), h('span', {class: 'dur'})));
  const errorIcon = h('span', {class: 'err-icon', 'aria-label': 'error'}, '!');
  const childCount = h('span', {class: 'child-count'});
  const segment = h('span', {class: 'crit-seg'});
  const fragment = document.createDocumentFragment();
  for (let i = 0; i < spans.length; ++i) {
    const s = spans[i];
    const hasChildren = subtree[i] > 1;
    const left = (s.startNs / total) * 100;
    const width = Math.max((s.durationNs / total) * 100, 0.15);
    const row = template.cloneNode(true);
    const nameCell = row.firstChild;
    const timeCell = row.lastChild;
    const bar = timeCell.firstChild;
    const dur = timeCell.lastChild;
    if (s.error) row.classList.add('error');
    if (s.critical) row.classList.add('critical');
    row.setAttribute('aria-level', String(s.depth + 1));
    if (hasChildren) row.setAttribute('aria-expanded', 'true');
    row.dataset.index = String(i);
    row.dataset.spanId = s.spanId;
    row.dataset.parentId = s.parent ? s.parent.spanId : '';
    row.dataset.depth = String(s.depth);
    row.dataset.name = s.name;
    nameCell.style.paddingLeft = `${Math.min(s.depth, 40) * 14 + 4}px`;
    if (!hasChildren) nameCell.firstChild.classList.add('leaf');
    if (s.error) {
      const icon = errorIcon.cloneNode(true);
      icon.title = `ERROR ${s.status.message}`;
      nameCell.insertBefore(icon, nameCell.children[1]);
    }
    nameCell.querySelector('.svc').textContent = s.service;
    nameCell.lastChild.textContent = s.name;
    if (hasChildren) {
      const count = childCount.cloneNode(false);
      count.textContent = String(subtree[i] - 1);
      nameCell.appendChild(count);
    }
    bar.style.left = `${left}%`;
    bar.style.width = `${width}%`;
    if (s.criticalSegments) {
      const span = Math.max(s.durationNs, 1);
      for (const [a, b] of s.criticalSegments) {
        const seg = segment.cloneNode(false);
        seg.style.left = `${((a - s.startNs) / span) * 100}%`;
        seg.style.width = `${((b - a) / span) * 100}%`;
        bar.appendChild(seg);
      }
    }
    // The duration label sits right of the bar; near the right edge it goes left of the bar,
    // and on a bar that spans almost everything, inside it.
    const labelPlace = left + width <= 75 ? 'after' : left >= 20 ? 'before' : 'inside';
    dur.classList.add(labelPlace);
    if (labelPlace === 'after') dur.style.left = `${left + width}%`;
    else if (labelPlace === 'before') dur.style.right = `${100 - left}%`;
    else dur.style.right = `${Math.max(0, 100 - left - width)}%`;
    dur.textContent = formatDuration(s.durationNs);
    rows[i] = row;
    fragment.append(row);
  }
  tree.append(fragment);

  const applyVisibility = () => {
    for (let i = 0; i < spans.length;) {
      rows[i].hidden = false;
      if (collapsed[i]) {
        for (let j = i + 1; j < i + subtree[i]; ++j) rows[j].hidden = true;
        i += subtree[i];
      } else {
        ++i;
      }
    }
  };
  const setCollapsed = (i, value) => {
    if (subtree[i] <= 1 || Boolean(collapsed[i]) === value) return;
    collapsed[i] = value ? 1 : 0;
    rows[i].setAttribute('aria-expanded', String(!value));
    applyVisibility();
  };
  let focused = 0;
  const focusRow = (i) => {
    if (i < 0 || i >= rows.length) return;
    rows[focused].tabIndex = -1;
    focused = i;
    rows[i].tabIndex = 0;
    rows[i].focus();
  };
  let selected = -1;
  const select = (i) => {
    if (selected >= 0) rows[selected].setAttribute('aria-selected', 'false');
    selected = i;
    rows[i].setAttribute('aria-selected', 'true');
    renderDetails(details, spans[i], trace);
    const url = new URL(window.location.href);
    url.searchParams.set('span', spans[i].spanId);
    history.replaceState(null, '', url.pathname + url.search);
  };
  const visibleStep = (i, step) => {
    for (let j = i + step; j >= 0 && j < rows.length; j += step) if (!rows[j].hidden) return j;
    return i;
  };
  tree.addEventListener('click', (event) => {
    const row = event.target.closest('.row');
    if (!row) return;
    const i = Number(row.dataset.index);
    if (event.target.closest('.toggle')) setCollapsed(i, !collapsed[i]);
    else select(i);
    focusRow(i);
  });
  tree.addEventListener('keydown', (event) => {
    const row = event.target.closest('.row');
    if (!row) return;
    const i = Number(row.dataset.index);
    const s = spans[i];
    switch (event.key) {
      case 'ArrowDown': focusRow(visibleStep(i, 1)); break;
      case 'ArrowUp': focusRow(visibleStep(i, -1)); break;
      case 'ArrowRight':
        if (subtree[i] > 1 && collapsed[i]) setCollapsed(i, false);
        else if (subtree[i] > 1) focusRow(i + 1);
        break;
      case 'ArrowLeft':
        if (subtree[i] > 1 && !collapsed[i]) setCollapsed(i, true);
        else if (s.parent) focusRow(index.get(s.parent));
        break;
      case 'Home': focusRow(0); break;
      case 'End': focusRow(visibleStep(rows.length, -1)); break;
      case 'Enter': select(i); break;
      case ' ': setCollapsed(i, !collapsed[i]); break;
      default: return;
    }
    event.preventDefault();
  });

  const expandAll = h('button', {type: 'button', onclick: () => { collapsed.fill(0); rows.forEach((r, i) => subtree[i] > 1 && r.setAttribute('aria-expanded', 'true')); applyVisibility(); }}, 'Expand all');
  const collapseAll = h('button', {type: 'button', onclick: () => {
    for (let i = 0; i < spans.length; ++i) if (subtree[i] > 1 && spans[i].depth >= 1) { collapsed[i] = 1; rows[i].setAttribute('aria-expanded', 'false'); }
    applyVisibility();
  }}, 'Collapse to depth 1');
  clear(container).append(
    h('div', {class: 'waterfall-tools'},
      h('label', {class: 'check'}, showCritical, ' Highlight critical path'),
      expandAll, collapseAll,
      h('span', {class: 'legend'}, h('span', {class: 'swatch crit'}), 'critical path ', h('span', {class: 'swatch err'}), 'error')),
    h('div', {class: 'trace-split'},
      h('div', {class: 'waterfall-wrap'},
        h('div', {class: 'waterfall-head'}, h('div', {class: 'name-cell'}, 'Service: operation'), h('div', {class: 'time-cell'}, ticks(total))),
        tree),
      details));
  rows[0].tabIndex = 0;
  const wanted = selectedSpanId ? spans.findIndex((s) => s.spanId === selectedSpanId) : -1;
  if (wanted >= 0) {
    select(wanted);
    focused = wanted;
    rows[0].tabIndex = -1;
    rows[wanted].tabIndex = 0;
    rows[wanted].scrollIntoView({block: 'center'});
  }
  tree.dataset.renderMs = (performance.now() - t0).toFixed(1);
  tree.dataset.spanCount = String(spans.length);
}

function kvTable(list, caption) {
  if (!list.length) return null;
  return h('table', {class: 'kv'}, caption ? h('caption', null, caption) : null,
    h('tbody', null, list.map(({key, value}) => h('tr', null, h('th', {scope: 'row'}, key), h('td', null, displayValue(value))))));
}

function renderDetails(panel, s, trace) {
  const events = s.events.length ? h('section', null, h('h3', null, `Events (${s.events.length})`),
    h('ol', {class: 'events'}, s.events.map((e) => h('li', null,
      h('div', null, h('strong', null, e.name), ' ', h('span', {class: 'muted'}, `at ${formatDuration(e.timeNs - s.startNs)} into the span`)),
      kvTable(e.attributes))))) : null;
  const links = s.links.length ? h('section', null, h('h3', null, `Links (${s.links.length})`),
    h('ul', {class: 'links'}, s.links.map((l) => {
      const local = l.traceId === trace.traceId ? trace.byId.get(l.spanId) : null;
      const href = `/trace/${encodeURIComponent(l.traceId)}?span=${encodeURIComponent(l.spanId)}`;
      return h('li', null, h('a', {class: 'route mono', href}, local ? `${local.name} (${l.spanId})` : `${l.traceId}/${l.spanId}`), kvTable(l.attributes));
    }))) : null;
  append(clear(panel), [
    h('h2', null, s.name),
    h('dl', {class: 'facts'},
      h('dt', null, 'Service'), h('dd', null, s.service),
      h('dt', null, 'Kind'), h('dd', null, s.kind),
      h('dt', null, 'Status'), h('dd', {class: s.error ? 'error-text' : '', id: 'detail-status'}, s.status.code + (s.status.message ? `: ${s.status.message}` : '')),
      h('dt', null, 'Start'), h('dd', null, `${formatDuration(s.startNs)} after trace start`),
      h('dt', null, 'Duration'), h('dd', null, formatDuration(s.durationNs)),
      h('dt', null, 'Span id'), h('dd', {class: 'mono'}, s.spanId),
      h('dt', null, 'Parent'), h('dd', {class: 'mono'}, s.parentSpanId || '(root)'),
      s.critical ? [h('dt', null, 'Critical path'), h('dd', null, 'yes')] : null),
    h('section', null, h('h3', null, `Attributes (${s.attributes.length})`), kvTable(s.attributes) ?? h('p', {class: 'muted'}, 'none')),
    events,
    links,
    h('section', null, h('h3', null, 'Resource'), kvTable(s.resource) ?? h('p', {class: 'muted'}, 'none')),
    h('section', null, h('h3', null, 'Scope'), h('p', {class: 'mono'}, `${s.scope.name}${s.scope.version ? ' ' + s.scope.version : ''}`))]);
}
