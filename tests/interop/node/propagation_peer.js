#!/usr/bin/env node
// Interop peer for minion's propagation tests: uses the official OpenTelemetry JS propagators
// to extract headers that minion injected, and to inject headers that minion then extracts.
//
// Input (stdin): a JSON array of requests:
//   {"op":"extract","formats":["tracecontext","baggage"],"headers":{"traceparent":"..."}}
//   {"op":"inject","formats":["b3multi"],"traceId":"..","spanId":"..","traceFlags":1,
//    "traceState":"a=1","baggage":{"k":{"value":"v","metadata":"p=1"}}}
// Output (stdout): a JSON array with one result per request:
//   extract -> {"spanContext":{"traceId","spanId","traceFlags","isRemote","traceState"}|null,
//               "baggage":{"k":{"value","metadata"}}}
//   inject  -> {"headers":{...}}
// Exits non-zero (with a message on stderr) on any error, so the C++ test fails loudly.
'use strict';

const fs = require('fs');
const api = require('@opentelemetry/api');
const core = require('@opentelemetry/core');
const { B3Propagator, B3InjectEncoding } = require('@opentelemetry/propagator-b3');
const { JaegerPropagator } = require('@opentelemetry/propagator-jaeger');

function makePropagator(formats) {
  const propagators = formats.map((f) => {
    switch (f) {
      case 'tracecontext': return new core.W3CTraceContextPropagator();
      case 'baggage': return new core.W3CBaggagePropagator();
      case 'b3': return new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
      case 'b3multi': return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
      case 'jaeger': return new JaegerPropagator();
      default: throw new Error(`unknown format ${f}`);
    }
  });
  return new core.CompositePropagator({ propagators });
}

function extract(req) {
  // Node's http module lower-cases incoming header names; do the same so that the
  // propagators' exact-key getters see what a real Node server would.
  const carrier = {};
  for (const [k, v] of Object.entries(req.headers)) carrier[k.toLowerCase()] = v;
  const ctx = makePropagator(req.formats).extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
  const sc = api.trace.getSpanContext(ctx);
  const out = { spanContext: null, baggage: {} };
  if (sc) {
    out.spanContext = {
      traceId: sc.traceId,
      spanId: sc.spanId,
      traceFlags: sc.traceFlags,
      isRemote: sc.isRemote === true,
      traceState: sc.traceState ? sc.traceState.serialize() : '',
      valid: api.isSpanContextValid(sc),
    };
  }
  const baggage = api.propagation.getBaggage(ctx);
  if (baggage) {
    for (const [k, e] of baggage.getAllEntries()) {
      out.baggage[k] = { value: e.value, metadata: e.metadata ? e.metadata.toString() : '' };
    }
  }
  return out;
}

function inject(req) {
  let ctx = api.ROOT_CONTEXT;
  if (req.traceId) {
    const sc = {
      traceId: req.traceId,
      spanId: req.spanId,
      traceFlags: req.traceFlags,
      isRemote: false,
    };
    if (req.traceState) sc.traceState = new core.TraceState(req.traceState);
    ctx = api.trace.setSpanContext(ctx, sc);
  }
  if (req.baggage) {
    const entries = {};
    for (const [k, e] of Object.entries(req.baggage)) {
      entries[k] = { value: e.value };
      if (e.metadata) entries[k].metadata = api.baggageEntryMetadataFromString(e.metadata);
    }
    ctx = api.propagation.setBaggage(ctx, api.propagation.createBaggage(entries));
  }
  const headers = {};
  makePropagator(req.formats).inject(ctx, headers, api.defaultTextMapSetter);
  return { headers };
}

function main() {
  const requests = JSON.parse(fs.readFileSync(0, 'utf8'));
  if (!Array.isArray(requests)) throw new Error('stdin must hold a JSON array of requests');
  const results = requests.map((req) => {
    if (req.op === 'extract') return extract(req);
    if (req.op === 'inject') return inject(req);
    throw new Error(`unknown op ${req.op}`);
  });
  process.stdout.write(JSON.stringify(results));
}

try {
  main();
} catch (err) {
  process.stderr.write(`propagation_peer.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
}
