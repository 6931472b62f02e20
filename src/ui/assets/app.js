// The single-page app: routes on the URL path (history API), so /search?... and /trace/{id}
// are shareable deep links that the server answers with this same index.html.
import {clear, h} from './dom.js';
import {renderSearch} from './search.js';
import {renderTrace} from './trace.js';

const view = document.getElementById('view');
const status = document.getElementById('status');

export function announce(text) {
  status.textContent = text;
}

export function navigate(url, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

let generation = 0;

async function route() {
  const myGeneration = ++generation;
  const path = window.location.pathname;
  const params = new URLSearchParams(window.location.search);
  const isCurrent = () => myGeneration === generation;
  const trace = /^\/trace\/([^/]+)\/?$/.exec(path);
  try {
    if (trace) {
      await renderTrace(view, decodeURIComponent(trace[1]), params, {navigate, announce, isCurrent});
    } else {
      await renderSearch(view, params, {navigate, announce, isCurrent});
    }
  } catch (e) {
    if (!isCurrent()) return;
    clear(view).append(h('div', {class: 'error-box', role: 'alert'}, `Something went wrong: ${e.message}`));
  }
}

// Links marked data-route (and any same-origin link the views build with class "route") are
// followed without a page load; modified clicks (new tab, ...) keep the browser's behaviour.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest('a[data-route], a.route');
  if (!link || link.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});

window.addEventListener('popstate', route);

document.getElementById('lookup').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = event.target.elements.id.value.trim().toLowerCase();
  if (id) navigate(`/trace/${encodeURIComponent(id)}`);
});

if (window.location.pathname === '/' || window.location.pathname === '/index.html') {
  history.replaceState(null, '', '/search' + window.location.search);
}
route();
