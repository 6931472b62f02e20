// The query API of `minion serve` (Jaeger's v3 API; docs/trace-store-api.md). Every answer is
// parsed defensively: the UI shows the server's error message rather than failing on it.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, params) {
  const url = new URL(path, window.location.origin);
  if (params) {
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
    }
  }
  let response;
  try {
    response = await fetch(url, {headers: {Accept: 'application/json'}});
  } catch (e) {
    throw new ApiError(0, `cannot reach the server: ${e.message}`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A body that is not JSON: keep the status for the message below.
  }
  if (!response.ok) {
    const message = body?.error?.message ?? body?.errors?.[0]?.msg ?? `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  if (body === null) throw new ApiError(response.status, 'the server answered something that is not JSON');
  return body;
}

export async function services() {
  const body = await getJson('/api/v3/services');
  return Array.isArray(body.services) ? body.services.map(String) : [];
}

export async function operations(service) {
  if (!service) return [];
  const body = await getJson('/api/v3/operations', {service});
  const names = new Set();
  for (const op of body.operations ?? []) if (op && op.name !== undefined) names.add(String(op.name));
  return [...names].sort();
}

// query: {service, operation, tags, minDuration, maxDuration, startMin (Date), startMax (Date),
// limit}. Resolves to TracesData; "no traces" (Jaeger's 404) is an empty result, not an error.
export async function searchTraces(query) {
  try {
    const body = await getJson('/api/v3/traces', {
      'query.service_name': query.service,
      'query.operation_name': query.operation,
      'query.attributes': query.tags,
      'query.duration_min': query.minDuration,
      'query.duration_max': query.maxDuration,
      'query.start_time_min': query.startMin ? query.startMin.toISOString() : undefined,
      'query.start_time_max': query.startMax ? query.startMax.toISOString() : undefined,
      'query.num_traces': query.limit,
    });
    return body.result ?? {resourceSpans: []};
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return {resourceSpans: []};
    throw e;
  }
}

export async function getTrace(traceId) {
  const body = await getJson(`/api/v3/traces/${encodeURIComponent(traceId)}`);
  return body.result ?? {resourceSpans: []};
}
