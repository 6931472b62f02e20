// A stand-in OTLP/HTTP collector for minion's interop tests: a real HTTP server that decodes
// POST /v1/traces bodies with the OpenTelemetry project's own generated protobuf code, shipped
// in @opentelemetry/otlp-transformer (build/src/generated/root.js), so minion's bytes are
// judged by OpenTelemetry's definitions, not by minion's own decoder.
//
// Usage: node otlp_receiver.js [options]
//   prints {"port":P} once listening on 127.0.0.1:P, then one JSON line per request:
//   {"n":i,"format":"protobuf"|"json","status":S,"headers":{..},"request":{..},
//    "spanFlags":[..],"linkFlags":[[..],..]}
//   `request` is the generated type's toObject() with ids as lower-case hex, 64-bit integers as
//   strings and enums as numbers. The pinned 0.52.1 schema predates Span.flags (field 16) and
//   Link.flags (field 6), so protobufjs skips them as unknown fields; spanFlags/linkFlags are
//   read with protobufjs's own wire Reader (protobuf bodies) or from the JSON (JSON bodies), in
//   span order. A body that does not decode, or JSON that breaks an OTLP/JSON rule, is
//   answered 400 and printed as {"n":i,"error":"..."}.
// Options (fault injection):
//   --fail-status S     answer with HTTP status S (e.g. 503, 400) ...
//   --fail-count N      ... for the first N requests only (default: every request)
//   --retry-after V     send "Retry-After: V" with those failures
//   --delay-ms D        wait D ms before answering each request
//   --hang              never answer (prints {"n":i,"hang":true} on receipt)
//   --partial-rejected N, --partial-message M   report partial_success in 200 responses
'use strict';

const http = require('http');
const zlib = require('zlib');

function fail(msg) {
  process.stderr.write('otlp_receiver: ' + msg + '\n');
  process.exit(2);
}

let root;
let Reader;
try {
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
  Reader = require('protobufjs/minimal').Reader;
} catch (e) {
  fail('cannot load @opentelemetry/otlp-transformer generated code (run npm ci in tests/interop/node): ' + e.message);
}
const pb = root.opentelemetry.proto;
const Request = pb.collector.trace.v1.ExportTraceServiceRequest;
const Response = pb.collector.trace.v1.ExportTraceServiceResponse;
if (!Request || !Response) fail('generated ExportTraceServiceRequest/Response not found');

const opts = { failStatus: 0, failCount: Infinity, retryAfter: null, delayMs: 0, hang: false,
               partialRejected: 0, partialMessage: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  const next = () => { if (i + 1 >= argv.length) fail(a + ' needs a value'); return argv[++i]; };
  if (a === '--fail-status') opts.failStatus = parseInt(next(), 10);
  else if (a === '--fail-count') opts.failCount = parseInt(next(), 10);
  else if (a === '--retry-after') opts.retryAfter = next();
  else if (a === '--delay-ms') opts.delayMs = parseInt(next(), 10);
  else if (a === '--hang') opts.hang = true;
  else if (a === '--partial-rejected') opts.partialRejected = parseInt(next(), 10);
  else if (a === '--partial-message') opts.partialMessage = next();
  else fail('unknown option ' + a);
}

function emit(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

// --- ids: base64 (protobufjs toObject) <-> hex (OTLP/JSON) ---------------------------------
const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
function idsToHex(v) {
  if (Array.isArray(v)) return v.map(idsToHex);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = (ID_KEYS.has(k) && typeof x === 'string') ? Buffer.from(x, 'base64').toString('hex') : idsToHex(x);
    }
    return out;
  }
  return v;
}

// --- Span.flags / Link.flags via protobufjs's wire Reader (unknown to the 0.52.1 schema) -----
function fields(buf, onField) {
  const r = Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3, wire = tag & 7;
    if (wire === 2) onField(field, wire, r.bytes());
    else if (wire === 5) onField(field, wire, r.fixed32());
    else { r.skipType(wire); }
  }
}
function flagsFromProtobuf(body) {
  const spanFlags = [], linkFlags = [];
  fields(body, (f, w, rs) => { if (f !== 1 || w !== 2) return;
    fields(rs, (f2, w2, ss) => { if (f2 !== 2 || w2 !== 2) return;
      fields(ss, (f3, w3, span) => { if (f3 !== 2 || w3 !== 2) return;
        let flags = null; const links = [];
        fields(span, (f4, w4, v) => {
          if (f4 === 16 && w4 === 5) flags = v;
          if (f4 === 13 && w4 === 2) {
            let lf = null;
            fields(v, (f5, w5, x) => { if (f5 === 6 && w5 === 5) lf = x; });
            links.push(lf);
          }
        });
        spanFlags.push(flags); linkFlags.push(links);
      });
    });
  });
  return { spanFlags, linkFlags };
}

// --- OTLP/JSON rules -------------------------------------------------------------------------
const HEX32 = /^[0-9a-f]{32}$/, HEX16 = /^[0-9a-f]{16}$/, UINT = /^[0-9]+$/, INT = /^-?[0-9]+$/;
function checkKeys(v, path) {
  if (Array.isArray(v)) { v.forEach((x, i) => checkKeys(x, path + '[' + i + ']')); return; }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('_')) throw new Error(path + ': key "' + k + '" is not lowerCamelCase');
      checkKeys(x, path + '.' + k);
    }
  }
}
function checkAnyValue(v, path) {
  const keys = Object.keys(v || {});
  if (keys.length !== 1) throw new Error(path + ': AnyValue must have exactly one field, has ' + JSON.stringify(keys));
  const k = keys[0], x = v[k];
  if (k === 'intValue' && !(typeof x === 'string' && INT.test(x))) throw new Error(path + ': intValue must be a decimal string, got ' + JSON.stringify(x));
  if (k === 'boolValue' && typeof x !== 'boolean') throw new Error(path + ': boolValue must be a boolean');
  if (k === 'stringValue' && typeof x !== 'string') throw new Error(path + ': stringValue must be a string');
  if (k === 'doubleValue' && typeof x !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(x)) throw new Error(path + ': bad doubleValue');
  if (k === 'arrayValue') (x.values || []).forEach((e, i) => checkAnyValue(e, path + '.arrayValue.values[' + i + ']'));
}
function checkAttributes(list, path) {
  (list || []).forEach((kv, i) => {
    if (typeof kv.key !== 'string') throw new Error(path + '[' + i + ']: key must be a string');
    checkAnyValue(kv.value, path + '[' + i + '].value');
  });
}
function need(cond, msg) { if (!cond) throw new Error(msg); }
function checkOtlpJson(obj) {
  checkKeys(obj, '$');
  need(Array.isArray(obj.resourceSpans), '$.resourceSpans must be an array');
  const spanFlags = [], linkFlags = [];
  obj.resourceSpans.forEach((rs, a) => {
    checkAttributes(rs.resource && rs.resource.attributes, `resourceSpans[${a}].resource.attributes`);
    (rs.scopeSpans || []).forEach((ss, b) => {
      checkAttributes(ss.scope && ss.scope.attributes, `scopeSpans[${b}].scope.attributes`);
      (ss.spans || []).forEach((s, c) => {
        const p = `resourceSpans[${a}].scopeSpans[${b}].spans[${c}]`;
        need(HEX32.test(s.traceId), p + '.traceId must be 32 lower-case hex digits, got ' + JSON.stringify(s.traceId));
        need(HEX16.test(s.spanId), p + '.spanId must be 16 lower-case hex digits');
        need(s.parentSpanId === undefined || HEX16.test(s.parentSpanId), p + '.parentSpanId must be hex');
        need(typeof s.kind === 'number', p + '.kind must be an integer enum');
        need(typeof s.startTimeUnixNano === 'string' && UINT.test(s.startTimeUnixNano), p + '.startTimeUnixNano must be a decimal string');
        need(typeof s.endTimeUnixNano === 'string' && UINT.test(s.endTimeUnixNano), p + '.endTimeUnixNano must be a decimal string');
        need(s.flags === undefined || typeof s.flags === 'number', p + '.flags must be a number');
        need(!s.status || s.status.code === undefined || typeof s.status.code === 'number', p + '.status.code must be an integer enum');
        checkAttributes(s.attributes, p + '.attributes');
        (s.events || []).forEach((e, i) => {
          need(typeof e.timeUnixNano === 'string' && UINT.test(e.timeUnixNano), p + `.events[${i}].timeUnixNano must be a decimal string`);
          checkAttributes(e.attributes, p + `.events[${i}].attributes`);
        });
        (s.links || []).forEach((l, i) => {
          need(HEX32.test(l.traceId) && HEX16.test(l.spanId), p + `.links[${i}] ids must be hex`);
          checkAttributes(l.attributes, p + `.links[${i}].attributes`);
        });
        spanFlags.push(s.flags === undefined ? null : s.flags);
        linkFlags.push((s.links || []).map((l) => (l.flags === undefined ? null : l.flags)));
      });
    });
  });
  return { spanFlags, linkFlags };
}
function idsToBase64(v) {
  if (Array.isArray(v)) return v.map(idsToBase64);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = (ID_KEYS.has(k) && typeof x === 'string') ? Buffer.from(x, 'hex').toString('base64') : idsToBase64(x);
    }
    return out;
  }
  return v;
}

// --- server ----------------------------------------------------------------------------------
const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: false, objects: false, oneofs: false };
let n = 0;

function decode(req, body) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim();
  if (type === 'application/x-protobuf') {
    const msg = Request.decode(body);
    return { format: 'protobuf', message: msg, ...flagsFromProtobuf(body) };
  }
  if (type === 'application/json') {
    const obj = JSON.parse(body.toString('utf8'));
    const flags = checkOtlpJson(obj);
    // Not Request.verify(): it wants JS numbers for int64 fields, while the protobuf JSON
    // mapping (and OTLP/JSON) uses decimal strings, which fromObject converts through Long.
    return { format: 'json', message: Request.fromObject(idsToBase64(obj)), ...flags };
  }
  throw new Error('unsupported Content-Type "' + type + '"');
}

function respond(res, format, i) {
  if (opts.failStatus && i < opts.failCount) {
    const headers = { 'Content-Type': 'text/plain' };
    if (opts.retryAfter !== null) headers['Retry-After'] = opts.retryAfter;
    res.writeHead(opts.failStatus, headers);
    res.end('injected failure ' + opts.failStatus);
    return opts.failStatus;
  }
  const partial = opts.partialRejected || opts.partialMessage
    ? { rejectedSpans: opts.partialRejected, errorMessage: opts.partialMessage } : undefined;
  if (format === 'json') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {}));
  } else {
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
    res.end(Buffer.from(Response.encode(Response.fromObject(partial ? { partialSuccess: partial } : {})).finish()));
  }
  return 200;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const i = n++;
    if (opts.hang) { emit({ n: i, hang: true }); return; }
    let raw = Buffer.concat(chunks);
    const encoding = req.headers['content-encoding'] || null;
    let decoded;
    try {
      if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error('unexpected ' + req.method + ' ' + req.url);
      if (encoding === 'gzip') raw = zlib.gunzipSync(raw);
      else if (encoding !== null) throw new Error('unsupported Content-Encoding ' + encoding);
      decoded = decode(req, raw);
    } catch (e) {
      emit({ n: i, error: String(e.message || e) });
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(String(e.message || e));
      return;
    }
    const answer = () => {
      // Printed before answering, so the line exists by the time the client sees the answer.
      emit({ n: i, format: decoded.format, status: (opts.failStatus && i < opts.failCount) ? opts.failStatus : 200,
             encoding, headers: req.headers,
             request: idsToHex(Request.toObject(decoded.message, TO_OBJECT)),
             spanFlags: decoded.spanFlags, linkFlags: decoded.linkFlags });
      respond(res, decoded.format, i);
    };
    if (opts.delayMs > 0) setTimeout(answer, opts.delayMs); else answer();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => emit({ port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
