#!/usr/bin/env node
// Development server for the web UI (not a test, not shipped): serves src/ui/assets/ from disk,
// so an edit shows on reload without rebuilding minion, and answers the query API either by
// forwarding to a running `minion serve` (--proxy) or from OTLP JSON-lines files written by
// `minion run --exporter file` (--traces), with a small in-memory subset of the v3 API
// (services, operations, search by service/operation pattern/attributes/duration, trace by id).
//
//   MINION_FILE_EXPORTER_PATH=/tmp/t.jsonl build/apps/minion/minion run --name x --type research --exporter file
//   node src/ui/dev_server.mjs --traces /tmp/t.jsonl [--port 16687]   (port 0: any free port)
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:16687 minion run ... --exporter otlp-http-json
//   node src/ui/dev_server.mjs --proxy http://127.0.0.1:16686
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = path.join(here, 'assets');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(opt('--port', '16687'));
const proxy = opt('--proxy', '');
const traceFiles = args.flatMap((a, i) => (a === '--traces' ? [args[i + 1]] : []));

const TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8'};

// spans: [{resource, scope, span}] flattened from every ExportTraceServiceRequest line.
const spans = [];
for (const file of traceFiles) {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    for (const rs of request.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({resource: rs.resource, scope: ss.scope, span});
    }
  }
}
console.log(`dev server: ${spans.length} spans from ${traceFiles.length} file(s)`);

const anyText = (v) => v?.stringValue ?? v?.intValue ?? v?.doubleValue ?? v?.boolValue;
const serviceOf = (r) => String(anyText(r.resource?.attributes?.find((a) => a.key === 'service.name')?.value) ?? 'unknown_service');
const durationNs = (s) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));

function parseDuration(text) {
  const m = /^([\d.]+)\s*(ns|us|µs|ms|s|m|h)$/.exec(text ?? '');
  if (!m) return null;
  return Number(m[1]) * {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}[m[2]];
}

function parseConditions(text) {
  const out = [];
  for (const m of (text ?? '').matchAll(/([^\s=<>]+)\s*(>=|<=|=|>|<)\s*("[^"]*"|\S+)/g)) {
    out.push({key: m[1], op: m[2], value: m[3].replace(/^"|"$/g, '')});
  }
  return out;
}

function matches(rec, q) {
  const s = rec.span;
  if (q.service && serviceOf(rec) !== q.service) return false;
  if (q.operation) {
    const re = new RegExp('^' + q.operation.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    if (!re.test(s.name)) return false;
  }
  const d = durationNs(s);
  if (q.min !== null && d < q.min) return false;
  if (q.max !== null && d > q.max) return false;
  const attrs = [...(s.attributes ?? []), ...(rec.resource?.attributes ?? [])];
  for (const c of q.conditions) {
    if (c.key === 'error' && c.value === 'true' && s.status?.code === 2) continue;
    const found = attrs.filter((a) => a.key === c.key).map((a) => anyText(a.value));
    const ok = found.some((v) => {
      if (c.op === '=') return String(v) === c.value;
      const n = Number(v);
      const want = Number(c.value);
      return Number.isFinite(n) && ({'>': n > want, '>=': n >= want, '<': n < want, '<=': n <= want})[c.op];
    });
    if (!ok) return false;
  }
  return true;
}

function tracesData(traceIds) {
  const groups = new Map();
  for (const rec of spans) {
    if (!traceIds.has(rec.span.traceId)) continue;
    const key = JSON.stringify([rec.resource, rec.scope]);
    if (!groups.has(key)) groups.set(key, {resource: rec.resource, scope: rec.scope, spans: []});
    groups.get(key).spans.push(rec.span);
  }
  return {resourceSpans: [...groups.values()].map((g) => ({resource: g.resource, scopeSpans: [{scope: g.scope, spans: g.spans}]}))};
}

function api(url, res) {
  const send = (status, body) => {
    res.writeHead(status, {'Content-Type': 'application/json'});
    res.end(JSON.stringify(body));
  };
  const notFound = () => send(404, {error: {httpCode: 404, message: 'No traces found'}});
  const p = url.pathname;
  if (p === '/api/v3/services') return send(200, {services: [...new Set(spans.map(serviceOf))].sort()});
  if (p === '/api/v3/operations') {
    const service = url.searchParams.get('service');
    if (!service) return send(400, {error: {httpCode: 400, message: 'service is required'}});
    const names = new Set(spans.filter((r) => serviceOf(r) === service).map((r) => r.span.name));
    return send(200, {operations: [...names].sort().map((name) => ({name, spanKind: ''}))});
  }
  const byId = /^\/api\/v3\/traces\/([0-9a-f]{32})$/.exec(p);
  if (byId) return spans.some((r) => r.span.traceId === byId[1]) ? send(200, {result: tracesData(new Set([byId[1]]))}) : notFound();
  if (p === '/api/v3/traces') {
    const g = (k) => url.searchParams.get(`query.${k}`) ?? '';
    const q = {service: g('service_name'), operation: g('operation_name'), conditions: parseConditions(g('attributes')),
      min: parseDuration(g('duration_min')), max: parseDuration(g('duration_max'))};
    const startMin = g('start_time_min') ? BigInt(Date.parse(g('start_time_min'))) * 1000000n : null;
    const hits = new Map();
    for (const rec of spans) {
      if (startMin !== null && BigInt(rec.span.startTimeUnixNano) < startMin) continue;
      if (matches(rec, q)) hits.set(rec.span.traceId, BigInt(rec.span.startTimeUnixNano));
    }
    const limit = Number(g('num_traces') || 20);
    const ids = [...hits].sort((a, b) => (a[1] < b[1] ? 1 : -1)).slice(0, limit).map(([id]) => id);
    return ids.length ? send(200, {result: tracesData(new Set(ids))}) : notFound();
  }
  return send(404, {error: {httpCode: 404, message: `no such endpoint ${p}`}});
}

function ingest(req, res) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    try {
      const request = JSON.parse(body);
      for (const rs of request.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({resource: rs.resource, scope: ss.scope, span});
      }
      res.writeHead(200, {'Content-Type': 'application/json'});
      res.end('{}');
    } catch (e) {
      res.writeHead(400, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({code: 3, message: String(e.message)}));
    }
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  // OTLP/HTTP JSON only (`minion run --exporter otlp-http-json`), kept in memory.
  if (url.pathname === '/v1/traces' && req.method === 'POST' && !proxy) return ingest(req, res);
  if (url.pathname.startsWith('/api/')) {
    if (!proxy) return api(url, res);
    const upstream = http.request(new URL(req.url, proxy), {method: req.method, headers: req.headers}, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    return req.pipe(upstream);
  }
  let file = path.normalize(path.join(assets, url.pathname));
  if (!file.startsWith(assets + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    file = path.join(assets, 'index.html');  // the SPA rule, as minion serve applies it
  }
  res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store'});
  fs.createReadStream(file).pipe(res);
});
server.listen(port, '127.0.0.1', () => {
  const address = `http://127.0.0.1:${server.address().port}`;
  console.log(`dev server: ${address}/ (OTLP/HTTP JSON at ${address}/v1/traces)`);
});
