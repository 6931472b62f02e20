minion_add_bench(trace_bench SOURCES trace_bench.cc DEPS minion_sdk)
