if(TARGET minion_sampling)
  minion_add_bench(sampling_bench
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sampling_bench.cc
    DEPS minion_sampling)
endif()
