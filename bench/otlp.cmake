# OTLP encoding and OTLP/HTTP export benchmarks.
find_package(nlohmann_json REQUIRED)
if(TARGET minion_otlp)
  minion_add_bench(otlp_encode_bench SOURCES otlp_encode_bench.cc
    DEPS minion_otlp minion_otlp_proto_message nlohmann_json::nlohmann_json)
  target_include_directories(otlp_encode_bench PRIVATE ${MINION_ROOT}/tests)
endif()
if(TARGET minion_exporter_otlp_http)
  minion_add_bench(otlp_http_export_bench SOURCES otlp_http_export_bench.cc
    DEPS minion_exporter_otlp_http)
  target_include_directories(otlp_http_export_bench PRIVATE ${MINION_ROOT}/tests)
endif()
