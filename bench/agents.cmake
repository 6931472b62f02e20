if(TARGET minion_agents)
  minion_add_bench(agents_bench SOURCES agents_bench.cc
    DEPS minion_agents minion_sdk minion_observability)
endif()
