if(TARGET minion_service)
  find_package(CURL REQUIRED)
  find_package(nlohmann_json REQUIRED)
  minion_add_bench(service_api_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/service_api_bench.cc
    DEPS minion_service minion_agents minion_metrics minion_http CURL::libcurl
         nlohmann_json::nlohmann_json)
endif()
