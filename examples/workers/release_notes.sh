#!/bin/sh
# An external worker for examples/workers.yaml. minion sends the subtask as JSON on stdin and
# reads one JSON object from stdout (include/minion/agents/external_worker.h); the worker span's
# context is in TRACEPARENT. A real worker would parse the subtask (jq, python, ...); this one
# only counts its bytes, with POSIX tools, and reports what proves it ran.
bytes=$(wc -c | tr -d ' ')
printf '{"text": "Release notes drafted by the external worker (pid %s, read %s bytes of subtask JSON)", "worker": "release_notes.sh", "traceparent": "%s"}\n' \
  "$$" "$bytes" "${TRACEPARENT:-}"
