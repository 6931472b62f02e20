// The web UI in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core): a real
// `minion serve` on free ports, real `minion run` tasks exporting OTLP/HTTP to it (one of them
// failing inside its worker), then the seed's queries typed into the search form, the waterfall
// of a 12-span task (7 plus the coder's tool loop) checked row by row against the API, the ERROR spans marked, the agent view's
// numbers checked against the spans, a 1,002-span trace rendered (timed and reported), keyboard
// navigation, a deep link opened directly, and screenshots saved as artifacts.
//
// Environment: MINION_BIN (the minion program), MINION_SOURCE_DIR, ARTIFACT_DIR (screenshots),
// CHROMIUM (default /usr/bin/chromium). Exit status 0 only when every check passed.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';

const source = process.env.MINION_SOURCE_DIR ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const minion = process.env.MINION_BIN;
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = process.env.ARTIFACT_DIR ?? path.resolve('ui_browser_artifacts');
assert.ok(minion && fs.existsSync(minion), `MINION_BIN must name the built minion program (got ${minion})`);
assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} is missing: install Debian's chromium (scripts/bootstrap)`);
const require = createRequire(path.join(source, 'tests/interop/node/package.json'));
let puppeteer;
try {
  puppeteer = require('puppeteer-core');
} catch (e) {
  throw new Error(`puppeteer-core is not installed in tests/interop/node (run scripts/bootstrap): ${e.message}`);
}
fs.mkdirSync(artifacts, {recursive: true});
fs.rmSync(path.join(artifacts, 'failure.png'), {force: true});
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'minion-ui-test-'));
const children = new Set();
let browser = null;

function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(work, {recursive: true, force: true});
}

function log(...args) {
  console.log('[ui_browser_test]', ...args);
}

// Starts `minion serve` and resolves with its URLs once it printed them.
function startServe() {
  const child = spawn(minion, ['serve', '--listen', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--otlp-grpc', 'off',
    '--db', path.join(work, 'traces.db')], {stdio: ['ignore', 'pipe', 'pipe']});
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.stderr.on('data', (d) => process.stderr.write(`[serve] ${d}`));
  return new Promise((resolve, reject) => {
    let out = '';
    const urls = {};
    const timer = setTimeout(() => reject(new Error(`minion serve printed no addresses in 30 s; stdout: ${out}`)), 30000);
    child.on('exit', (code) => reject(new Error(`minion serve exited with ${code}; stdout: ${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      for (const m of out.matchAll(/minion serve: (query\+ui|otlp-http) (http:\/\/\S+)/g)) urls[m[1]] = m[2];
      if (urls['query+ui'] && urls['otlp-http']) {
        clearTimeout(timer);
        resolve({child, base: urls['query+ui'], otlp: urls['otlp-http']});
      }
    });
  });
}

// Runs `minion run` exporting to the server; resolves with its --json result.
function runTask(otlp, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(minion, ['run', ...args, '--json', '--no-trace-tree', '--exporter', 'otlp-http'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        MINION_LLM_PROVIDER: 'offline', SERVICE_NAME: 'minion-multiagent', ...env},
    });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      try {
        resolve({code, result: JSON.parse(out)});
      } catch {
        reject(new Error(`minion run ${args.join(' ')} exited ${code} without JSON; stderr: ${err}`));
      }
    });
  });
}

async function getJson(url) {
  const response = await fetch(url);
  return {status: response.status, body: await response.json()};
}

// The server commits a batch before answering the exporter, and the exporter flushed before
// `minion run` exited, so the trace is normally there at once; poll briefly in case ingest is
// asynchronous behind the answer.
async function traceSpans(base, traceId, expectedCount) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const {status, body} = await getJson(`${base}/api/v3/traces/${traceId}`);
    const spans = [];
    if (status === 200) {
      for (const rs of body.result.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push(s);
      if (expectedCount === undefined || spans.length >= expectedCount) return spans;
    }
    if (Date.now() > deadline) throw new Error(`trace ${traceId}: ${spans.length} spans stored after 20 s (status ${status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const attr = (span, key) => {
  const kv = (span.attributes ?? []).find((a) => a.key === key);
  if (!kv) return undefined;
  const v = kv.value;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue);
};

async function main() {
  const serve = await startServe();
  log(`serve at ${serve.base}, OTLP/HTTP at ${serve.otlp}`);

  // Real tasks. The failing one: the research worker's LLM provider points at a port where
  // nothing listens, so its model call fails, the subtask is retried once and fails again.
  const bigWorkflow = path.join(work, 'big_workflow.yaml');
  const caps = ['research', 'code_generation', 'data_analysis', 'content_creation', 'technical_writing'];
  fs.writeFileSync(bigWorkflow, 'subtasks:\n' + Array.from({length: 200}, (_, i) =>
    `  - name: step-${String(i).padStart(3, '0')}\n    capability: ${caps[i % caps.length]}\n    description: part ${i}\n`).join(''));
  const xssName = '<img src=x onerror="window.__xss=1">';
  const runs = {
    codegen: await runTask(serve.otlp, ['--name', 'Generate REST API', '--type', 'code_generation', '--priority', '8']),
    failing: await runTask(serve.otlp, ['--name', 'Broken research', '--type', 'research', '--priority', '9', '--max-attempts', '2'],
      {MINION_LLM_PROVIDER: 'openai', MINION_LLM_BASE_URL: 'http://127.0.0.1:9/v1', MINION_LLM_API_KEY: 'test-key',
        MINION_LLM_MAX_RETRIES: '0', MINION_LLM_TIMEOUT_MS: '5000'}),
    workflow: await runTask(serve.otlp, ['--name', 'Ship feature', '--type', 'workflow', '--workflow', path.join(source, 'examples/workflow.yaml')]),
    // --no-tools: this trace is about size (1,002 spans), not about the coder's tool loop.
    big: await runTask(serve.otlp, ['--name', 'Big workflow', '--type', 'workflow', '--workflow', bigWorkflow, '--timeout-ms', '60000', '--no-tools']),
    xss: await runTask(serve.otlp, ['--name', xssName, '--type', 'research', '--priority', '3']),
  };
  assert.equal(runs.codegen.code, 0);
  assert.equal(runs.failing.code, 1, 'the failing task exits 1');
  assert.equal(runs.failing.result.status, 'failed');
  assert.equal(runs.workflow.code, 0);
  assert.equal(runs.big.code, 0);
  assert.equal(runs.xss.code, 0);
  const id = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.result.trace_id]));
  const spans = {
    codegen: await traceSpans(serve.base, id.codegen, 12),
    failing: await traceSpans(serve.base, id.failing),
    workflow: await traceSpans(serve.base, id.workflow),
    big: await traceSpans(serve.base, id.big, 1002),
    xss: await traceSpans(serve.base, id.xss),
  };
  // 7 spans of a task plus the coder's tool loop (docs/tools.md): two more llm.* rounds,
  // tool.write_file, tool.storage_insert and its storage.insert.
  assert.equal(spans.codegen.length, 12);
  assert.equal(spans.big.length, 1002);
  log('trace ids', id);

  // The embedded UI as minion serve answers it: deep links get index.html, files their type,
  // the headers that keep the page to its own origin, and 304 for a cached copy.
  const deep = await fetch(`${serve.base}/trace/${id.codegen}`);
  assert.equal(deep.status, 200);
  assert.match(deep.headers.get('content-type'), /^text\/html/);
  assert.match(await deep.text(), /<script type="module" src="\/app.js">/);
  assert.match(deep.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(deep.headers.get('x-content-type-options'), 'nosniff');
  const js = await fetch(`${serve.base}/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal(fs.readFileSync(path.join(source, 'src/ui/assets/app.js'), 'utf8'), await js.text());
  const etag = js.headers.get('etag');
  assert.match(etag ?? '', /^"[0-9a-f]+"$/);
  assert.equal((await fetch(`${serve.base}/app.js`, {headers: {'If-None-Match': etag}})).status, 304);

  const profile = fs.mkdtempSync(path.join(work, 'chromium-profile-'));
  browser = await puppeteer.launch({executablePath: chromiumPath, headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
    defaultViewport: {width: 1400, height: 900}});
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // A search without matches is Jaeger's 404 "No traces found", which the page shows as an
    // empty list; Chromium still logs the status. Every other error counts.
    const expected404 = m.text().includes('404') && /\/api\/v3\/traces\?/.test(m.location()?.url ?? '');
    if (m.type() === 'error' && !expected404) pageErrors.push(`${m.text()} (${m.location()?.url})`);
  });
  page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()}`));
  page.setDefaultTimeout(30000);

  // --- Search through the form -----------------------------------------------------------
  await page.goto(`${serve.base}/`, {waitUntil: 'networkidle0'});
  assert.equal(new URL(page.url()).pathname, '/search');
  await page.waitForFunction(() => [...document.querySelectorAll('select[name=service] option')].some((o) => o.value === 'minion-multiagent'));

  async function search(fields, screenshot) {
    await page.select('select[name=service]', fields.service ?? 'minion-multiagent');
    for (const name of ['operation', 'tags', 'minDuration', 'maxDuration']) {
      await page.$eval(`[name=${name}]`, (el) => { el.value = ''; });
      if (fields[name]) await page.type(`[name=${name}]`, fields[name]);
    }
    await page.$eval('.results', (el) => { el.dataset.stale = '1'; });
    await page.click('.search-form button.primary');
    await page.waitForSelector('.results[data-state=done]:not([data-stale]), .results[data-state=error]:not([data-stale])');
    const state = await page.$eval('.results:not([data-stale])', (el) => el.dataset.state);
    assert.equal(state, 'done', `search ${JSON.stringify(fields)} failed: ${await page.$eval('.results', (el) => el.textContent)}`);
    if (screenshot) await page.screenshot({path: path.join(artifacts, screenshot)});
    return new Set(await page.$$eval('a.result-link', (links) => links.map((a) => a.dataset.traceId)));
  }
  const same = (actual, expected, what) => assert.deepEqual([...actual].sort(), [...expected].sort(), what);
  const all = Object.values(id);
  const ranOn = (workerId) => Object.keys(runs).filter((k) => runs[k].result.subtasks.some((s) => s.worker_id === workerId)).map((k) => id[k]);

  same(await search({operation: 'multiagent.task.code_generation'}), [id.codegen], 'seed query 1: service + operation');
  same(await search({operation: 'multiagent.task.*', minDuration: '10s'}), [], 'seed query 2: minDuration 10s (our tasks take well under a second)');
  same(await search({operation: 'multiagent.task.*', minDuration: '1us'}), all, 'seed query 2 with 1us: every task');
  same(await search({operation: 'multiagent.task.*', tags: 'error=true'}, 'search-failed-tasks.png'), [id.failing], 'seed query 3: error=true');
  same(await search({tags: 'multiagent.worker.id=worker-789'}), [], 'seed query 4 as written: no worker is called worker-789 here');
  same(await search({tags: 'multiagent.worker.id=coder-1'}), ranOn('coder-1'), 'seed query 4 with a worker we have');
  same(await search({tags: 'multiagent.task.priority>7'}, 'search-priority.png'), [id.codegen, id.failing], 'seed query 5: priority>7');
  // The results list: span counts, error badge, services.
  same(await search({operation: 'multiagent.task.*'}, 'search-all.png'), all, 'all tasks');
  const rowOf = async (traceId) => page.$eval(`a.result-link[data-trace-id="${traceId}"]`, (a) => ({
    spans: a.querySelector('.span-count').textContent, error: a.querySelector('.error-badge')?.textContent ?? null,
    services: a.querySelector('.services').textContent}));
  const failingErrors = spans.failing.filter((s) => s.status?.code === 2).length;
  assert.ok(failingErrors >= 3, `the failing trace has ERROR spans (${failingErrors})`);
  assert.deepEqual(await rowOf(id.failing), {spans: `${spans.failing.length} spans`, error: `${failingErrors} errors`, services: `minion-multiagent (${spans.failing.length})`});
  assert.deepEqual(await rowOf(id.codegen), {spans: '12 spans', error: null, services: 'minion-multiagent (12)'});

  // --- The 12-span waterfall --------------------------------------------------------------
  await page.$eval('.results', (el) => { el.dataset.stale = '1'; });
  await page.click(`a.result-link[data-trace-id="${id.codegen}"]`);
  await page.waitForSelector('.waterfall[data-span-count]');
  assert.equal(new URL(page.url()).pathname, `/trace/${id.codegen}`);
  const rows = await page.$$eval('.waterfall .row', (rs) => rs.map((r) => ({
    name: r.dataset.name, depth: Number(r.dataset.depth), spanId: r.dataset.spanId, parentId: r.dataset.parentId,
    error: r.classList.contains('error'), visible: !r.hidden, level: r.getAttribute('aria-level')})));
  assert.deepEqual(rows.map((r) => [r.depth, r.name]), [
    [0, 'multiagent.task.code_generation'],
    [1, 'orchestrator.plan'],
    [1, 'orchestrator.dispatch'],
    [2, 'protocol.send'],
    [3, 'worker.code_generation'],
    [4, rows[5].name],
    [4, 'tool.write_file'],
    [4, rows[7].name],
    [4, 'tool.storage_insert'],
    [5, 'storage.insert'],
    [4, rows[10].name],
    [4, 'protocol.send'],
  ], 'the spans of a task, nested as docs/architecture.md and docs/tools.md draw them');
  for (const i of [5, 7, 10]) assert.match(rows[i].name, /^llm\./);
  const apiParent = new Map(spans.codegen.map((s) => [s.spanId, s.parentSpanId ?? '']));
  for (const r of rows) {
    assert.equal(r.parentId, apiParent.get(r.spanId), `row ${r.name}: parent as the API says`);
    assert.equal(r.level, String(r.depth + 1));
    assert.ok(r.visible && !r.error);
  }
  // Bars to scale: the root bar spans the whole timeline, each child starts inside its parent.
  const bars = await page.$$eval('.waterfall .row .bar', (bs) => bs.map((b) => {
    const r = b.getBoundingClientRect();
    const cell = b.parentElement.getBoundingClientRect();
    return {left: (r.left - cell.left) / cell.width, width: r.width / cell.width};
  }));
  assert.ok(bars[0].left < 0.01 && bars[0].width > 0.97, `root bar covers the trace: ${JSON.stringify(bars[0])}`);
  const startOf = new Map(spans.codegen.map((s) => [s.spanId, BigInt(s.startTimeUnixNano)]));
  const t0 = startOf.get(rows[0].spanId);
  const total = Number(BigInt(spans.codegen.find((s) => s.spanId === rows[0].spanId).endTimeUnixNano) - t0);
  rows.forEach((r, i) => {
    const expected = Number(startOf.get(r.spanId) - t0) / total;
    assert.ok(Math.abs(bars[i].left - expected) < 0.01, `bar ${r.name} starts at ${bars[i].left}, span at ${expected}`);
  });
  // Critical path marked; span details from the keyboard.
  assert.ok(await page.$eval('.waterfall .row:first-child', (r) => r.classList.contains('critical')));
  await page.focus('.waterfall .row:first-child');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await page.$eval('.span-details h2', (e) => e.textContent), 'orchestrator.dispatch');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.name), 'orchestrator.dispatch');
  await page.keyboard.press('ArrowLeft');  // collapse the dispatch subtree
  assert.equal(await page.$$eval('.waterfall .row:not([hidden])', (rs) => rs.length), 3);
  await page.keyboard.press('ArrowRight');  // expand it again
  assert.equal(await page.$$eval('.waterfall .row:not([hidden])', (rs) => rs.length), 12);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  assert.equal(await page.$eval('.span-details h2', (e) => e.textContent), 'worker.code_generation');
  const details = await page.$eval('.span-details', (e) => e.textContent);
  for (const text of ['multiagent.worker.id', 'coder-1', 'CONSUMER', 'service.name', 'minion-multiagent']) assert.ok(details.includes(text), `details show ${text}`);
  await page.screenshot({path: path.join(artifacts, 'trace-codegen.png')});

  // --- The failing trace: ERROR spans marked, opened by a deep link ----------------------
  await page.goto(`${serve.base}/trace/${id.failing}`, {waitUntil: 'networkidle0'});
  await page.waitForSelector('.waterfall[data-span-count]');
  const errorRows = await page.$$eval('.waterfall .row.error', (rs) => rs.map((r) => r.dataset.spanId));
  same(errorRows, spans.failing.filter((s) => s.status?.code === 2).map((s) => s.spanId), 'exactly the ERROR spans are marked');
  const marked = await page.$eval('.waterfall .row.error', (r) => ({
    icon: r.querySelector('.err-icon')?.getAttribute('aria-label'), bar: getComputedStyle(r.querySelector('.bar')).backgroundColor}));
  assert.deepEqual(marked, {icon: 'error', bar: 'rgb(198, 40, 40)'});
  await page.click('.waterfall .row.error[data-name^="worker."] .op');
  assert.match(await page.$eval('#detail-status', (e) => e.textContent), /^ERROR: UNAVAILABLE/);
  await page.screenshot({path: path.join(artifacts, 'trace-failing.png')});

  // --- Agent view: numbers against the spans ---------------------------------------------
  async function agentTotals(traceId, screenshot) {
    await page.goto(`${serve.base}/trace/${traceId}?view=agent`, {waitUntil: 'networkidle0'});
    await page.waitForSelector('.agent-task');
    if (screenshot) await page.screenshot({path: path.join(artifacts, screenshot), fullPage: true});
    return page.$$eval('.totals .total', (ts) => Object.fromEntries(ts.map((t) => [t.dataset.total, t.querySelector('dd').textContent])));
  }
  function expectedTotals(list) {
    const llm = list.filter((s) => s.name.startsWith('llm.'));
    const workers = list.filter((s) => s.name.startsWith('worker.'));
    const sum = (key) => llm.reduce((n, s) => n + (attr(s, key) ?? 0), 0);
    const subtasks = new Set(workers.map((s) => attr(s, 'multiagent.subtask.name')));
    const attemptsBySubtask = new Map();
    for (const w of workers) {
      const k = attr(w, 'multiagent.subtask.name');
      attemptsBySubtask.set(k, (attemptsBySubtask.get(k) ?? new Set()).add(attr(w, 'multiagent.subtask.attempt')));
    }
    const retries = [...attemptsBySubtask.values()].reduce((n, set) => n + set.size - 1, 0);
    const fmt = (n) => n.toLocaleString('en-US');
    return {'llm-calls': fmt(llm.length), 'input-tokens': fmt(sum('gen_ai.usage.input_tokens')), 'output-tokens': fmt(sum('gen_ai.usage.output_tokens')),
      'worker-runs': fmt(workers.length), subtasks: fmt(subtasks.size), retries: fmt(retries),
      'tool-calls': fmt(list.filter((s) => s.name.startsWith('tool.')).length),
      'storage-ops': fmt(list.filter((s) => s.name.startsWith('storage.')).length),
      errors: fmt(list.filter((s) => s.status?.code === 2).length)};
  }
  const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  for (const [key, shot] of [['workflow', 'agent-workflow.png'], ['failing', 'agent-failing.png'], ['codegen', null]]) {
    const expected = expectedTotals(spans[key]);
    const shown = await agentTotals(id[key], shot);
    assert.deepEqual(pick(shown, Object.keys(expected)), expected, `agent view totals of the ${key} trace`);
    log(`agent view ${key}:`, JSON.stringify(pick(shown, Object.keys(expected))));
  }
  // The workflow ran 4 subtasks on the built-in workers; every LLM call has non-zero tokens.
  assert.equal(expectedTotals(spans.workflow).subtasks, '4');
  assert.notEqual(expectedTotals(spans.workflow)['input-tokens'], '0');
  assert.equal(expectedTotals(spans.failing).retries, '1');
  // The workers listed per subtask are the ones the run reported.
  await agentTotals(id.workflow);
  const workerCells = await page.$$eval('#subtasks-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.subtask, tr.querySelector('td.worker').textContent]));
  same(workerCells.map((c) => c.join(' ')), runs.workflow.result.subtasks.map((s) => `${s.name} ${s.worker_id}`), 'subtask -> worker');

  // --- Strings from the API are text, never markup ----------------------------------------
  await agentTotals(id.xss);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'a task name with markup did not run');
  assert.ok((await page.$eval('.agent-task h2', (e) => e.textContent)).includes(xssName));
  assert.equal(await page.$$eval('.agent-task img', (imgs) => imgs.length), 0);

  // --- 1,002 spans --------------------------------------------------------------------------
  await page.goto(`${serve.base}/search?service=minion-multiagent&operation=multiagent.task.workflow&run=1`, {waitUntil: 'networkidle0'});
  await page.waitForSelector('.results[data-state=done]');
  const started = Date.now();
  await page.click(`a.result-link[data-trace-id="${id.big}"]`);
  await page.waitForSelector('.waterfall[data-span-count]');
  const clickToWaterfall = Date.now() - started;
  const big = await page.$eval('.trace-body', (b) => ({rows: b.querySelectorAll('.waterfall .row').length,
    loadMs: b.dataset.loadMs, modelMs: b.dataset.modelMs, renderMs: b.dataset.renderMs}));
  assert.equal(big.rows, 1002);
  // Still responsive: a keyboard action right after the render is handled.
  await page.focus('.waterfall .row:first-child');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.$$eval('.waterfall .row:not([hidden])', (rs) => rs.length), 1);
  await page.keyboard.press('ArrowRight');
  await page.screenshot({path: path.join(artifacts, 'trace-1002-spans.png')});
  log(`1,002-span trace: fetch+JSON ${big.loadMs} ms, model ${big.modelMs} ms, waterfall DOM ${big.renderMs} ms; ` +
    `click to waterfall in the DOM, as puppeteer saw it, ${clickToWaterfall} ms`);

  assert.deepEqual(pageErrors, [], 'no script errors or failed requests in the page');
  log(`screenshots in ${artifacts}`);
}

main().then(async () => {
  if (browser) await browser.close();
  cleanup();
  log('PASS');
}, async (e) => {
  console.error('[ui_browser_test] FAIL:', e.stack ?? e);
  try {
    if (browser) {
      const pages = await browser.pages();
      if (pages.length) await pages[pages.length - 1].screenshot({path: path.join(artifacts, 'failure.png')});
      await browser.close();
    }
  } catch {
    // The failure above is what matters.
  }
  cleanup();
  process.exit(1);
});
