# The trace store behind `minion serve` (ingest, trace by id, search over 1 M spans).
if(TARGET minion_store)
  minion_add_bench(store_bench SOURCES store_bench.cc DEPS minion_store)
endif()
