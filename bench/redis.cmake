if(TARGET minion_transport_redis)
  # Starts its own redis-server (tests/transports/redis/redis_server.h) and worker processes
  # (this binary re-executed with --worker).
  minion_add_bench(redis_bench SOURCES redis_bench.cc
    DEPS minion_transport_redis minion_agents minion_sdk minion_observability)
  target_include_directories(redis_bench PRIVATE ${MINION_ROOT}/tests)
  # BM_StreamFloor talks to Redis with bare hiredis: the floor without any minion code.
  target_link_libraries(redis_bench PRIVATE PkgConfig::HIREDIS)
endif()
