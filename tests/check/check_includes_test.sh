#!/usr/bin/env bash
# scripts/check_includes.py passes on this tree and fails, naming the file, line and missing
# dependency, on a copy of it with misplaced includes (a public include against the direction,
# another component's private header, an INTERNAL library's header without linking it, a file
# that belongs to no library, a dependency cycle, a program under apps/ or examples/ including a
# library it does not link or a private header).
set -euo pipefail
source=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
python3 "$source/scripts/check_includes.py"

copy() {
  rm -rf "$work/tree" && mkdir -p "$work/tree/scripts"
  cp -r "$source/src" "$source/include" "$source/apps" "$source/examples" "$work/tree/"
  cp "$source/scripts/check_includes.py" "$work/tree/scripts/"
  git -C "$work/tree" init -q
}
expect_failure() {  # <what> <expected text>
  if python3 "$work/tree/scripts/check_includes.py" 2>"$work/err"; then
    echo "FAIL: the check passed with $1" >&2; exit 1
  fi
  grep -qF -- "$2" "$work/err" || { echo "FAIL: for $1 expected '$2' in:" >&2; cat "$work/err" >&2; exit 1; }
  echo "ok: $1 -> $(grep -F -- "$2" "$work/err" | head -n 1)"
}

copy
sed -i '1i #include "minion/agents/worker.h"' "$work/tree/src/trace/span.cc"
expect_failure "trace including agents" \
  'src/trace/span.cc:1: #include "minion/agents/worker.h": minion_trace does not depend on minion_agents'

copy
sed -i '1i #include "llm/genai_span.h"' "$work/tree/src/exporters/jaeger/jaeger_exporter.cc"
expect_failure "another component's private header" \
  'src/exporters/jaeger/jaeger_exporter.cc:1: #include "llm/genai_span.h": private header of minion_llm.'

copy
sed -i '1i #include "curl/curl_easy.h"' "$work/tree/src/storage/sqlite_storage.cc"
expect_failure "an INTERNAL library's header without linking it" \
  'src/storage/sqlite_storage.cc:1: #include "curl/curl_easy.h": minion_storage does not link the INTERNAL library minion_curl'

copy
sed -i '1i #include "llm/genai_span.h"' "$work/tree/include/minion/agents/worker.h"
expect_failure "a public header including a private one" \
  'include/minion/agents/worker.h:1: #include "llm/genai_span.h": a public header may include only'

copy
sed -i '1i #include "minion/store/trace_store.h"' "$work/tree/examples/custom_worker.cc"
expect_failure "a program including a library it does not link" \
  'examples/custom_worker.cc:1: #include "minion/store/trace_store.h": examples/CMakeLists.txt does not link minion_store'

copy
sed -i '1i #include "curl/curl_easy.h"' "$work/tree/apps/minion/main.cc"
expect_failure "a program including a private header" \
  'apps/minion/main.cc:1: #include "curl/curl_easy.h": a program may include public headers'

copy
echo 'int orphan;' >"$work/tree/src/trace/orphan.cc"
expect_failure "a file outside every library" 'src/trace/orphan.cc: belongs to no library'

copy
sed -i 's/DEPS minion_common)/DEPS minion_common minion_sdk)/' "$work/tree/src/trace/CMakeLists.txt"
expect_failure "a dependency cycle" 'dependency cycle: '
