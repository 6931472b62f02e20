// Building DOM without HTML strings: every text from the API goes through a Text node or an
// attribute, never innerHTML, so a span name like "<img onerror=...>" stays text.

// h('div', {class: 'row', dataset: {id: 'x'}, onclick: fn}, 'text', child, [more])
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style') Object.assign(el.style, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key in el && typeof value !== 'string') el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Formats a duration given in nanoseconds: "812 µs", "4.21 ms", "7.20 s", "2m 05s".
export function formatDuration(ns) {
  if (!Number.isFinite(ns)) return '?';
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${Math.round(ns)} ns`;
  if (abs < 1e6) return `${(ns / 1e3).toFixed(abs < 1e4 ? 2 : 0)} µs`;
  if (abs < 1e9) return `${(ns / 1e6).toFixed(abs < 1e7 ? 2 : 1)} ms`;
  if (abs < 60e9) return `${(ns / 1e9).toFixed(2)} s`;
  const s = Math.round(ns / 1e9);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

// A wall-clock time from milliseconds since the epoch, in the browser's zone.
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return '?';
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatNumber(n) {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '?';
}

export function formatCost(usd) {
  if (!Number.isFinite(usd)) return '—';
  return usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(4)}`;
}
