// The agent view: for each task in the trace, what the agents did. Cells link back to the span
// in the waterfall (/trace/{id}?span=...), so every number can be checked against its span.
import {summarizeAgents} from './agent_model.js';
import {clear, formatCost, formatDuration, formatNumber, h} from './dom.js';

function spanLink(trace, span, text) {
  return h('a', {class: 'route', href: `/trace/${encodeURIComponent(trace.traceId)}?span=${encodeURIComponent(span.spanId)}`}, text);
}

function statusCell(error, text) {
  return h('td', null, h('span', {class: 'badge ' + (error ? 'error-badge' : 'ok-badge')}, text ?? (error ? 'ERROR' : 'OK')));
}

function table(caption, headers, rows, id) {
  return h('table', {class: 'grid', id},
    h('caption', null, caption),
    h('thead', null, h('tr', null, headers.map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', null, rows));
}

function totalsBlock(t) {
  const item = (key, label, value) => h('div', {class: 'total', dataset: {total: key}}, h('dt', null, label), h('dd', null, value));
  return h('dl', {class: 'totals', 'aria-label': 'Task totals'},
    item('duration', 'Duration', formatDuration(t.durationNs)),
    item('subtasks', 'Subtasks', formatNumber(t.subtasks)),
    item('worker-runs', 'Worker runs', formatNumber(t.workerRuns)),
    item('retries', 'Retries', formatNumber(t.retries)),
    item('redeliveries', 'Redeliveries', formatNumber(t.redeliveries)),
    item('llm-calls', 'LLM calls', formatNumber(t.llmCalls)),
    item('input-tokens', 'Input tokens', formatNumber(t.inputTokens)),
    item('output-tokens', 'Output tokens', formatNumber(t.outputTokens)),
    item('cost', 'Cost', t.cost === null ? 'not reported' : formatCost(t.cost)),
    item('llm-time', 'Time in LLM calls', formatDuration(t.llmTimeNs)),
    item('tool-calls', 'Tool calls', formatNumber(t.toolCalls)),
    item('storage-ops', 'Storage ops', formatNumber(t.storageOps)),
    item('errors', 'Error spans', formatNumber(t.errorSpans)));
}

function taskSection(trace, summary) {
  const {task, totals} = summary;
  const subtaskRows = [];
  for (const st of summary.subtasks) {
    const runs = st.runs.length ? st.runs : [null];
    runs.forEach((run, i) => {
      subtaskRows.push(h('tr', {class: (run && run.error ? 'error' : '') + (i ? ' continuation' : ''), dataset: {subtask: st.name}},
        i === 0 ? h('th', {scope: 'row', rowspan: String(runs.length)}, st.name, h('div', {class: 'muted'}, st.capability ?? '')) : null,
        h('td', {class: 'worker'}, run ? spanLink(trace, run.span, run.worker) : '—'),
        h('td', null, run && run.attempt !== null ? String(run.attempt) : '—',
          run && run.deliveryCount > 1 ? h('span', {class: 'badge warn-badge', title: 'times the transport delivered this message'}, ` delivery ${run.deliveryCount}`) : null),
        h('td', {class: 'num'}, run ? formatDuration(run.durationNs) : '—'),
        run ? statusCell(run.error, run.cancelled ? 'CANCELLED' : undefined) : statusCell(true, 'NOT RUN'),
        i === 0 ? h('td', {rowspan: String(runs.length), class: 'num', dataset: {col: 'retries'}}, String(st.retries)) : null,
        i === 0 ? h('td', {rowspan: String(runs.length), class: 'num', dataset: {col: 'redeliveries'}}, String(st.redeliveries)) : null,
        i === 0 ? h('td', {rowspan: String(runs.length), class: 'events-cell'},
          st.failedAttempts ? h('span', {class: 'badge warn-badge'}, `${st.failedAttempts} failed attempt${st.failedAttempts === 1 ? '' : 's'}`) : null,
          st.cancels ? h('span', {class: 'badge warn-badge'}, `${st.cancels} cancel${st.cancels === 1 ? '' : 's'} sent`) : null,
          st.redeliveredEvents ? h('span', {class: 'badge warn-badge'}, `redelivered ×${st.redeliveredEvents}`) : null) : null));
    });
  }
  const llmRows = summary.llm.map((c) => h('tr', {class: c.error ? 'error' : ''},
    h('td', null, spanLink(trace, c.span, c.span.name)),
    h('td', null, c.model, c.requestModel && c.requestModel !== c.model ? h('div', {class: 'muted'}, `asked ${c.requestModel}`) : null),
    h('td', null, c.worker ?? 'planner'),
    h('td', {class: 'num'}, formatDuration(c.latencyNs)),
    h('td', {class: 'num'}, c.inputTokens === null ? '—' : formatNumber(c.inputTokens)),
    h('td', {class: 'num'}, c.outputTokens === null ? '—' : formatNumber(c.outputTokens)),
    h('td', {class: 'num'}, c.cost === null ? '—' : formatCost(c.cost)),
    statusCell(c.error)));
  const callRows = (list) => list.map((c) => h('tr', {class: c.error ? 'error' : ''},
    h('td', null, spanLink(trace, c.span, c.span.name)),
    h('td', null, c.worker ?? '—'),
    h('td', {class: 'num'}, formatDuration(c.latencyNs)),
    statusCell(c.error)));
  return h('section', {class: 'agent-task', dataset: {taskSpan: task.spanId}},
    h('h2', null, summary.taskName, ' ', h('span', {class: 'muted'}, `(${summary.type}${summary.priority !== null ? `, priority ${summary.priority}` : ''})`),
      ' ', h('span', {class: 'badge ' + (task.error ? 'error-badge' : 'ok-badge')}, task.error ? 'FAILED' : 'OK')),
    summary.id ? h('p', {class: 'muted mono'}, `multiagent.task.id ${summary.id}`) : null,
    task.error && task.status.message ? h('p', {class: 'error-text'}, task.status.message) : null,
    totalsBlock(totals),
    table('Subtasks and the workers that ran them', ['Subtask', 'Worker', 'Attempt', 'Duration', 'Status', 'Retries', 'Redeliveries', 'Orchestrator events'],
      subtaskRows.length ? subtaskRows : [h('tr', null, h('td', {colspan: '8', class: 'muted'}, 'No worker spans in this task.'))], 'subtasks-table'),
    table(`LLM calls (${summary.llm.length})`, ['Call', 'Model', 'Worker', 'Latency', 'Input tokens', 'Output tokens', 'Cost', 'Status'],
      llmRows.length ? [...llmRows, h('tr', {class: 'sum'}, h('th', {scope: 'row', colspan: '3'}, 'Total'),
        h('td', {class: 'num'}, formatDuration(totals.llmTimeNs)), h('td', {class: 'num'}, formatNumber(totals.inputTokens)),
        h('td', {class: 'num'}, formatNumber(totals.outputTokens)), h('td', {class: 'num'}, totals.cost === null ? '—' : formatCost(totals.cost)), h('td'))]
        : [h('tr', null, h('td', {colspan: '8', class: 'muted'}, 'No LLM calls.'))], 'llm-table'),
    table(`Tool calls (${summary.tools.length})`, ['Call', 'Worker', 'Latency', 'Status'],
      summary.tools.length ? callRows(summary.tools) : [h('tr', null, h('td', {colspan: '4', class: 'muted'}, 'No tool calls.'))], 'tool-table'),
    table(`Storage operations (${summary.storage.length})`, ['Operation', 'Worker', 'Latency', 'Status'],
      summary.storage.length ? callRows(summary.storage) : [h('tr', null, h('td', {colspan: '4', class: 'muted'}, 'No storage operations.'))], 'storage-table'));
}

export function renderAgentView(container, trace) {
  const summaries = summarizeAgents(trace);
  if (!summaries.length) {
    clear(container).append(h('p', {class: 'empty'}, 'This trace has no multiagent.task.* span, so there is no agent activity to show.'));
    return;
  }
  const fragment = document.createDocumentFragment();
  for (const s of summaries) fragment.append(taskSection(trace, s));
  clear(container).append(fragment);
}
