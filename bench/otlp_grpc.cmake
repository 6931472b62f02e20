# OTLP/gRPC export throughput (real OtlpGrpcExporter, batches of 512 spans).
if(TARGET minion_exporter_otlp_grpc)
  find_package(nlohmann_json REQUIRED)
  minion_add_bench(otlp_grpc_export_bench
    SOURCES otlp_grpc_export_bench.cc ${MINION_ROOT}/tests/exporters/otlp_grpc/grpc_receiver_process.cc
    DEPS minion_exporter_otlp_grpc minion_otlp_grpc_proto nlohmann_json::nlohmann_json)
  target_include_directories(otlp_grpc_export_bench PRIVATE ${MINION_ROOT}/tests)
  target_compile_definitions(otlp_grpc_export_bench PRIVATE MINION_TEST_SOURCE_DIR="${MINION_ROOT}")
endif()
