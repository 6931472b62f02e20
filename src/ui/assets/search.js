// The search page: a form whose state lives in the URL (/search?service=...&tags=...), so a
// search is a link and the back button returns to it; and the list of matching traces.
import * as api from './api.js';
import {clear, formatDuration, formatTime, h} from './dom.js';
import {summarize, tracesFrom} from './model.js';

const LOOKBACKS = [
  ['15m', 'Last 15 minutes', 15 * 60e3],
  ['1h', 'Last hour', 3600e3],
  ['6h', 'Last 6 hours', 6 * 3600e3],
  ['24h', 'Last 24 hours', 24 * 3600e3],
  ['7d', 'Last 7 days', 7 * 24 * 3600e3],
  ['all', 'Any time', null],
  ['custom', 'Custom range', null],
];

// The seed's example queries ("Example Queries in Jaeger"), one click to fill the form.
const EXAMPLES = [
  ['Code generation tasks', {operation: 'multiagent.task.code_generation'}],
  ['Slow tasks (>10s)', {operation: 'multiagent.task.*', minDuration: '10s'}],
  ['Failed tasks', {operation: 'multiagent.task.*', tags: 'error=true'}],
  ['One worker', {tags: 'multiagent.worker.id=worker-789'}],
  ['High priority', {tags: 'multiagent.task.priority>7'}],
];

const FIELDS = ['service', 'operation', 'tags', 'lookback', 'start', 'end', 'minDuration', 'maxDuration', 'limit', 'sort'];

function field(label, input, hint) {
  const id = `f-${input.name}`;
  input.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, label), input, hint ? h('small', {class: 'hint'}, hint) : null);
}

function buildForm(params, ctx) {
  const service = h('select', {name: 'service'}, h('option', {value: ''}, 'Loading services…'));
  const operation = h('input', {name: 'operation', list: 'operations', placeholder: 'all, or a pattern: multiagent.task.*', autocomplete: 'off', spellcheck: false});
  const operations = h('datalist', {id: 'operations'});
  const tags = h('input', {name: 'tags', placeholder: 'error=true multiagent.task.priority>7', autocomplete: 'off', spellcheck: false});
  const lookback = h('select', {name: 'lookback'}, LOOKBACKS.map(([value, label]) => h('option', {value}, label)));
  const start = h('input', {name: 'start', type: 'datetime-local', step: '1'});
  const end = h('input', {name: 'end', type: 'datetime-local', step: '1'});
  const custom = h('div', {class: 'custom-range'}, field('From', start), field('To', end));
  const minDuration = h('input', {name: 'minDuration', placeholder: 'e.g. 10s, 250ms', autocomplete: 'off', size: 8});
  const maxDuration = h('input', {name: 'maxDuration', placeholder: 'e.g. 1m', autocomplete: 'off', size: 8});
  const limit = h('input', {name: 'limit', type: 'number', min: 1, max: 1000, value: '20'});
  const sort = h('input', {name: 'sort', type: 'hidden'});
  const form = h('form', {class: 'search-form', 'aria-label': 'Find traces'},
    h('h2', null, 'Find traces'),
    field('Service', service),
    field('Operation', operation, 'Exact name, or * as a wildcard'),
    operations,
    field('Attributes', tags, 'key=value, numeric key>7 / >= / < / <=; space-separated; quote values with spaces'),
    field('Time', lookback),
    custom,
    h('div', {class: 'field-row'}, field('Min duration', minDuration), field('Max duration', maxDuration)),
    field('Limit', limit),
    sort,
    h('button', {type: 'submit', class: 'primary'}, 'Find traces'),
    h('details', {class: 'examples'}, h('summary', null, 'Example queries'),
      h('ul', null, EXAMPLES.map(([label, q]) => h('li', null,
        h('button', {type: 'button', class: 'link', onclick: () => {
          for (const name of ['operation', 'tags', 'minDuration', 'maxDuration']) form.elements[name].value = q[name] ?? '';
          form.requestSubmit();
        }}, label))))));

  for (const name of FIELDS) if (params.has(name) && form.elements[name]) form.elements[name].value = params.get(name);
  if (!params.has('lookback')) lookback.value = '1h';
  const syncCustom = () => { custom.hidden = lookback.value !== 'custom'; };
  lookback.addEventListener('change', syncCustom);
  syncCustom();

  const loadOperations = async () => {
    clear(operations);
    try {
      for (const name of await api.operations(service.value)) operations.append(h('option', {value: name}));
    } catch {
      // Suggestions only; the field still takes any name.
    }
  };
  service.addEventListener('change', loadOperations);

  api.services().then((names) => {
    if (!ctx.isCurrent()) return;
    clear(service).append(h('option', {value: ''}, names.length ? 'Any service (attributes required)' : 'No services yet'));
    for (const name of names) service.append(h('option', {value: name}, name));
    const wanted = params.get('service');
    if (wanted && !names.includes(wanted)) service.append(h('option', {value: wanted}, wanted));
    service.value = wanted ?? (names.length === 1 ? names[0] : '');
    loadOperations();
  }, (e) => {
    clear(service).append(h('option', {value: params.get('service') ?? ''}, params.get('service') ?? `Cannot list services: ${e.message}`));
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const name of FIELDS) {
      const el = form.elements[name];
      if (!el || el.value === '') continue;
      if ((name === 'start' || name === 'end') && lookback.value !== 'custom') continue;
      q.set(name, el.value.trim());
    }
    q.set('run', '1');
    ctx.navigate(`/search?${q}`);
  });
  return form;
}

function timeWindow(params) {
  const lookback = params.get('lookback') ?? '1h';
  if (lookback === 'custom') {
    const start = params.get('start') ? new Date(params.get('start')) : undefined;
    const end = params.get('end') ? new Date(params.get('end')) : undefined;
    return {startMin: start && !isNaN(start) ? start : undefined, startMax: end && !isNaN(end) ? end : undefined};
  }
  const entry = LOOKBACKS.find(([value]) => value === lookback);
  if (!entry || entry[2] === null) return {};
  return {startMin: new Date(Date.now() - entry[2])};
}

const SORTS = {
  recent: (a, b) => b.startUnixMs - a.startUnixMs,
  longest: (a, b) => b.durationNs - a.durationNs,
  spans: (a, b) => b.spanCount - a.spanCount,
  errors: (a, b) => b.errorCount - a.errorCount || b.startUnixMs - a.startUnixMs,
};

function resultRow(summary, maxDuration) {
  const width = maxDuration > 0 ? Math.max(0.5, (summary.durationNs / maxDuration) * 100) : 0;
  return h('li', {class: 'result' + (summary.errorCount ? ' has-error' : '')},
    h('a', {class: 'route result-link', href: `/trace/${encodeURIComponent(summary.traceId)}`, dataset: {traceId: summary.traceId}},
      h('div', {class: 'result-head'},
        h('span', {class: 'result-title'}, h('span', {class: 'svc'}, summary.rootService), ': ', summary.rootName),
        h('span', {class: 'result-duration'}, formatDuration(summary.durationNs))),
      h('div', {class: 'result-bar', 'aria-hidden': 'true'}, h('span', {style: {width: `${width}%`}})),
      h('div', {class: 'result-meta'},
        h('span', {class: 'span-count'}, `${summary.spanCount} span${summary.spanCount === 1 ? '' : 's'}`),
        summary.errorCount ? h('span', {class: 'badge error-badge'}, `${summary.errorCount} error${summary.errorCount === 1 ? '' : 's'}`) : null,
        h('span', {class: 'services'}, summary.services.map((s) => h('span', {class: 'badge svc-badge'}, `${s.name} (${s.count})`))),
        h('span', {class: 'trace-id'}, summary.traceId.slice(0, 12)),
        h('time', {class: 'result-time', datetime: new Date(summary.startUnixMs).toISOString()}, formatTime(summary.startUnixMs)))));
}

export async function renderSearch(view, params, ctx) {
  // data-state (idle, loading, done, error) lets scripts and tests wait for the answer.
  const results = h('section', {class: 'results', 'aria-label': 'Search results', dataset: {state: 'idle'}});
  clear(view).append(h('div', {class: 'search-page'}, buildForm(params, ctx), results));
  if (!params.has('run') && !params.has('service') && !params.has('tags')) {
    results.append(h('p', {class: 'empty'}, 'Pick a service or type attribute conditions, then Find traces.'));
    return;
  }
  results.dataset.state = 'loading';
  results.append(h('p', {class: 'loading'}, 'Searching…'));
  const query = {
    service: params.get('service') ?? '',
    operation: params.get('operation') ?? '',
    tags: params.get('tags') ?? '',
    minDuration: params.get('minDuration') ?? '',
    maxDuration: params.get('maxDuration') ?? '',
    limit: params.get('limit') ?? '20',
    ...timeWindow(params),
  };
  let summaries;
  try {
    summaries = tracesFrom(await api.searchTraces(query)).map(summarize);
  } catch (e) {
    if (!ctx.isCurrent()) return;
    clear(results).append(h('div', {class: 'error-box', role: 'alert'}, `Search failed: ${e.message}`));
    results.dataset.state = 'error';
    return;
  }
  if (!ctx.isCurrent()) return;
  const sortKey = SORTS[params.get('sort')] ? params.get('sort') : 'recent';
  summaries.sort(SORTS[sortKey]);
  const maxDuration = summaries.reduce((m, s) => Math.max(m, s.durationNs), 0);
  const sortSelect = h('select', {'aria-label': 'Sort results'},
    [['recent', 'Most recent'], ['longest', 'Longest first'], ['spans', 'Most spans'], ['errors', 'Most errors']]
      .map(([value, label]) => h('option', {value}, label)));
  sortSelect.value = sortKey;
  sortSelect.addEventListener('change', () => {
    const q = new URLSearchParams(window.location.search);
    q.set('sort', sortSelect.value);
    ctx.navigate(`/search?${q}`, {replace: true});
  });
  const list = h('ol', {class: 'result-list'});
  const fragment = document.createDocumentFragment();
  for (const s of summaries) fragment.append(resultRow(s, maxDuration));
  list.append(fragment);
  // Arrow keys move between results; Enter follows the focused link (native).
  list.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const links = [...list.querySelectorAll('a.result-link')];
    const i = links.indexOf(document.activeElement);
    const next = links[event.key === 'ArrowDown' ? Math.min(links.length - 1, i + 1) : Math.max(0, i - 1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
  clear(results).append(
    h('div', {class: 'results-head'}, h('h2', {id: 'result-count'}, `${summaries.length} trace${summaries.length === 1 ? '' : 's'}`), sortSelect),
    summaries.length ? list : h('p', {class: 'empty'}, 'No traces match. Widen the time range or drop a condition.'));
  results.dataset.state = 'done';
  ctx.announce(`${summaries.length} traces found`);
}
