// The UI's trace model and agent summary under Node, without a browser: the tree built from
// OTLP/JSON, the critical path, robustness to hostile input (deep chains, parent cycles,
// missing parents), and the agent view's counting rules (retries vs redeliveries, tool and
// storage calls, tokens counted once per LLM span and never from an aggregate attribute).
//   node --test tests/ui/ui_model_test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import {test} from 'node:test';
import {pathToFileURL} from 'node:url';

const source = process.env.MINION_SOURCE_DIR ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const load = (name) => import(pathToFileURL(path.join(source, 'src/ui/assets', name)).href);
const {tracesFrom, summarize, anyValue} = await load('model.js');
const {summarizeAgents} = await load('agent_model.js');

const T0 = 1764436800000000000n;  // ns
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
let nextId = 1;
const sid = () => (nextId++).toString(16).padStart(16, '0');

// span(name, parent, startUs, endUs, {attrs, status, events, kind})
function span(name, parent, start, end, extra = {}) {
  return {
    traceId: TRACE, spanId: extra.id ?? sid(), parentSpanId: parent ? parent.spanId : '', name,
    kind: extra.kind ?? 1,
    startTimeUnixNano: String(T0 + BigInt(start) * 1000n), endTimeUnixNano: String(T0 + BigInt(end) * 1000n),
    attributes: Object.entries(extra.attrs ?? {}).map(([key, v]) => ({key, value:
      typeof v === 'number' ? (Number.isInteger(v) ? {intValue: String(v)} : {doubleValue: v}) : typeof v === 'boolean' ? {boolValue: v} : {stringValue: v}})),
    events: extra.events ?? [], links: [], status: extra.status ?? {code: 0},
  };
}
const data = (spans, service = 'minion-multiagent') => ({resourceSpans: [{
  resource: {attributes: [{key: 'service.name', value: {stringValue: service}}]},
  scopeSpans: [{scope: {name: 'minion.multiagent', version: '0.1.0'}, spans}]}]});

test('builds the tree in depth-first order with children by start time', () => {
  const root = span('multiagent.task.code_generation', null, 0, 100);
  const dispatch = span('orchestrator.dispatch', root, 10, 100);
  const plan = span('orchestrator.plan', root, 1, 5);
  const send = span('protocol.send', dispatch, 11, 12, {kind: 4});
  const worker = span('worker.code_generation', send, 13, 90, {kind: 5, status: {code: 2, message: 'boom'}});
  const [trace] = tracesFrom(data([worker, send, dispatch, plan, root]));
  assert.deepEqual(trace.spans.map((s) => [s.depth, s.name]), [
    [0, 'multiagent.task.code_generation'], [1, 'orchestrator.plan'], [1, 'orchestrator.dispatch'],
    [2, 'protocol.send'], [3, 'worker.code_generation']]);
  assert.equal(trace.durationNs, 100000);
  assert.equal(trace.errorCount, 1);
  assert.equal(trace.spans[4].kind, 'CONSUMER');
  assert.equal(trace.spans[4].status.code, 'ERROR');
  const summary = summarize(trace);
  assert.equal(summary.spanCount, 5);
  assert.deepEqual(summary.services, [{name: 'minion-multiagent', count: 5}]);
});

test('critical path follows the consumer that outlives its producer send', () => {
  const root = span('multiagent.task.research', null, 0, 100);
  const plan = span('orchestrator.plan', root, 0, 5);
  const dispatch = span('orchestrator.dispatch', root, 5, 100);
  const send = span('protocol.send', dispatch, 6, 7);
  const worker = span('worker.research', send, 8, 95);
  const llm = span('llm.offline.echo', worker, 10, 60);
  const early = span('storage.get', worker, 9, 10);
  const side = span('orchestrator.note', root, 1, 3);  // overlaps plan, finished earlier: not critical
  const [trace] = tracesFrom(data([root, plan, dispatch, send, worker, llm, early, side]));
  const critical = new Set(trace.spans.filter((s) => s.critical).map((s) => s.name));
  for (const name of ['multiagent.task.research', 'orchestrator.plan', 'orchestrator.dispatch', 'protocol.send', 'worker.research', 'llm.offline.echo', 'storage.get']) {
    assert.ok(critical.has(name), `${name} is on the critical path`);
  }
  assert.ok(!critical.has('orchestrator.note'));
  // The worker's own time after its LLM call is a critical segment of the worker.
  const w = trace.spans.find((s) => s.name === 'worker.research');
  assert.ok(w.criticalSegments.some(([a, b]) => a === 60000 && b === 95000), JSON.stringify(w.criticalSegments));
});

test('hostile shapes: a 20,000-deep chain, a parent cycle, a missing parent, huge integers', () => {
  const chain = [span('root', null, 0, 20000)];
  for (let i = 1; i < 20000; ++i) chain.push(span(`s${i}`, chain[i - 1], i, 20000));
  const [deep] = tracesFrom(data(chain));
  assert.equal(deep.spans.length, 20000);
  assert.equal(deep.spans[19999].depth, 19999);
  assert.ok(deep.spans[19999].critical);

  const a = span('a', null, 0, 10, {id: 'aaaaaaaaaaaaaaaa'});
  const b = span('b', null, 1, 5, {id: 'bbbbbbbbbbbbbbbb'});
  a.parentSpanId = b.spanId;
  b.parentSpanId = a.spanId;
  const orphan = span('orphan', null, 2, 3);
  orphan.parentSpanId = 'cccccccccccccccc';
  const [odd] = tracesFrom(data([a, b, orphan]));
  assert.equal(odd.spans.length, 3);
  assert.ok(odd.spans.find((s) => s.name === 'orphan').orphan);
  assert.deepEqual(anyValue({intValue: '18446744073709551615'}), '18446744073709551615');
  assert.equal(anyValue({intValue: '42'}), 42);
});

test('agent summary: retries, redeliveries, calls by kind, tokens counted once', () => {
  const task = span('multiagent.task.workflow', null, 0, 1000, {attrs: {
    'multiagent.task.id': 'task-1', 'multiagent.task.name': 'Ship', 'multiagent.task.priority': 8,
    // An aggregate on the task span must not be added to the per-call sums.
    'gen_ai.usage.input_tokens': 999999, 'llm.tokens.input': 999999}});
  const dispatch = span('orchestrator.dispatch', task, 10, 900, {attrs: {'multiagent.subtask.name': 'design', 'multiagent.subtask.capability': 'code_generation'},
    events: [{timeUnixNano: String(T0 + 300000n), name: 'attempt_failed', attributes: []}]});
  const plan = span('orchestrator.plan', task, 1, 9);
  const planLlm = span('llm.openai.gpt', plan, 2, 8, {attrs: {'gen_ai.request.model': 'gpt', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5}});
  const send1 = span('protocol.send', dispatch, 11, 12);
  const w1 = span('worker.code_generation', send1, 13, 300, {status: {code: 2}, attrs: {'multiagent.worker.id': 'coder-1', 'multiagent.subtask.name': 'design', 'multiagent.subtask.attempt': 1}});
  const l1 = span('llm.openai.gpt', w1, 14, 200, {status: {code: 2}, attrs: {'gen_ai.request.model': 'gpt', 'gen_ai.response.model': 'gpt-2025', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 0, 'llm.tokens.input': 100, 'gen_ai.usage.cost': 0.25}});
  const send2 = span('protocol.send', dispatch, 310, 311);
  const w2 = span('worker.code_generation', send2, 312, 600, {attrs: {'multiagent.worker.id': 'coder-2', 'multiagent.subtask.name': 'design', 'multiagent.subtask.attempt': 2}});
  const l2 = span('llm.openai.gpt', w2, 313, 500, {attrs: {'gen_ai.response.model': 'gpt-2025', 'llm.tokens.input': 7, 'llm.tokens.output': 3, 'gen_ai.usage.cost': 0.5}});
  const tool = span('tool.http_get', w2, 501, 510, {attrs: {'tool.name': 'http_get'}});
  const store = span('storage.put', w2, 511, 520);
  // The same attempt delivered again (a redelivery): a third worker span with attempt 2.
  const w3 = span('worker.code_generation', send2, 605, 700, {attrs: {'multiagent.worker.id': 'coder-2', 'multiagent.subtask.name': 'design', 'multiagent.subtask.attempt': 2}});
  const [trace] = tracesFrom(data([task, plan, dispatch, planLlm, send1, w1, l1, send2, w2, l2, tool, store, w3]));
  const [summary] = summarizeAgents(trace);
  assert.equal(summary.taskName, 'Ship');
  assert.equal(summary.priority, 8);
  assert.equal(summary.subtasks.length, 1);
  const design = summary.subtasks[0];
  assert.deepEqual(design.workers, ['coder-1', 'coder-2']);
  assert.equal(design.runs.length, 3);
  assert.equal(design.attempts, 2);
  assert.equal(design.retries, 1);
  assert.equal(design.redeliveries, 1);
  assert.equal(design.failedAttempts, 1);
  assert.equal(design.ok, true);
  assert.equal(summary.totals.llmCalls, 3);
  assert.equal(summary.totals.inputTokens, 10 + 100 + 7);  // gen_ai.* first, llm.tokens.* as fallback; the task aggregate ignored
  assert.equal(summary.totals.outputTokens, 5 + 0 + 3);
  assert.equal(summary.totals.cost, 0.75);
  assert.equal(summary.totals.toolCalls, 1);
  assert.equal(summary.totals.storageOps, 1);
  assert.equal(summary.llm.find((c) => c.span.spanId === planLlm.spanId).worker, null);  // the planner's call
  assert.equal(summary.llm.find((c) => c.span.spanId === l2.spanId).worker, 'coder-2');
  assert.equal(summary.llm.find((c) => c.span.spanId === l1.spanId).model, 'gpt-2025');
  assert.equal(summary.tools[0].worker, 'coder-2');
});

test('a task started inside another task is summarized on its own, not counted twice', () => {
  const outer = span('multiagent.task.workflow', null, 0, 100);
  const w = span('worker.research', outer, 1, 90, {attrs: {'multiagent.subtask.name': 'r'}});
  const inner = span('multiagent.task.research', w, 2, 80);
  const iw = span('worker.research', inner, 3, 70, {attrs: {'multiagent.subtask.name': 'x'}});
  const ll = span('llm.offline.echo', iw, 4, 60, {attrs: {'gen_ai.usage.input_tokens': 5}});
  const [trace] = tracesFrom(data([outer, w, inner, iw, ll]));
  const summaries = summarizeAgents(trace);
  assert.equal(summaries.length, 2);
  assert.equal(summaries[0].totals.llmCalls + summaries[1].totals.llmCalls, 1);
  assert.equal(summaries[0].totals.inputTokens + summaries[1].totals.inputTokens, 5);
});

test('redelivery seen only through the transport: a delivery count, or the orchestrator event', () => {
  // Redis redelivered the attempt after its first holder died without exporting a span: one
  // worker span says delivery_count 2, the dispatch span has a `redelivered` event.
  const task = span('multiagent.task.research', null, 0, 100);
  const dispatch = span('orchestrator.dispatch', task, 1, 99, {attrs: {'multiagent.subtask.name': 'r'},
    events: [{timeUnixNano: String(T0 + 90000n), name: 'redelivered', attributes: []}]});
  const send = span('protocol.send', dispatch, 2, 3);
  const w = span('worker.research', send, 50, 90, {attrs: {'multiagent.subtask.name': 'r', 'multiagent.subtask.attempt': 1,
    'messaging.redis.message.delivery_count': 2}});
  const [summary] = summarizeAgents(tracesFrom(data([task, dispatch, send, w]))[0]);
  assert.equal(summary.subtasks[0].redeliveries, 1);  // both signals describe the same redelivery
  assert.equal(summary.subtasks[0].retries, 0);
  assert.equal(summary.subtasks[0].runs[0].deliveryCount, 2);
  assert.equal(summary.totals.redeliveries, 1);
});
