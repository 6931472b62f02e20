// Decodes a Jaeger v3 answer of `minion serve` ({"result": TracesData as OTLP/JSON}) with the
// OpenTelemetry project's own generated protobuf code (@opentelemetry/otlp-transformer's
// build/src/generated/root.js), so minion's JSON is judged by OpenTelemetry's schema.
//
// Usage: node otlp_json_decode.js FILE
// Prints one JSON line: {"spans":[{traceId, spanId, parentSpanId, name, kind, startTimeUnixNano,
// endTimeUnixNano, statusCode, attributes:{key: value}, service}], "resources": n}
// The object is converted with fromObject (hex ids -> bytes), encoded to protobuf, decoded
// back, and every non-default field of the input must survive the round trip unchanged: a
// misspelt key, a number where the schema wants a string, or a wrong id encoding fails with
// exit status 1 and the path of the offending field. (Span.flags and Link.flags, newer than the
// pinned schema, are type-checked directly.)
'use strict';

const fs = require('fs');

function fail(msg) {
  process.stderr.write('otlp_json_decode: ' + msg + '\n');
  process.exit(1);
}

let root;
try {
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
} catch (e) {
  fail('cannot load @opentelemetry/otlp-transformer (run npm ci in tests/interop/node): ' + e.message);
}
const TracesData = root.opentelemetry.proto.trace.v1.TracesData;
if (!TracesData) fail('generated TracesData not found');

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const HEX = /^[0-9a-f]*$/;

function idsToBase64(x, path) {
  if (Array.isArray(x)) return x.map((e, i) => idsToBase64(e, path + '[' + i + ']'));
  if (x && typeof x === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(x)) {
      if (ID_KEYS.has(k)) {
        if (typeof v !== 'string' || !HEX.test(v)) fail(path + '.' + k + ' must be lower-case hex');
        out[k] = Buffer.from(v, 'hex').toString('base64');
      } else {
        out[k] = idsToBase64(v, path + '.' + k);
      }
    }
    return out;
  }
  return x;
}

function isDefault(v) {
  return v === '' || v === 0 || v === '0' || v === false || v === null ||
         (Array.isArray(v) && v.length === 0) ||
         (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

// Every non-default value of `ours` must be in `theirs`, equal.
function sameOrFail(ours, theirs, path) {
  if (Array.isArray(ours)) {
    if (!Array.isArray(theirs) || theirs.length !== ours.length) fail(path + ': array lost in the round trip');
    ours.forEach((e, i) => sameOrFail(e, theirs[i], path + '[' + i + ']'));
    return;
  }
  if (ours && typeof ours === 'object') {
    for (const [k, v] of Object.entries(ours)) {
      if (isDefault(v)) continue;
      // The pinned 0.52.1 schema predates Span.flags (field 16) and Link.flags (field 6), which
      // OTLP 1.1 added: check their type here instead of through the round trip.
      if (k === 'flags' && /(spans|links)\[\d+\]$/.test(path)) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(path + '.flags must be a uint32 number');
        continue;
      }
      if (!theirs || !(k in theirs)) fail(path + '.' + k + ': not a field of the OTLP schema (or lost)');
      sameOrFail(v, theirs[k], path + '.' + k);
    }
    return;
  }
  if (typeof ours === 'number' && typeof theirs === 'number') {
    if (ours !== theirs) fail(path + ': ' + ours + ' became ' + theirs);
    return;
  }
  if (String(ours) !== String(theirs)) fail(path + ': ' + JSON.stringify(ours) + ' became ' + JSON.stringify(theirs));
}

function plain(v) {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values || []).map(plain);
  if ('kvlistValue' in v) return Object.fromEntries((v.kvlistValue.values || []).map((kv) => [kv.key, plain(kv.value)]));
  return null;
}

const file = process.argv[2];
if (!file) fail('usage: node otlp_json_decode.js FILE');
const answer = JSON.parse(fs.readFileSync(file, 'utf8'));
if (!answer || typeof answer.result !== 'object') fail('answer has no "result" object');
const ours = idsToBase64(answer.result, 'result');
const message = TracesData.fromObject(ours);
const bytes = TracesData.encode(message).finish();
const decoded = TracesData.decode(bytes);
const theirs = TracesData.toObject(decoded, { longs: String, enums: Number, bytes: String, defaults: false });
sameOrFail(ours, theirs, 'result');

const spans = [];
for (const rs of theirs.resourceSpans || []) {
  const attrs = (rs.resource && rs.resource.attributes) || [];
  const service = plain((attrs.find((kv) => kv.key === 'service.name') || {}).value);
  for (const ss of rs.scopeSpans || []) {
    for (const s of ss.spans || []) {
      spans.push({
        traceId: Buffer.from(s.traceId, 'base64').toString('hex'),
        spanId: Buffer.from(s.spanId, 'base64').toString('hex'),
        parentSpanId: s.parentSpanId ? Buffer.from(s.parentSpanId, 'base64').toString('hex') : '',
        name: s.name,
        kind: s.kind || 0,
        startTimeUnixNano: s.startTimeUnixNano,
        endTimeUnixNano: s.endTimeUnixNano,
        statusCode: (s.status && s.status.code) || 0,
        attributes: Object.fromEntries((s.attributes || []).map((kv) => [kv.key, plain(kv.value)])),
        service,
      });
    }
  }
}
process.stdout.write(JSON.stringify({ spans, resources: (theirs.resourceSpans || []).length }) + '\n');
