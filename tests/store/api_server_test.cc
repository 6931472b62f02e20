// The HTTP face of the trace store on real sockets: OTLP/HTTP ingest in protobuf, JSON and gzip,
// every refusal (413, 400, 415, 429 with Retry-After) leaving nothing half-written, the Jaeger v3
// and classic v1 shapes field by field, the UI routing rule, and minion's own OTLP/HTTP exporter
// honouring the 429.
#include "minion/store/api_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <future>
#include <latch>
#include <nlohmann/json.hpp>

#include "minion/exporters/otlp_http_exporter.h"
#include "minion/store/otlp_json.h"
#include "store/fixtures.h"

namespace minion::store {
namespace {

using namespace testing;
using nlohmann::json;
constexpr std::uint64_t kSec = 1'000'000'000ULL;
constexpr std::uint64_t kT0 = 1'764'400'000ULL * kSec;

std::string Gzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void Start(StoreOptions so = {}, UiAssetLookup ui = nullptr) {
    so.path = dir_.File("t.db");
    store_ = TraceStore::Open(so).value();
    ApiServerOptions o;
    o.query.max_body_bytes = 256 << 10;
    o.query.max_inflated_body_bytes = 1 << 20;
    o.ui_assets = std::move(ui);
    auto api = ApiServer::Start(*store_, o);
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(api).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->query_port());
  }
  void TearDown() override {
    if (api_) api_->Shutdown();
    if (store_) store_->Shutdown();
  }
  httplib::Result Post(const std::string& body, const std::string& type, bool gzip = false) {
    httplib::Headers h;
    if (gzip) h.emplace("Content-Encoding", "gzip");
    return client_->Post("/v1/traces", h, body, type.c_str());
  }
  json GetJson(const std::string& path, int want_status) {
    auto r = client_->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, want_status) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(r->body);
  }

  TempDir dir_;
  std::unique_ptr<TraceStore> store_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ApiServerTest, ProtobufIngestThenJaegerV1TraceFieldByField) {
  Start();
  std::string body;
  ASSERT_TRUE(TaskTrace(1, "code_generation", 8, "worker-789", kT0, 2 * kSec, true)
                  .SerializeToString(&body));
  auto r = Post(body, "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-protobuf");

  const std::string id = ToHex(TraceIdBytes(1));
  json v1 = GetJson("/api/traces/" + id, 200);
  EXPECT_EQ(v1["total"], 1);
  EXPECT_EQ(v1["limit"], 0);
  EXPECT_EQ(v1["offset"], 0);
  EXPECT_TRUE(v1["errors"].is_null());
  ASSERT_EQ(v1["data"].size(), 1u);
  const json& t = v1["data"][0];
  EXPECT_EQ(t["traceID"], id);
  ASSERT_EQ(t["spans"].size(), 4u);
  ASSERT_EQ(t["processes"].size(), 1u);
  EXPECT_EQ(t["processes"]["p1"]["serviceName"], "minion-multiagent");
  EXPECT_EQ(t["processes"]["p1"]["tags"][0],
            json({{"key", "host.name"}, {"type", "string"}, {"value", "test-host"}}));
  const json& task = t["spans"][0];
  EXPECT_EQ(task["traceID"], id);
  EXPECT_EQ(task["spanID"], ToHex(SpanIdBytes(17)));
  EXPECT_EQ(task["operationName"], "multiagent.task.code_generation");
  EXPECT_TRUE(task["references"].empty());
  EXPECT_EQ(task["startTime"], kT0 / 1000);
  EXPECT_EQ(task["duration"], 2 * kSec / 1000);
  EXPECT_EQ(task["processID"], "p1");
  EXPECT_TRUE(task["warnings"].is_null());
  EXPECT_EQ(task["tags"][1],
            json({{"key", "multiagent.task.priority"}, {"type", "int64"}, {"value", 8}}));
  EXPECT_EQ(task["tags"].back(),
            json({{"key", "otel.scope.version"}, {"type", "string"}, {"value", "0.1.0"}}));
  const json& worker = t["spans"][2];
  EXPECT_EQ(worker["references"][0],
            json({{"refType", "CHILD_OF"}, {"traceID", id}, {"spanID", ToHex(SpanIdBytes(18))}}));
  std::map<std::string, json> tags;
  for (const auto& tag : worker["tags"]) tags[tag["key"]] = tag;
  EXPECT_EQ(tags["span.kind"]["value"], "consumer");
  EXPECT_EQ(tags["otel.status_code"]["value"], "ERROR");
  EXPECT_EQ(tags["error"], json({{"key", "error"}, {"type", "bool"}, {"value", true}}));
  EXPECT_EQ(tags["otel.status_description"]["value"], "handler failed");
  ASSERT_EQ(worker["logs"].size(), 1u);
  EXPECT_EQ(worker["logs"][0]["timestamp"], (kT0 + 30) / 1000);
  EXPECT_EQ(worker["logs"][0]["fields"][0],
            json({{"key", "event"}, {"type", "string"}, {"value", "exception"}}));
  EXPECT_EQ(worker["logs"][0]["fields"][1]["value"], "boom");
  std::map<std::string, json> llm_tags;
  for (const auto& tag : t["spans"][3]["tags"]) llm_tags[tag["key"]] = tag;
  EXPECT_EQ(llm_tags["llm.cost"],
            json({{"key", "llm.cost"}, {"type", "float64"}, {"value", 0.25}}));
  EXPECT_EQ(llm_tags["span.kind"]["value"], "client");

  // Search answers carry the same model; services and operations in the v1 envelope.
  json found = GetJson("/api/traces?service=minion-multiagent&tags=error%3Dtrue", 200);
  EXPECT_EQ(found["total"], 1);
  EXPECT_EQ(found["data"][0]["spans"].size(), 4u);
  EXPECT_EQ(GetJson("/api/services", 200)["data"], json({"minion-multiagent"}));
  EXPECT_EQ(GetJson("/api/services/minion-multiagent/operations", 200)["total"], 4);
  json ops = GetJson("/api/operations?service=minion-multiagent&spanKind=consumer", 200);
  EXPECT_EQ(ops["data"],
            json::array({{{"name", "worker.code_generation"}, {"spanKind", "consumer"}}}));
  json missing = GetJson("/api/traces/" + ToHex(TraceIdBytes(2)), 404);
  EXPECT_TRUE(missing["data"].is_null());
  EXPECT_EQ(missing["errors"][0]["code"], 404);
  EXPECT_EQ(GetJson("/api/traces/xyz", 400)["errors"][0]["code"], 400);
  EXPECT_EQ(GetJson("/api/traces", 400)["errors"][0]["msg"], "parameter service is required");
}

TEST_F(ApiServerTest, JsonAndGzipIngestThenJaegerV3Shapes) {
  Start();
  // OTLP/JSON with the spec's liberties: upper-case hex ids, int64 as numbers or strings,
  // enums by name, snake_case keys.
  const std::string body = R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"json-svc"}}]},
    "scope_spans":[{"scope":{"name":"s"},"spans":[
      {"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"B7AD6B7169203331","name":"root",
       "kind":"SPAN_KIND_SERVER","startTimeUnixNano":1764400000000000000,"end_time_unix_nano":"1764400001000000000",
       "attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"nested","value":{"kvlistValue":{"values":[
         {"key":"a","value":{"arrayValue":{"values":[{"intValue":1},{"stringValue":"x"}]}}}]}}}],
       "status":{"code":"STATUS_CODE_ERROR","message":"bad"}}]}]}]})";
  auto r = Post(Gzip(body), "application/json", /*gzip=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{}");

  json v3 = GetJson("/api/v3/traces/0af7651916cd43dd8448eb211c80319c", 200);
  const json& span = v3["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(span["spanId"], "b7ad6b7169203331");
  EXPECT_EQ(span["kind"], 2);
  EXPECT_EQ(span["startTimeUnixNano"], "1764400000000000000");
  EXPECT_EQ(span["endTimeUnixNano"], "1764400001000000000");
  EXPECT_EQ(span["attributes"][0], json::parse(R"({"key":"n","value":{"intValue":"42"}})"));
  EXPECT_EQ(span["attributes"][1]["value"]["kvlistValue"]["values"][0]["value"]["arrayValue"]
                ["values"][1],
            json::parse(R"({"stringValue":"x"})"));
  EXPECT_EQ(span["status"], json::parse(R"({"code":2,"message":"bad"})"));
  EXPECT_EQ(v3["result"]["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "json-svc");

  EXPECT_EQ(GetJson("/api/v3/services", 200), json::parse(R"({"services":["json-svc"]})"));
  EXPECT_EQ(GetJson("/api/v3/operations?service=json-svc", 200),
            json::parse(R"({"operations":[{"name":"root","spanKind":"server"}]})"));
  EXPECT_EQ(
      GetJson("/api/v3/operations?service=json-svc&span_kind=client", 200)["operations"].size(),
      0u);
  json found = GetJson(
      "/api/v3/"
      "traces?query.service_name=json-svc&query.attributes=n%3E41&query.start_time_min=2025-11-"
      "29T00:00:00Z",
      200);
  EXPECT_EQ(found["result"]["resourceSpans"].size(), 1u);
  json none = GetJson("/api/v3/traces?query.service_name=json-svc&query.duration_min=2s", 404);
  EXPECT_EQ(none, json::parse(R"({"error":{"httpCode":404,"message":"No traces found"}})"));
  EXPECT_EQ(GetJson("/api/v3/traces?query.service_name=json-svc&query.duration_min=2parsecs",
                    400)["error"]["httpCode"],
            400);
  EXPECT_EQ(GetJson("/api/v3/traces/00", 400)["error"]["httpCode"], 400);
  EXPECT_EQ(GetJson("/api/v3/operations", 400)["error"]["message"],
            "parameter service is required");
}

TEST_F(ApiServerTest, MalformedAndOversizedBodiesAreRefusedAndNothingIsStored) {
  Start();
  std::string good;
  ASSERT_TRUE(TaskTrace(1, "a", 1, "w", kT0, kSec).SerializeToString(&good));

  auto corrupt = Post(good.substr(0, good.size() / 2) + "\xff\xff\xff", "application/x-protobuf");
  ASSERT_TRUE(corrupt);
  EXPECT_EQ(corrupt->status, 400);
  EXPECT_NE(corrupt->body.find("not a valid protobuf"),
            std::string::npos);  // google.rpc.Status message

  auto bad_json = Post("{\"resourceSpans\": [", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(json::parse(bad_json->body)["code"], 3);

  auto bad_id = Post(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"b7ad6b7169203331"}]}]}]})",
      "application/json");
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400);
  EXPECT_NE(
      json::parse(bad_id->body)["message"].get<std::string>().find("traceId must be 32 hex digits"),
      std::string::npos)
      << bad_id->body;

  std::string deep(200, '[');  // nesting beyond the limit is refused before parsing
  auto too_deep = Post(deep + std::string(200, ']'), "application/json");
  ASSERT_TRUE(too_deep);
  EXPECT_EQ(too_deep->status, 400);

  auto wrong_type = Post(good, "text/plain");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);

  auto oversize = Post(std::string(300 << 10, 'x'), "application/x-protobuf");
  ASSERT_TRUE(oversize);
  EXPECT_EQ(oversize->status, 413);

  // 8 MiB of zeros gzip to a few KiB; inflated they pass the 1 MiB limit.
  client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->query_port());
  auto bomb = Post(Gzip(std::string(8 << 20, '\0')), "application/x-protobuf", /*gzip=*/true);
  ASSERT_TRUE(bomb);
  EXPECT_EQ(bomb->status, 413);

  EXPECT_EQ(store_->Stats().spans_written, 0u);
  client_ = std::make_unique<httplib::Client>("127.0.0.1", api_->query_port());
  auto ok = Post(good, "application/x-protobuf");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(store_->Stats().spans_written, 4u);
}

TEST_F(ApiServerTest, FullQueueAnswers429WithRetryAfter) {
  std::latch in_commit(1), release(1);
  std::atomic<bool> first{true};
  StoreOptions so;
  so.max_queued_spans = 4;
  so.before_commit = [&] {
    if (first.exchange(false)) {
      in_commit.count_down();
      release.wait();
    }
  };
  Start(so);
  std::string a, b;
  ASSERT_TRUE(TaskTrace(1, "a", 1, "w", kT0, kSec).SerializeToString(&a));
  ASSERT_TRUE(TaskTrace(2, "b", 1, "w", kT0, kSec).SerializeToString(&b));
  auto held = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", api_->query_port());
    auto r = c.Post("/v1/traces", a, "application/x-protobuf");
    return r ? r->status : -1;
  });
  in_commit.wait();
  auto refused = Post(b, "application/x-protobuf");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  release.count_down();
  EXPECT_EQ(held.get(), 200);
  EXPECT_TRUE(store_->GetTrace(TraceIdBytes(1)).ok());
  EXPECT_EQ(store_->GetTrace(TraceIdBytes(2)).status().code(), StatusCode::kNotFound);
}

// minion's own OTLP/HTTP exporter against a refusing server: it waits the Retry-After the
// server sent, retries, and every span arrives.
TEST_F(ApiServerTest, OurOtlpHttpExporterHonoursThe429AndLosesNothing) {
  std::latch in_commit(1), release(1);
  std::atomic<bool> first{true};
  StoreOptions so;
  so.max_queued_spans = 4;
  so.before_commit = [&] {
    if (first.exchange(false)) {
      in_commit.count_down();
      release.wait();
    }
  };
  Start(so);
  std::string a;
  ASSERT_TRUE(TaskTrace(1, "a", 1, "w", kT0, kSec).SerializeToString(&a));
  auto held = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", api_->query_port());
    auto r = c.Post("/v1/traces", a, "application/x-protobuf");
    return r ? r->status : -1;
  });
  in_commit.wait();

  exporters::OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(api_->query_port()) + "/v1/traces";
  o.timeout = std::chrono::seconds(30);
  std::vector<std::chrono::nanoseconds> waits;
  std::vector<Status> retried;
  o.retry.on_retry = [&](int, std::chrono::nanoseconds d, const Status& s) {
    waits.push_back(d);
    retried.push_back(s);
  };
  // The wait itself: release the writer instead of sleeping, so the retry finds room.
  o.retry.sleep = [&](std::chrono::nanoseconds) {
    release.count_down();
    EXPECT_EQ(held.get(), 200);
    return true;
  };
  auto exporter = exporters::OtlpHttpExporter::Create(o).value();
  trace::Resource resource;
  resource.attributes.Set("service.name",
                          trace::AttributeValueView(std::string_view("exporter-svc")));
  trace::InstrumentationScope scope{"test", "1", "", {}};
  std::vector<trace::SpanDataPtr> spans;
  for (int i = 0; i < 50; ++i) {
    auto s = trace::AcquireSpanData();
    s->trace_id = trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736").value();
    s->span_id =
        trace::SpanId::FromHex(std::string("00f067aa0ba90") + std::to_string(100 + i)).value();
    s->flags = trace::TraceFlags(1);
    s->name = "span-" + std::to_string(i);
    s->start_time = kT0;
    s->end_time = kT0 + 1000;
    s->resource = &resource;
    s->scope = &scope;
    spans.push_back(std::move(s));
  }
  EXPECT_EQ(exporter->Export(spans, std::chrono::seconds(30)), sdk::ExportResult::kSuccess);
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0], std::chrono::seconds(1));  // the server's Retry-After, not a backoff guess
  EXPECT_NE(retried[0].message().find("429"), std::string::npos) << retried[0].ToString();
  auto trace =
      store_->GetTrace(std::string(*FromHex("4bf92f3577b34da6a3ce929d0e0e4736", 16, "id")));
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->resource_spans(0).scope_spans(0).spans_size(), 50);
  (void)exporter->Shutdown(std::chrono::seconds(1));
}

TEST_F(ApiServerTest, UiRoutingServesAssetsIndexForDeepLinksAnd404ForTheRest) {
  // A lookup following the UI's rule (include/minion/ui/assets.h): files, and index.html for
  // the app's routes.
  Start({}, [](std::string_view path) -> std::optional<UiAsset> {
    if (path == "/index.html" || path.starts_with("/trace/") || path.starts_with("/search"))
      return UiAsset{"text/html; charset=utf-8", "<html>INDEX</html>"};
    if (path == "/app.js") return UiAsset{"application/javascript", "console.log(1)"};
    return std::nullopt;
  });
  for (const char* path : {"/favicon.ico", "/admin", "/x.js"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("INDEX"), std::string::npos) << path;
  }
  for (const char* path : {"/api/nonexistent", "/api/v3/nonexistent", "/api/"}) {
    EXPECT_EQ(GetJson(path, 404)["error"]["httpCode"], 404) << path;
  }
  for (const char* path : {"/", "/trace/4bf92f3577b34da6a3ce929d0e0e4736", "/search?service=x"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, "<html>INDEX</html>") << path;
  }
  auto js = client_->Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->get_header_value("Content-Type"), "application/javascript");
  EXPECT_EQ(GetJson("/api/nothing/here", 404)["error"]["httpCode"], 404);
}

}  // namespace
}  // namespace minion::store
