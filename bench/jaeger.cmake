if(TARGET minion_exporter_jaeger)
  minion_add_bench(jaeger_bench
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/jaeger_bench.cc
    DEPS minion_exporter_jaeger)
endif()
