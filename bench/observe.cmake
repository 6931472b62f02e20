minion_add_bench(observe_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/observe_bench.cc
  DEPS minion_logging minion_metrics minion_resilience)
