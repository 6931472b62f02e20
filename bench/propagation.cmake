# Propagation hot paths: W3C traceparent inject/extract (anchors: 59-69 ns / 211-224 ns in
# opentelemetry-cpp; goals < 40 ns / < 60 ns), plus the other formats for reference.
minion_add_bench(propagation_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/propagation_bench.cc
  DEPS minion_propagation)
