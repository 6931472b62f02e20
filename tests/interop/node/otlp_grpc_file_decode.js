// Checks a minion file-exporter output (OTLP/JSON lines) with the OpenTelemetry project's
// generated protobuf code from @opentelemetry/otlp-transformer: each line is JSON.parse'd,
// loaded with ExportTraceServiceRequest.fromObject, encoded to protobuf, decoded again and
// rendered back with toObject. The line passes when nothing was lost on the way — i.e. every
// key was one the OpenTelemetry schema knows, with the right value type.
//
// OTLP/JSON differs from protobufjs's JSON mapping in one documented way: trace and span ids
// are hex, not base64. They are converted before fromObject and back afterwards. Span.flags and
// Link.flags are newer than the pinned generated code, so they are set aside and reported.
//
// Usage: node otlp_grpc_file_decode.js FILE
//   prints one JSON line per input line: {"line":i,"ok":bool,"diff":"..."?,"request":{..},
//   "flags":[{"flags":n,"links":[..]}]} and exits 0 (the test judges), 2 on setup errors.
'use strict';

const fs = require('fs');

function fail(msg) {
  process.stderr.write('otlp_grpc_file_decode: ' + msg + '\n');
  process.exit(2);
}

let root;
try {
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
} catch (e) {
  fail('missing npm packages (run npm ci in tests/interop/node): ' + e.message);
}
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
if (process.argv.length < 3) fail('usage: node otlp_grpc_file_decode.js FILE');

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

function mapIds(obj, fn) {
  if (Array.isArray(obj)) return obj.map((x) => mapIds(x, fn));
  if (obj === null || typeof obj !== 'object') return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = ID_KEYS.has(k) && typeof v === 'string' ? fn(v) : mapIds(v, fn);
  return out;
}

// Removes Span.flags / Link.flags (unknown to the pinned generated code), returning them.
function takeFlags(req) {
  const flags = [];
  for (const rs of req.resourceSpans || []) {
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        const entry = { flags: s.flags === undefined ? null : s.flags, links: [] };
        delete s.flags;
        for (const l of s.links || []) {
          entry.links.push(l.flags === undefined ? null : l.flags);
          delete l.flags;
        }
        flags.push(entry);
      }
    }
  }
  return flags;
}

// Key order does not matter in JSON; compare canonically.
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
  return out;
}

function firstDiff(a, b, path) {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    return path + ': ' + JSON.stringify(a) + ' vs ' + JSON.stringify(b);
  }
  if (a !== null && typeof a === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (!(k in a) || !(k in b)) return path + '.' + k + ': only in ' + (k in a ? 'the file' : 'the round trip');
      const d = firstDiff(a[k], b[k], path + '.' + k);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : path + ': ' + JSON.stringify(a) + ' vs ' + JSON.stringify(b);
}

const text = fs.readFileSync(process.argv[2], 'utf8');
const lines = text.split('\n');
if (lines[lines.length - 1] === '') lines.pop();
lines.forEach((line, i) => {
  const out = { line: i + 1 };
  try {
    const parsed = JSON.parse(line);
    out.flags = takeFlags(parsed);
    const msg = Req.fromObject(mapIds(parsed, (h) => Buffer.from(h, 'hex').toString('base64')));
    const bytes = Req.encode(msg).finish();
    const back = mapIds(Req.toObject(Req.decode(bytes), {
      longs: String, enums: Number, bytes: String, defaults: false, arrays: false,
    }), (b64) => Buffer.from(b64, 'base64').toString('hex'));
    const diff = firstDiff(canonical(parsed), canonical(back), '$');
    out.ok = diff === null;
    if (diff) out.diff = diff;
    out.request = back;
  } catch (e) {
    out.ok = false;
    out.diff = 'error: ' + e.message;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
