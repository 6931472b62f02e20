#!/usr/bin/env node
// Prints the traces in OTLP/JSON lines files (what `--exporter file` writes) as trees, each span
// tagged with the process that produced it (service.name, host.name, process.pid), so a trace
// assembled from several processes shows who ran what. Usage: node scripts/trace_tree.js FILE...
'use strict';
const fs = require('fs');

const spans = new Map();  // spanId -> span
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) continue;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let batch;
    try { batch = JSON.parse(line); } catch (e) { continue; }
    for (const rs of batch.resourceSpans || []) {
      const attrs = {};
      for (const a of (rs.resource && rs.resource.attributes) || []) {
        const v = a.value || {};
        attrs[a.key] = v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
      }
      const proc = `${attrs['service.name']}@${attrs['host.name']} pid ${attrs['process.pid']}`;
      for (const ss of rs.scopeSpans || []) {
        for (const s of ss.spans || []) {
          spans.set(s.spanId, {...s, proc,
            ms: (Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6).toFixed(2)});
        }
      }
    }
  }
}
const children = new Map();
const roots = [];
for (const s of spans.values()) {
  if (s.parentSpanId && spans.has(s.parentSpanId)) {
    if (!children.has(s.parentSpanId)) children.set(s.parentSpanId, []);
    children.get(s.parentSpanId).push(s);
  } else {
    roots.push(s);
  }
}
const byStart = (a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
function print(s, prefix, last, top) {
  const branch = top ? '' : (last ? '└─ ' : '├─ ');
  const attr = (s.attributes || []).find((a) => a.key === 'messaging.redis.message.delivery_count');
  const extra = attr ? ` (delivery ${attr.value.intValue})` : '';
  console.log(`${prefix}${branch}${s.name} ${s.ms}ms  [${s.proc}]${extra}`);
  const kids = (children.get(s.spanId) || []).sort(byStart);
  kids.forEach((k, i) => print(k, prefix + (top ? '' : (last ? '   ' : '│  ')), i === kids.length - 1, false));
}
for (const r of roots.sort(byStart)) {
  console.log(`trace ${r.traceId}`);
  print(r, '', true, true);
}
