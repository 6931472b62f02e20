// What the agent view shows, computed from the spans alone (no DOM): per task, its subtasks with
// the workers that ran them, retries and redeliveries, and the LLM, tool and storage calls with
// totals. Totals add up the per-call spans (llm.*, tool.*, storage.*) and nothing else, so a
// count that a parent span also carries as an aggregate attribute is never added twice.

const num = (v) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};

export function isTaskSpan(s) {
  return s.name.startsWith('multiagent.task.');
}

export function isWorkerSpan(s) {
  return s.name.startsWith('worker.');
}

export function isLlmSpan(s) {
  return s.name.startsWith('llm.') || s.attr.get('minion.component') === 'llm';
}

export function isToolSpan(s) {
  return s.name.startsWith('tool.') || s.attr.get('minion.component') === 'tool';
}

export function isStorageSpan(s) {
  return s.name.startsWith('storage.') || s.attr.get('minion.component') === 'storage';
}

function firstNumber(attr, keys) {
  for (const key of keys) {
    const v = num(attr.get(key));
    if (v !== null) return v;
  }
  return null;
}

// The worker span a call ran under (its nearest worker.* ancestor), or null (e.g. a planner call).
function enclosingWorker(s) {
  for (let p = s.parent; p; p = p.parent) if (isWorkerSpan(p)) return p;
  return null;
}

function workerId(w) {
  return w ? String(w.attr.get('multiagent.worker.id') ?? w.name.slice('worker.'.length)) : null;
}

function llmCall(s) {
  const worker = enclosingWorker(s);
  return {
    span: s,
    worker: workerId(worker),
    model: String(s.attr.get('gen_ai.response.model') ?? s.attr.get('gen_ai.request.model') ?? s.name.split('.').slice(2).join('.')),
    requestModel: s.attr.has('gen_ai.request.model') ? String(s.attr.get('gen_ai.request.model')) : null,
    provider: s.attr.has('gen_ai.provider.name') ? String(s.attr.get('gen_ai.provider.name')) : (s.attr.has('gen_ai.system') ? String(s.attr.get('gen_ai.system')) : null),
    latencyNs: s.durationNs,
    // gen_ai.* is the OpenTelemetry convention; llm.tokens.* is the older name minion wrote on
    // the same span before issue 12 (stored traces). One span counts once: the first key wins.
    inputTokens: firstNumber(s.attr, ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.tokens.input']),
    outputTokens: firstNumber(s.attr, ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.tokens.output']),
    cost: firstNumber(s.attr, ['gen_ai.usage.cost', 'gen_ai.usage.cost_usd', 'llm.cost', 'llm.cost_usd']),
    error: s.error,
  };
}

function simpleCall(s) {
  return {span: s, worker: workerId(enclosingWorker(s)), latencyNs: s.durationNs, error: s.error};
}

// Spans of the subtree of `root` in depth-first order (an explicit stack; no recursion). A task
// started inside this one (a worker that ran `minion run` with our traceparent) is its own task
// in the view: its spans are left out here so that no call is counted under two tasks.
function subtreeOf(root) {
  const out = [];
  const stack = [root];
  while (stack.length) {
    const s = stack.pop();
    out.push(s);
    for (let i = s.children.length - 1; i >= 0; --i) if (!isTaskSpan(s.children[i])) stack.push(s.children[i]);
  }
  return out;
}

function deliveryCount(s) {
  for (const a of s.attributes) {
    if (a.key.startsWith('messaging.') && a.key.endsWith('.delivery_count')) return num(a.value);
  }
  return null;
}

export function summarizeTask(task) {
  const spans = subtreeOf(task);
  const subtasks = new Map();
  const subtaskFor = (name) => {
    let st = subtasks.get(name);
    if (!st) {
      st = {name, capability: null, runs: [], dispatches: [], events: []};
      subtasks.set(name, st);
    }
    return st;
  };
  const llm = [];
  const tools = [];
  const storage = [];
  for (const s of spans) {
    if (s === task) continue;
    if (isWorkerSpan(s)) {
      const st = subtaskFor(String(s.attr.get('multiagent.subtask.name') ?? s.name));
      st.capability ??= String(s.attr.get('multiagent.worker.capability') ?? s.name.slice('worker.'.length));
      st.runs.push({
        span: s,
        worker: workerId(s),
        attempt: num(s.attr.get('multiagent.subtask.attempt')),
        durationNs: s.durationNs,
        error: s.error,
        status: s.status,
        cancelled: s.events.some((e) => e.name === 'cancelled'),
        // A networked transport says how often it delivered this message
        // (messaging.redis.message.delivery_count and the like); 2 and more is a redelivery.
        deliveryCount: deliveryCount(s),
      });
    } else if (s.name === 'orchestrator.dispatch' && s.attr.has('multiagent.subtask.name')) {
      const st = subtaskFor(String(s.attr.get('multiagent.subtask.name')));
      st.capability ??= s.attr.has('multiagent.subtask.capability') ? String(s.attr.get('multiagent.subtask.capability')) : null;
      st.dispatches.push(s);
      for (const e of s.events) st.events.push(e);
    } else if (isLlmSpan(s)) {
      llm.push(llmCall(s));
    } else if (isToolSpan(s)) {
      tools.push(simpleCall(s));
    } else if (isStorageSpan(s)) {
      storage.push(simpleCall(s));
    }
  }
  const rows = [];
  for (const st of subtasks.values()) {
    st.runs.sort((a, b) => a.span.startNs - b.span.startNs);
    const attempts = new Set();
    for (const r of st.runs) attempts.add(r.attempt ?? r.span.spanId);
    // A retry is a further attempt (a new attempt number); a redelivery is the same attempt
    // delivered to a worker again: one more worker span with an attempt number already seen, a
    // delivery count above 1 on a worker span (the worker that held it first may have died
    // without exporting its span), or the orchestrator's `redelivered` event. Each of these
    // sees the same redeliveries, so the largest count is the answer, not their sum.
    const attemptCount = Math.max(attempts.size, st.events.filter((e) => e.name === 'attempt_failed').length + (st.runs.length ? 1 : 0));
    const deliveriesByAttempt = new Map();
    for (const r of st.runs) {
      if (r.deliveryCount === null) continue;
      const key = r.attempt ?? r.span.spanId;
      deliveriesByAttempt.set(key, Math.max(deliveriesByAttempt.get(key) ?? 1, r.deliveryCount));
    }
    let fromDeliveryCounts = 0;
    for (const n of deliveriesByAttempt.values()) fromDeliveryCounts += n - 1;
    const redeliveredEvents = st.events.filter((e) => e.name === 'redelivered').length;
    const last = st.runs[st.runs.length - 1];
    rows.push({
      name: st.name,
      capability: st.capability,
      runs: st.runs,
      workers: [...new Set(st.runs.map((r) => r.worker))],
      attempts: attemptCount,
      retries: Math.max(0, attemptCount - 1),
      redeliveries: Math.max(0, st.runs.length - attempts.size, fromDeliveryCounts, redeliveredEvents),
      cancels: st.events.filter((e) => e.name === 'cancel_sent').length,
      redeliveredEvents,
      failedAttempts: st.events.filter((e) => e.name === 'attempt_failed').length,
      ok: Boolean(last) && !last.error,
      error: last ? last.error : st.dispatches.some((d) => d.error),
      durationNs: st.runs.reduce((sum, r) => sum + r.durationNs, 0),
    });
  }
  const sum = (list, key) => {
    let total = 0;
    let seen = false;
    for (const c of list) if (c[key] !== null && c[key] !== undefined) { total += c[key]; seen = true; }
    return seen ? total : null;
  };
  return {
    task,
    id: task.attr.has('multiagent.task.id') ? String(task.attr.get('multiagent.task.id')) : null,
    taskName: task.attr.has('multiagent.task.name') ? String(task.attr.get('multiagent.task.name')) : task.name,
    type: task.attr.has('multiagent.task.type') ? String(task.attr.get('multiagent.task.type')) : task.name.slice('multiagent.task.'.length),
    priority: num(task.attr.get('multiagent.task.priority')),
    subtasks: rows,
    llm,
    tools,
    storage,
    totals: {
      subtasks: rows.length,
      workerRuns: rows.reduce((n, r) => n + r.runs.length, 0),
      retries: rows.reduce((n, r) => n + r.retries, 0),
      redeliveries: rows.reduce((n, r) => n + r.redeliveries, 0),
      failedSubtasks: rows.filter((r) => r.error).length,
      llmCalls: llm.length,
      inputTokens: sum(llm, 'inputTokens') ?? 0,
      outputTokens: sum(llm, 'outputTokens') ?? 0,
      cost: sum(llm, 'cost'),
      llmTimeNs: llm.reduce((n, c) => n + c.latencyNs, 0),
      toolCalls: tools.length,
      storageOps: storage.length,
      errorSpans: spans.filter((s) => s.error).length,
      durationNs: task.durationNs,
    },
  };
}

export function summarizeAgents(trace) {
  return trace.spans.filter(isTaskSpan).map(summarizeTask);
}
