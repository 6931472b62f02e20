// The trace model the views draw: OTLP/JSON (what /api/v3 answers) turned into spans with
// parents, children, depth, times relative to the trace start, and the derived facts (critical
// path, errors, services). Pure functions without DOM, so tests can run them under Node.
// Nothing here recurses along the span tree: a trace is input, and its depth is not ours to bound.

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS = ['UNSET', 'OK', 'ERROR'];

function enumName(value, names, prefix) {
  if (typeof value === 'number') return names[value] ?? String(value);
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return names[Number(value)] ?? value;
    return value.startsWith(prefix) ? value.slice(prefix.length) : value.toUpperCase();
  }
  return names[0];
}

// An OTLP AnyValue as a plain JS value (64-bit integers stay exact: Number when safe, else text).
export function anyValue(v) {
  if (v === null || typeof v !== 'object') return v ?? null;
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true || v.boolValue === 'true';
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return (v.arrayValue?.values ?? []).map(anyValue);
  if ('kvlistValue' in v) {
    const out = {};
    for (const kv of v.kvlistValue?.values ?? []) out[kv.key] = anyValue(kv.value);
    return out;
  }
  return null;
}

export function attributesOf(list) {
  const out = [];
  if (Array.isArray(list)) for (const kv of list) out.push({key: String(kv.key), value: anyValue(kv.value)});
  return out;
}

export function displayValue(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// A uint64 nanosecond timestamp (decimal string, as OTLP/JSON writes it) as [milliseconds,
// remaining nanoseconds], both exact doubles: BigInt arithmetic per span would allocate, and a
// double alone cannot hold today's nanoseconds exactly. Garbage reads as 0.
function nsParts(value) {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? value.toFixed(0) : '0';
  if (!/^\d{1,20}$/.test(text)) return [0, 0];
  if (text.length <= 6) return [0, Number(text)];
  return [Number(text.slice(0, -6)), Number(text.slice(-6))];
}

// Nanoseconds from `base` to `parts` (both nsParts), exact while under 2^53 ns (104 days).
function nsSince(parts, base) {
  return (parts[0] - base[0]) * 1e6 + (parts[1] - base[1]);
}

function lookup(attributes) {
  const map = new Map();
  for (const a of attributes) if (!map.has(a.key)) map.set(a.key, a.value);
  return map;
}

// Every span of a TracesData ({resourceSpans: [...]}) as flat records, grouped by trace id.
// Returns Map(traceId -> [raw span record]).
export function collectSpans(tracesData) {
  const byTrace = new Map();
  for (const rs of tracesData?.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    const resourceMap = lookup(resource);
    const service = String(resourceMap.get('service.name') ?? 'unknown_service');
    for (const ss of rs.scopeSpans ?? rs.instrumentationLibrarySpans ?? []) {
      const scope = {name: String(ss.scope?.name ?? ''), version: String(ss.scope?.version ?? '')};
      for (const s of ss.spans ?? []) {
        const traceId = String(s.traceId ?? '').toLowerCase();
        let list = byTrace.get(traceId);
        if (!list) byTrace.set(traceId, (list = []));
        list.push({raw: s, resource, service, scope});
      }
    }
  }
  return byTrace;
}

// Builds one trace from the raw records collectSpans() grouped under its id.
export function buildTrace(traceId, records) {
  let base = null;
  for (const r of records) {
    const start = nsParts(r.raw.startTimeUnixNano);
    r.start = start;
    if (base === null || start[0] < base[0] || (start[0] === base[0] && start[1] < base[1])) base = start;
  }
  base ??= [0, 0];
  const spans = [];
  const byId = new Map();
  for (const r of records) {
    const s = r.raw;
    const attributes = attributesOf(s.attributes);
    const startNs = nsSince(r.start, base);
    const durationNs = Math.max(0, nsSince(nsParts(s.endTimeUnixNano), r.start));
    const status = {
      code: enumName(s.status?.code, STATUS, 'STATUS_CODE_'),
      message: String(s.status?.message ?? ''),
    };
    const attr = lookup(attributes);
    const span = {
      traceId,
      spanId: String(s.spanId ?? '').toLowerCase(),
      parentSpanId: String(s.parentSpanId ?? '').toLowerCase(),
      name: String(s.name ?? ''),
      kind: enumName(s.kind, KINDS, 'SPAN_KIND_'),
      startNs,
      durationNs,
      endNs: startNs + durationNs,
      attributes,
      attr,
      events: (s.events ?? []).map((e) => ({
        timeNs: nsSince(nsParts(e.timeUnixNano), base),
        name: String(e.name ?? ''),
        attributes: attributesOf(e.attributes),
      })),
      links: (s.links ?? []).map((l) => ({
        traceId: String(l.traceId ?? '').toLowerCase(),
        spanId: String(l.spanId ?? '').toLowerCase(),
        attributes: attributesOf(l.attributes),
      })),
      status,
      resource: r.resource,
      service: r.service,
      scope: r.scope,
      error: status.code === 'ERROR' || attr.get('error') === true || attr.get('error') === 'true',
      parent: null,
      children: [],
      depth: 0,
      orphan: false,
      critical: false,
      criticalSegments: null,
    };
    if (span.spanId && !byId.has(span.spanId)) byId.set(span.spanId, span);
    spans.push(span);
  }
  const startOrder = (a, b) => a.startNs - b.startNs || a.endNs - b.endNs;
  spans.sort(startOrder);
  const roots = [];
  for (const span of spans) {
    const parent = span.parentSpanId && span.parentSpanId !== span.spanId ? byId.get(span.parentSpanId) : null;
    if (parent && parent !== span) {
      parent.children.push(span);
      span.parent = parent;
    } else {
      if (span.parentSpanId && !/^0*$/.test(span.parentSpanId)) span.orphan = true;
      roots.push(span);
    }
  }
  // Depth-first order with an explicit stack; a parent cycle (malformed input) is broken by
  // taking the earliest unvisited span as a root.
  const ordered = [];
  const visited = new Set();
  const walk = (root) => {
    const stack = [root];
    root.depth = 0;
    while (stack.length) {
      const span = stack.pop();
      if (visited.has(span)) continue;
      visited.add(span);
      ordered.push(span);
      for (let i = span.children.length - 1; i >= 0; --i) {
        const child = span.children[i];
        if (visited.has(child)) continue;
        child.depth = span.depth + 1;
        stack.push(child);
      }
    }
  };
  for (const root of roots) walk(root);
  for (const span of spans) {
    if (visited.has(span)) continue;
    if (span.parent) span.parent.children = span.parent.children.filter((c) => c !== span);
    span.parent = null;
    span.orphan = true;
    roots.push(span);
    walk(span);
  }
  let endNs = 0;
  const services = new Set();
  let errors = 0;
  for (const span of ordered) {
    if (span.endNs > endNs) endNs = span.endNs;
    services.add(span.service);
    if (span.error) ++errors;
  }
  const trace = {
    traceId,
    spans: ordered,
    byId,
    roots,
    startUnixMs: base[0] + base[1] / 1e6,
    durationNs: endNs,
    services: [...services].sort(),
    errorCount: errors,
  };
  markCriticalPath(trace);
  return trace;
}

export function tracesFrom(tracesData) {
  const out = [];
  for (const [traceId, records] of collectSpans(tracesData)) out.push(buildTrace(traceId, records));
  return out;
}

// The critical path: the chain of work that decided when each root finished. From the end of a
// span, walk back in time: the child that finished last before the cursor was what the span
// waited for; the time no child covers is the span's own. A child that outlives its parent (a
// consumer started by a producer send that returned at once) is the usual asynchronous hand-off,
// so a span's window is stretched to the end of its latest descendant instead of cutting the
// child off. Segments are kept clipped to each span's own interval, for drawing.
export function markCriticalPath(trace) {
  const spans = trace.spans;
  const effectiveEnd = new Map();
  for (let i = spans.length - 1; i >= 0; --i) {
    const span = spans[i];
    let end = span.endNs;
    for (const child of span.children) end = Math.max(end, effectiveEnd.get(child) ?? child.endNs);
    effectiveEnd.set(span, end);
  }
  const addSegment = (span, start, end) => {
    const s = Math.max(start, span.startNs);
    const e = Math.min(end, span.endNs);
    span.critical = true;
    if (e > s) (span.criticalSegments ??= []).push([s, e]);
  };
  const stack = [];
  for (const root of trace.roots) stack.push([root, effectiveEnd.get(root)]);
  while (stack.length) {
    const [span, windowEnd] = stack.pop();
    let cursor = windowEnd;
    const kids = span.children.slice().sort((a, b) => effectiveEnd.get(b) - effectiveEnd.get(a));
    for (const child of kids) {
      if (cursor <= span.startNs) break;
      if (child.startNs >= cursor) continue;
      const childEnd = Math.min(effectiveEnd.get(child), cursor);
      if (childEnd < cursor) addSegment(span, childEnd, cursor);
      stack.push([child, childEnd]);
      cursor = Math.max(child.startNs, span.startNs);
    }
    if (cursor > span.startNs) addSegment(span, span.startNs, cursor);
    else span.critical = true;
  }
}

// One line of the search results for a trace.
export function summarize(trace) {
  const root = trace.roots[0];
  return {
    traceId: trace.traceId,
    rootName: root ? root.name : '(no spans)',
    rootService: root ? root.service : '',
    startUnixMs: trace.startUnixMs,
    durationNs: trace.durationNs,
    spanCount: trace.spans.length,
    errorCount: trace.errorCount,
    services: serviceCounts(trace),
  };
}

function serviceCounts(trace) {
  const counts = new Map();
  for (const span of trace.spans) counts.set(span.service, (counts.get(span.service) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name, count]) => ({name, count}));
}
