// A stand-in OTLP/gRPC collector for minion's interop tests: a real gRPC server (@grpc/grpc-js)
// serving opentelemetry.proto.collector.trace.v1.TraceService/Export, decoding each request
// with the OpenTelemetry project's own generated protobuf code from
// @opentelemetry/otlp-transformer, so minion's bytes are judged by OpenTelemetry's definitions.
//
// Usage: node otlp_grpc_receiver.js [options]
//   prints {"port":P} once listening on 127.0.0.1:P, then one JSON line per call:
//   {"call":i,"code":C,"metadata":{..},"encoding":"gzip"|null,"request":{..},"rawFlags":[..]}
//   ("encoding" is set only when the message itself carried the compressed flag)
//   (request uses OTLP/JSON-like conventions: ids as lower-case hex, 64-bit ints as strings,
//   enums as numbers). A request that does not decode is answered INVALID_ARGUMENT and
//   printed with "error".
// Options (fault injection):
//   --unavailable N           answer the first N calls UNAVAILABLE
//   --resource-exhausted N    answer the first N calls RESOURCE_EXHAUSTED
//   --retry-delay-ms D        attach google.rpc.RetryInfo{retry_delay: D ms} to those failures
//   --invalid-argument        answer every call INVALID_ARGUMENT
//   --delay-ms D              wait D ms before answering each call
//   --hang                    never answer (the client's deadline must fire)
//   --partial-rejected N      report partial_success.rejected_spans = N
//   --partial-message M       ... with error_message M
//   --require-header K=V      answer UNAUTHENTICATED unless metadata K has value V
//   --tls-cert F --tls-key F  serve TLS with this PEM certificate and key
//   --max-calls N             exit(0) after answering N calls
//   --quiet                   decode every request but print nothing per call (benchmarks)
'use strict';

const fs = require('fs');

function fail(msg) {
  process.stderr.write('otlp_grpc_receiver: ' + msg + '\n');
  process.exit(2);
}

let grpc;
let root;
let protobuf;
try {
  grpc = require('@grpc/grpc-js');
  protobuf = require('protobufjs/minimal');
  root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
} catch (e) {
  fail('missing npm packages (run npm ci in tests/interop/node): ' + e.message);
}
// grpc-js strips grpc-encoding from the metadata it shows handlers and decompresses before
// deserializing, so to see whether a message really arrived gzip-compressed we wrap the
// (exported, internal) step that reads the per-message compressed flag. Pinned grpc-js
// 1.10.11; fail loudly if its internals moved.
let lastWire = null;
{
  const si = require('@grpc/grpc-js/build/src/server-interceptors');
  const proto = si.BaseServerInterceptingCall && si.BaseServerInterceptingCall.prototype;
  if (!proto || typeof proto.decompressAndMaybePush !== 'function') {
    fail('grpc-js internals changed: BaseServerInterceptingCall.decompressAndMaybePush not found');
  }
  const original = proto.decompressAndMaybePush;
  proto.decompressAndMaybePush = function (entry) {
    const flag = entry && entry.compressedMessage ? entry.compressedMessage.readUInt8(0) : 0;
    lastWire = { encoding: this.incomingEncoding, compressed: flag === 1 };
    return original.call(this, entry);
  };
}

const v1 = root.opentelemetry.proto.collector.trace.v1;
if (!v1 || !v1.ExportTraceServiceRequest) fail('otlp-transformer has no generated ExportTraceServiceRequest');

const args = process.argv.slice(2);
function flag(name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  if (i + 1 >= args.length || args[i + 1].startsWith('--')) return true;
  return args[i + 1];
}
const unavailable = Number(flag('--unavailable', 0));
const resourceExhausted = Number(flag('--resource-exhausted', 0));
const retryDelayMs = flag('--retry-delay-ms', null);
const invalidArgument = flag('--invalid-argument', false) === true;
const delayMs = Number(flag('--delay-ms', 0));
const hang = flag('--hang', false) === true;
const partialRejected = Number(flag('--partial-rejected', 0));
const partialMessage = flag('--partial-message', '');
const requireHeader = flag('--require-header', null);
const tlsCert = flag('--tls-cert', null);
const tlsKey = flag('--tls-key', null);
const maxCalls = Number(flag('--max-calls', 0));
const quiet = flag('--quiet', false) === true;

function hex(b64) {
  return Buffer.from(b64, 'base64').toString('hex');
}

// Ids as hex (OTLP/JSON's convention), everything else as protobufjs renders it.
function idsToHex(obj) {
  if (Array.isArray(obj)) return obj.map(idsToHex);
  if (obj === null || typeof obj !== 'object') return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if ((k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof v === 'string') {
      out[k] = hex(v);
    } else {
      out[k] = idsToHex(v);
    }
  }
  return out;
}

// google.rpc.Status{code, message, details: [Any{type_url, value: RetryInfo{retry_delay}}]},
// written field by field with protobufjs's Writer (these types are not in the generated root).
function statusDetails(code, message, delayMs) {
  const seconds = Math.floor(delayMs / 1000);
  const nanos = (delayMs % 1000) * 1e6;
  const duration = protobuf.Writer.create();
  if (seconds) duration.uint32((1 << 3) | 0).int64(seconds);
  if (nanos) duration.uint32((2 << 3) | 0).int32(nanos);
  const retryInfo = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(duration.finish()).finish();
  const any = protobuf.Writer.create()
    .uint32((1 << 3) | 2).string('type.googleapis.com/google.rpc.RetryInfo')
    .uint32((2 << 3) | 2).bytes(retryInfo)
    .finish();
  return protobuf.Writer.create()
    .uint32((1 << 3) | 0).int32(code)
    .uint32((2 << 3) | 2).string(message)
    .uint32((3 << 3) | 2).bytes(any)
    .finish();
}

function failure(code, message) {
  const err = { code, details: message };
  if (retryDelayMs !== null) {
    const md = new grpc.Metadata();
    md.set('grpc-status-details-bin', Buffer.from(statusDetails(code, message, Number(retryDelayMs))));
    err.metadata = md;
  }
  return err;
}

// Span.flags (field 16) and Span.Link.flags (field 6) are newer than the proto version
// otlp-transformer 0.52.1 was generated from, so its decoder skips them. Read them straight
// off the wire (field numbers from opentelemetry-proto trace.proto) with protobufjs's Reader:
// request.resource_spans(1) -> scope_spans(2) -> spans(2) -> {flags(16), links(13) -> flags(6)}.
function eachField(buf, fn) {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt === 2) fn(field, wt, r.bytes());
    else if (wt === 5) fn(field, wt, r.fixed32());
    else r.skipType(wt);
  }
}
function rawFlags(buf) {
  const spans = [];
  eachField(buf, (f1, w1, rs) => { if (f1 !== 1 || w1 !== 2) return;
    eachField(rs, (f2, w2, ss) => { if (f2 !== 2 || w2 !== 2) return;
      eachField(ss, (f3, w3, span) => { if (f3 !== 2 || w3 !== 2) return;
        const entry = { flags: null, links: [] };
        eachField(span, (f4, w4, v) => {
          if (f4 === 16 && w4 === 5) entry.flags = v;
          if (f4 === 13 && w4 === 2) {
            let lf = null;
            eachField(v, (f5, w5, x) => { if (f5 === 6 && w5 === 5) lf = x; });
            entry.links.push(lf);
          }
        });
        spans.push(entry);
      });
    });
  });
  return spans;
}

let calls = 0;
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function exportHandler(call, callback) {
  const i = ++calls;
  const md = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) {
    md[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
  }
  const wire = call.request.wire;
  const line = { call: i, metadata: md, encoding: wire && wire.compressed ? wire.encoding : null };
  const bytes = call.request.buf;

  let answer;
  let decoded = null;
  try {
    decoded = v1.ExportTraceServiceRequest.decode(bytes);
  } catch (e) {
    line.error = 'decode: ' + e.message;
  }
  if (decoded && !quiet) {
    line.request = idsToHex(v1.ExportTraceServiceRequest.toObject(decoded, {
      longs: String, enums: Number, bytes: String, defaults: false, arrays: false,
    }));
    line.rawFlags = rawFlags(bytes);
  }
  if (line.error) {
    answer = { code: grpc.status.INVALID_ARGUMENT, details: line.error };
  } else if (requireHeader) {
    const eq = requireHeader.indexOf('=');
    const got = call.metadata.get(requireHeader.slice(0, eq));
    if (!got.length || String(got[0]) !== requireHeader.slice(eq + 1)) {
      answer = { code: grpc.status.UNAUTHENTICATED, details: 'missing header ' + requireHeader };
    }
  }
  if (!answer) {
    if (i <= unavailable) {
      answer = failure(grpc.status.UNAVAILABLE, 'injected unavailable ' + i);
    } else if (i <= resourceExhausted) {
      answer = failure(grpc.status.RESOURCE_EXHAUSTED, 'injected resource exhausted ' + i);
    } else if (invalidArgument) {
      answer = { code: grpc.status.INVALID_ARGUMENT, details: 'injected invalid argument' };
    }
  }
  line.code = answer ? answer.code : 0;
  if (!quiet) emit(line);
  if (hang) return;  // never call back: the client's deadline must end the call

  const reply = () => {
    if (answer) {
      callback(answer);
    } else {
      const resp = {};
      if (partialRejected || partialMessage) {
        resp.partialSuccess = { rejectedSpans: partialRejected, errorMessage: partialMessage };
      }
      callback(null, v1.ExportTraceServiceResponse.fromObject(resp));
    }
    if (maxCalls && i >= maxCalls) setTimeout(() => process.exit(0), 50);
  };
  if (delayMs > 0) setTimeout(reply, delayMs); else reply();
}

const definition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    // Keep the raw bytes so a decode failure is reported per call, not as a transport error.
    requestDeserialize: (buf) => ({ buf, wire: lastWire }),
    requestSerialize: (req) => req.buf,
    responseSerialize: (msg) => Buffer.from(v1.ExportTraceServiceResponse.encode(msg).finish()),
    responseDeserialize: (buf) => v1.ExportTraceServiceResponse.decode(buf),
  },
};

const server = new grpc.Server();
server.addService(definition, { Export: exportHandler });
let creds;
if (tlsCert && tlsKey) {
  creds = grpc.ServerCredentials.createSsl(null, [
    { cert_chain: fs.readFileSync(tlsCert), private_key: fs.readFileSync(tlsKey) },
  ], false);
} else {
  creds = grpc.ServerCredentials.createInsecure();
}
server.bindAsync('127.0.0.1:0', creds, (err, port) => {
  if (err) fail('bind: ' + err.message);
  emit({ port });
});
process.on('SIGTERM', () => process.exit(0));
