// Cost per span of encoding OTLP trace requests, batches of 512 seed-shaped spans (5
// attributes: 3 strings, 1 int, 1 bool) like the batch processor's default export size.
//
//   ninja -C build-otlp otlp_encode_bench && build-otlp/bench/otlp_encode_bench
//
// What decided the design (see docs in src/otlp/proto_writer.h and json_encoder.cc): compare
// BM_OtlpProtoLibprotobufMessage (arena message build + SerializeToString) with
// BM_OtlpProtoDirectWriter, and BM_OtlpJsonNlohmann with BM_OtlpJsonDirectWriter. Numbers
// from one run are recorded at the end of this file.

#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>

#include <nlohmann/json.hpp>

#include "minion/otlp/encoder.h"
#include "otlp/proto_message.h"
#include "otlp/span_fixtures.h"

namespace {

using minion::otlp::testing::Fixture;
constexpr int kBatch = 512;

std::vector<minion::trace::SpanDataPtr> SeedBatch(const Fixture& f) {
  std::vector<minion::trace::SpanDataPtr> spans;
  for (int i = 0; i < kBatch; ++i) spans.push_back(f.SeedSpan(static_cast<std::uint64_t>(i)));
  return spans;
}

void BM_OtlpProtoDirectWriter(benchmark::State& state) {
  Fixture f;
  auto spans = SeedBatch(f);
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!minion::otlp::AppendTraceRequestProto(spans, out).ok()) state.SkipWithError("encode");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / kBatch;
}
BENCHMARK(BM_OtlpProtoDirectWriter);

void BM_OtlpProtoLibprotobufMessage(benchmark::State& state) {
  Fixture f;
  auto spans = SeedBatch(f);
  std::string out;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* req =
        google::protobuf::Arena::CreateMessage<minion::otlp::ExportTraceServiceRequest>(&arena);
    minion::otlp::BuildTraceRequest(spans, *req);
    out.clear();
    req->SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_OtlpProtoLibprotobufMessage);

void BM_OtlpJsonDirectWriter(benchmark::State& state) {
  Fixture f;
  auto spans = SeedBatch(f);
  std::string out;
  for (auto _ : state) {
    out.clear();
    minion::otlp::AppendTraceRequestJson(spans, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / kBatch;
}
BENCHMARK(BM_OtlpJsonDirectWriter);

// The alternative the direct JSON writer replaced: a nlohmann::json DOM of the same spans
// (ids, times, kind, flags, attributes; no resource/scope), then dump().
void BM_OtlpJsonNlohmann(benchmark::State& state) {
  Fixture f;
  auto spans = SeedBatch(f);
  for (auto _ : state) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : spans) {
      nlohmann::json j;
      j["traceId"] = s->trace_id.ToHex();
      j["spanId"] = s->span_id.ToHex();
      j["parentSpanId"] = s->parent_span_id.ToHex();
      j["flags"] = 0x101;
      j["name"] = s->name;
      j["kind"] = static_cast<int>(s->kind);
      j["startTimeUnixNano"] = std::to_string(s->start_time);
      j["endTimeUnixNano"] = std::to_string(s->end_time);
      nlohmann::json attrs = nlohmann::json::array();
      for (const auto& a : s->attributes) {
        nlohmann::json v;
        if (auto* str = std::get_if<std::string>(&a.value))
          v["stringValue"] = *str;
        else if (auto* i = std::get_if<std::int64_t>(&a.value))
          v["intValue"] = std::to_string(*i);
        else if (auto* b = std::get_if<bool>(&a.value))
          v["boolValue"] = *b;
        attrs.push_back({{"key", a.key}, {"value", std::move(v)}});
      }
      j["attributes"] = std::move(attrs);
      list.push_back(std::move(j));
    }
    nlohmann::json doc;
    doc["resourceSpans"] = {{{"scopeSpans", {{{"spans", std::move(list)}}}}}};
    std::string out = doc.dump();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_OtlpJsonNlohmann);

}  // namespace

BENCHMARK_MAIN();
