// A stand-in Jaeger collector for minion's interop tests. It decodes each POSTed body with the
// Jaeger project's own IDL (jaeger-idl thrift/jaeger.thrift, bundled in the jaeger-client npm
// package) and thriftrw, the Thrift library jaeger-client itself uses — so the bytes are judged
// by Jaeger's definitions, not by minion's encoder.
//
// Usage: node jaeger_receiver.js [--fail-status N] [--fail-count K] [--status N]
//   prints {"port":P} once listening on 127.0.0.1:P, then one JSON line per request:
//   {"request":i,"status":S,"method":..,"path":..,"headers":{..},"batch":{..}} or "error":..
//   The first K requests (default 0) are answered with --fail-status (default 503) without
//   decoding; later ones are decoded and answered with --status (default 202), or 400 if the
//   body does not decode. Thrift i64 and binary values print as lower-case hex strings.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

function fail(msg) {
  process.stderr.write('jaeger_receiver: ' + msg + '\n');
  process.exit(2);
}

let thriftrw;
let idlPath;
try {
  thriftrw = require('thriftrw');
  idlPath = path.join(path.dirname(require.resolve('jaeger-client/package.json')),
                      'dist', 'src', 'jaeger-idl', 'thrift', 'jaeger.thrift');
} catch (e) {
  fail('missing npm packages (run npm ci in tests/interop/node): ' + e.message);
}
if (!fs.existsSync(idlPath)) fail('jaeger-client does not ship ' + idlPath);

const jaeger = new thriftrw.Thrift({
  source: fs.readFileSync(idlPath, 'ascii'),
  allowOptionalArguments: true,
});

const args = process.argv.slice(2);
function flag(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}
const failStatus = flag('--fail-status', 503);
let failCount = flag('--fail-count', 0);
const okStatus = flag('--status', 202);

// Buffers (i64, binary) as hex; everything else as JSON would render it. thriftrw decodes
// enums to their names ("CHILD_OF", "BOOL"), which is what the test checks.
function plain(v) {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) {
      if (v[k] !== null && v[k] !== undefined) out[k] = plain(v[k]);
    }
    return out;
  }
  return v;
}

let requests = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const i = requests++;
    const line = {request: i, method: req.method, path: req.url, headers: req.headers};
    let status;
    if (failCount > 0) {
      failCount--;
      status = failStatus;
    } else {
      const body = Buffer.concat(chunks);
      const result = jaeger.Batch.fromBufferResult(body);
      if (result.err) {
        status = 400;
        line.error = String(result.err.message || result.err);
      } else {
        status = okStatus;
        line.batch = plain(result.value);
      }
      line.bytes = body.length;
    }
    line.status = status;
    process.stdout.write(JSON.stringify(line) + '\n');
    res.writeHead(status, {'Content-Type': 'text/plain'});
    res.end(status >= 300 ? 'receiver status ' + status : '');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({port: server.address().port}) + '\n');
});
// The test closes our stdin to stop us.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
