// Exports real spans (SDK tracer -> SimpleSpanProcessor -> JaegerExporter) over real HTTP to
// tests/interop/node/jaeger_receiver.js, which decodes them with the Jaeger project's own
// Thrift IDL via thriftrw, and checks every mapped field in what Jaeger's decoder saw.

#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <map>

#include "exporters/common/test_helpers.h"
#include "exporters/jaeger/node_receiver.h"
#include "minion/exporters/jaeger_exporter.h"
#include "minion/sdk/sampler.h"
#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::exporters {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::NodeReceiver;

constexpr UnixNanos kStart = 1'700'000'000'123'456'789ULL;

// thriftrw prints i64 as 16 hex digits (big-endian); read them back as a signed value.
std::int64_t HexI64(const json& v) {
  return static_cast<std::int64_t>(std::stoull(v.get<std::string>(), nullptr, 16));
}

std::map<std::string, json> TagsByKey(const json& tags) {
  std::map<std::string, json> out;
  for (const auto& t : tags) {
    EXPECT_EQ(out.count(t["key"]), 0u) << "duplicate tag " << t["key"];
    out[t["key"].get<std::string>()] = t;
  }
  return out;
}

void ExpectTag(const std::map<std::string, json>& tags, const std::string& key,
               const std::string& type, const json& value) {
  auto it = tags.find(key);
  ASSERT_NE(it, tags.end()) << "missing tag " << key;
  const json& t = it->second;
  EXPECT_EQ(t["vType"], type) << key;
  if (type == "STRING") {
    EXPECT_EQ(t["vStr"], value) << key;
  } else if (type == "BOOL") {
    EXPECT_EQ(t["vBool"], value) << key;
  } else if (type == "DOUBLE") {
    EXPECT_EQ(t["vDouble"], value) << key;
  } else if (type == "LONG") {
    EXPECT_EQ(HexI64(t["vLong"]), value.get<std::int64_t>()) << key;
  }
}

struct Harness {
  explicit Harness(JaegerExporterOptions options, trace::SpanLimits limits = {}) {
    auto exporter = JaegerExporter::Create(std::move(options));
    EXPECT_TRUE(exporter.ok()) << exporter.status().ToString();
    sdk::TracerProviderOptions po;
    po.sampler = sdk::MakeAlwaysOnSampler();
    po.processors.push_back(
        std::make_unique<sdk::SimpleSpanProcessor>(std::move(exporter).value()));
    po.clock = &clock;
    po.merge_environment_resource = false;
    po.limits = limits;
    po.resource.attributes.Set("service.name", "jaeger-interop");
    po.resource.attributes.Set("deployment.environment", "test");
    po.resource.attributes.Set("host.cpus", 2);
    provider = sdk::TracerProvider::Create(std::move(po));
    tracer = provider->GetTracer("minion.jaeger.test", "2.1.0");
  }
  ~Harness() { provider->Shutdown(); }

  SimulatedClock clock{kStart};
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
};

TEST(JaegerExporterInteropTest, JaegersOwnIdlDecodesEveryMappedField) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  JaegerExporterOptions options;
  options.endpoint = receiver.endpoint();
  options.username = "jaeger";
  options.password = "s3cret";
  options.headers["x-tenant"] = "minion";
  Harness h(options);

  // A remote parent with a tracestate, as a worker process would receive it.
  auto ts = trace::TraceState::FromHeader("vendor=abc,minion=1");
  ASSERT_TRUE(ts.has_value());
  auto parent_trace = trace::TraceId::FromHex("0af7651916cd43dd8448eb211c80319c").value();
  auto parent_span = trace::SpanId::FromHex("b7ad6b7169203331").value();
  trace::SpanContext remote(parent_trace, parent_span,
                            trace::TraceFlags(trace::TraceFlags::kSampled), true,
                            std::make_shared<const trace::TraceState>(*ts));
  trace::Context parent_ctx = trace::Context().WithSpanContext(remote);
  auto link_trace = trace::TraceId::FromHex("ff00000000000001800000000000000f").value();
  auto link_span = trace::SpanId::FromHex("8000000000000001").value();
  trace::SpanContext linked(link_trace, link_span, trace::TraceFlags(1), true);

  trace::SpanStartOptions so;
  so.kind = trace::SpanKind::kServer;
  so.parent = &parent_ctx;
  so.links = std::span<const trace::SpanContext>(&linked, 1);
  trace::Span server = h.tracer->StartSpan("worker.search", so);
  const std::vector<std::string> caps = {"search", "summarize \"quoted\""};
  const std::vector<std::int64_t> ints = {1, -2, 3};
  const std::vector<double> doubles = {0.5, 2.25};
  const std::vector<bool> bools = {true, false};
  server.SetAttributes({{"multiagent.task.id", "task-42"},
                        {"multiagent.task.priority", 7},
                        {"score", 0.75},
                        {"ok", false},
                        {"caps", caps},
                        {"ints", ints},
                        {"doubles", doubles},
                        {"bools", bools},
                        {"error", "user value, replaced on ERROR"}});
  h.clock.Advance(milliseconds(5));
  // Explicit event times: Span::AddEvent(time = 0) reads SystemClock, not the provider's clock.
  const UnixNanos event_time = h.clock.Now() + 999;  // sub-µs part is truncated
  server.AddEvent("tool.called", {{"tool", "web"}, {"attempt", 2}}, event_time);
  server.AddEvent("custom", {{"event", "overrides name"}}, event_time);

  trace::Context server_ctx = trace::Context().WithSpan(server);
  const std::pair<trace::SpanKind, std::string> kinds[] = {{trace::SpanKind::kClient, "client"},
                                                           {trace::SpanKind::kProducer, "producer"},
                                                           {trace::SpanKind::kConsumer, "consumer"},
                                                           {trace::SpanKind::kInternal, ""}};
  std::vector<trace::SpanId> child_ids;
  for (const auto& [kind, _] : kinds) {
    trace::SpanStartOptions co;
    co.kind = kind;
    co.parent = &server_ctx;
    trace::Span child = h.tracer->StartSpan("child", co);
    child_ids.push_back(child.GetContext().span_id());
    child.SetStatus(trace::SpanStatusCode::kOk);
    h.clock.Advance(std::chrono::microseconds(1500));
    child.End();
  }
  server.SetStatus(trace::SpanStatusCode::kError, "tool failed");
  h.clock.Advance(std::chrono::nanoseconds(2'000'999));
  const trace::SpanId server_id = server.GetContext().span_id();
  server.End();

  // SimpleSpanProcessor exports each span as it ends: four children, then the server span.
  std::vector<json> lines;
  for (int i = 0; i < 5; ++i) {
    auto line = receiver.Next();
    ASSERT_TRUE(line.has_value()) << "receiver exited";
    ASSERT_EQ((*line)["status"], 202) << line->dump();
    ASSERT_TRUE(line->contains("batch")) << line->dump();
    lines.push_back(*line);
  }

  // HTTP as the collector sees it.
  const json& first = lines[0];
  EXPECT_EQ(first["method"], "POST");
  EXPECT_EQ(first["path"], "/api/traces");
  EXPECT_EQ(first["headers"]["content-type"], "application/x-thrift");
  EXPECT_EQ(first["headers"]["x-tenant"], "minion");
  EXPECT_EQ(first["headers"]["authorization"], "Basic amFlZ2VyOnMzY3JldA==");  // jaeger:s3cret

  // Process: serviceName from service.name; the other resource attributes as tags.
  const json& process = first["batch"]["process"];
  EXPECT_EQ(process["serviceName"], "jaeger-interop");
  auto ptags = TagsByKey(process["tags"]);
  EXPECT_EQ(ptags.count("service.name"), 0u);
  ExpectTag(ptags, "deployment.environment", "STRING", "test");
  ExpectTag(ptags, "host.cpus", "LONG", 2);
  ExpectTag(ptags, "telemetry.sdk.language", "STRING", "cpp");

  // Children: ids, parent, CHILD_OF reference, kinds, OK status, times.
  const std::string trace_hex = parent_trace.ToHex();
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(lines[i]["batch"]["spans"].size(), 1u);
    const json& s = lines[i]["batch"]["spans"][0];
    EXPECT_EQ(s["traceIdHigh"], trace_hex.substr(0, 16));
    EXPECT_EQ(s["traceIdLow"], trace_hex.substr(16));
    EXPECT_EQ(s["spanId"], child_ids[i].ToHex());
    EXPECT_EQ(s["parentSpanId"], server_id.ToHex());
    EXPECT_EQ(s["operationName"], "child");
    EXPECT_EQ(s["flags"], 1);
    ASSERT_EQ(s["references"].size(), 1u);
    EXPECT_EQ(s["references"][0]["refType"], "CHILD_OF");
    EXPECT_EQ(s["references"][0]["spanId"], server_id.ToHex());
    EXPECT_EQ(s["references"][0]["traceIdHigh"], trace_hex.substr(0, 16));
    EXPECT_EQ(s["references"][0]["traceIdLow"], trace_hex.substr(16));
    EXPECT_EQ(HexI64(s["duration"]), 1500);
    auto tags = TagsByKey(s["tags"]);
    if (kinds[i].second.empty()) {
      EXPECT_EQ(tags.count("span.kind"), 0u) << "internal spans carry no span.kind";
    } else {
      ExpectTag(tags, "span.kind", "STRING", kinds[i].second);
    }
    ExpectTag(tags, "otel.status_code", "STRING", "OK");
    EXPECT_EQ(tags.count("error"), 0u);
    EXPECT_EQ(tags.count("otel.status_description"), 0u);
    ExpectTag(tags, "otel.scope.name", "STRING", "minion.jaeger.test");
    ExpectTag(tags, "otel.scope.version", "STRING", "2.1.0");
    ExpectTag(tags, "w3c.tracestate", "STRING", "vendor=abc,minion=1");
    EXPECT_FALSE(s.contains("logs"));
  }
  EXPECT_EQ(HexI64(lines[1]["batch"]["spans"][0]["startTime"]),
            static_cast<std::int64_t>((kStart + 5'000'000 + 1'500'000) / 1000));

  // The server span: remote parent, link, every attribute type, events, error status.
  const json& s = lines[4]["batch"]["spans"][0];
  EXPECT_EQ(s["operationName"], "worker.search");
  EXPECT_EQ(s["spanId"], server_id.ToHex());
  EXPECT_EQ(s["parentSpanId"], parent_span.ToHex());
  EXPECT_EQ(HexI64(s["startTime"]), static_cast<std::int64_t>(kStart / 1000));  // truncated µs
  // 5 ms + 4 x 1.5 ms + 2.000999 ms = 13.000999 ms -> 13000 µs (truncated)
  EXPECT_EQ(HexI64(s["duration"]), 13000);
  ASSERT_EQ(s["references"].size(), 2u);
  EXPECT_EQ(s["references"][0]["refType"], "CHILD_OF");
  EXPECT_EQ(s["references"][0]["spanId"], parent_span.ToHex());
  EXPECT_EQ(s["references"][1]["refType"], "FOLLOWS_FROM");
  EXPECT_EQ(s["references"][1]["traceIdHigh"], "ff00000000000001");
  EXPECT_EQ(s["references"][1]["traceIdLow"], "800000000000000f");
  EXPECT_EQ(s["references"][1]["spanId"], "8000000000000001");
  // Big-endian halves read as signed i64, per the specification.
  EXPECT_EQ(HexI64(s["references"][1]["traceIdHigh"]),
            static_cast<std::int64_t>(0xff00000000000001ULL));

  auto tags = TagsByKey(s["tags"]);
  ExpectTag(tags, "multiagent.task.id", "STRING", "task-42");
  ExpectTag(tags, "multiagent.task.priority", "LONG", 7);
  ExpectTag(tags, "score", "DOUBLE", 0.75);
  ExpectTag(tags, "ok", "BOOL", false);
  // Arrays as JSON text: parse it back rather than compare spelling.
  EXPECT_EQ(json::parse(tags.at("caps")["vStr"].get<std::string>()), json(caps));
  EXPECT_EQ(tags.at("caps")["vType"], "STRING");
  EXPECT_EQ(json::parse(tags.at("ints")["vStr"].get<std::string>()), json(ints));
  EXPECT_EQ(json::parse(tags.at("doubles")["vStr"].get<std::string>()), json(doubles));
  EXPECT_EQ(json::parse(tags.at("bools")["vStr"].get<std::string>()), json::parse("[true,false]"));
  ExpectTag(tags, "span.kind", "STRING", "server");
  ExpectTag(tags, "otel.status_code", "STRING", "ERROR");
  ExpectTag(tags, "otel.status_description", "STRING", "tool failed");
  ExpectTag(tags, "error", "BOOL", true);  // replaces the user's "error" attribute
  ExpectTag(tags, "w3c.tracestate", "STRING", "vendor=abc,minion=1");

  ASSERT_EQ(s["logs"].size(), 2u);
  EXPECT_EQ(HexI64(s["logs"][0]["timestamp"]), static_cast<std::int64_t>(event_time / 1000));
  auto f0 = TagsByKey(s["logs"][0]["fields"]);
  ExpectTag(f0, "event", "STRING", "tool.called");
  ExpectTag(f0, "tool", "STRING", "web");
  ExpectTag(f0, "attempt", "LONG", 2);
  auto f1 = TagsByKey(s["logs"][1]["fields"]);
  ExpectTag(f1, "event", "STRING", "overrides name");  // the attribute wins over the name
}

TEST(JaegerExporterInteropTest, RootSpanHasNoParentAndNoReferences) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  JaegerExporterOptions options;
  options.endpoint = receiver.endpoint();
  Harness h(options);
  trace::SpanStartOptions so;
  so.new_root = true;
  trace::Span root = h.tracer->StartSpan("root", so);
  const std::string trace_hex = root.GetContext().trace_id().ToHex();
  root.End();
  auto line = receiver.Next();
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["status"], 202) << line->dump();
  const json& s = (*line)["batch"]["spans"][0];
  EXPECT_EQ(s["parentSpanId"], "0000000000000000");
  EXPECT_FALSE(s.contains("references"));
  EXPECT_EQ(s["traceIdHigh"].get<std::string>() + s["traceIdLow"].get<std::string>(), trace_hex);
  auto tags = TagsByKey(s["tags"]);
  EXPECT_EQ(tags.count("otel.status_code"), 0u);  // UNSET is not reported
  EXPECT_EQ(tags.count("span.kind"), 0u);
  EXPECT_EQ(tags.count("w3c.tracestate"), 0u);
}

TEST(JaegerExporterInteropTest, DroppedCountsBecomeTags) {
  NodeReceiver receiver;
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  JaegerExporterOptions options;
  options.endpoint = receiver.endpoint();
  trace::SpanLimits limits;
  limits.attribute_count = 2;
  limits.event_count = 1;
  limits.attributes_per_event = 1;
  Harness h(options, limits);
  trace::Span span = h.tracer->StartSpan("limited");
  span.SetAttributes({{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}});
  span.AddEvent("kept", {{"x", 1}, {"y", 2}}, h.clock.Now());
  span.AddEvent("dropped", {}, h.clock.Now());
  span.End();
  auto line = receiver.Next();
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["status"], 202) << line->dump();
  const json& s = (*line)["batch"]["spans"][0];
  auto tags = TagsByKey(s["tags"]);
  ExpectTag(tags, "otel.dropped_attributes_count", "LONG", 2);
  ExpectTag(tags, "otel.dropped_events_count", "LONG", 1);
  EXPECT_EQ(tags.count("c"), 0u);
  ASSERT_EQ(s["logs"].size(), 1u);
  auto fields = TagsByKey(s["logs"][0]["fields"]);
  ExpectTag(fields, "event", "STRING", "kept");
  ExpectTag(fields, "otel.event.dropped_attributes_count", "LONG", 1);
}

// --- Faults: real server answering with errors, and a port nobody listens on. ---

std::vector<trace::SpanDataPtr> OneSpan(const trace::Resource* resource) {
  std::vector<trace::SpanDataPtr> spans;
  auto s = trace::AcquireSpanData();
  s->trace_id = trace::TraceId::FromHex("0102030405060708090a0b0c0d0e0f10").value();
  s->span_id = trace::SpanId::FromHex("1112131415161718").value();
  s->flags = trace::TraceFlags(1);
  s->name = "fault";
  s->start_time = kStart;
  s->end_time = kStart + 1000;
  s->resource = resource;
  spans.push_back(std::move(s));
  return spans;
}

JaegerExporterOptions FastRetries(std::string endpoint) {
  JaegerExporterOptions o;
  o.endpoint = std::move(endpoint);
  o.retry.max_attempts = 4;
  o.retry.initial_backoff = milliseconds(10);
  o.retry.max_backoff = milliseconds(50);
  return o;
}

TEST(JaegerExporterFaultTest, RetriesA503AndThenSucceeds) {
  NodeReceiver receiver({"--fail-status", "503", "--fail-count", "2"});
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  auto exporter = JaegerExporter::Create(FastRetries(receiver.endpoint()));
  ASSERT_TRUE(exporter.ok());
  trace::Resource resource;
  resource.attributes.Set("service.name", "fault-test");
  auto spans = OneSpan(&resource);
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kSuccess);
  receiver.Stop();
  for (int i = 0; i < 2; ++i) {
    auto line = receiver.Next();
    ASSERT_TRUE(line.has_value());
    EXPECT_EQ((*line)["status"], 503);
  }
  auto line = receiver.Next();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ((*line)["status"], 202);
  EXPECT_EQ((*line)["batch"]["process"]["serviceName"], "fault-test");
  EXPECT_EQ((*line)["batch"]["spans"][0]["operationName"], "fault");
  EXPECT_FALSE(receiver.Next().has_value());
  EXPECT_TRUE((*exporter)->Shutdown(milliseconds(1000)).ok());
}

TEST(JaegerExporterFaultTest, GivesUpAfterMaxAttemptsOfRetryableStatus) {
  NodeReceiver receiver({"--fail-status", "503", "--fail-count", "1000"});
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  auto exporter = JaegerExporter::Create(FastRetries(receiver.endpoint()));
  ASSERT_TRUE(exporter.ok());
  auto spans = OneSpan(nullptr);
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  EXPECT_TRUE((*exporter)->Shutdown(milliseconds(1000)).ok());
  receiver.Stop();
  int requests = 0;
  while (auto line = receiver.Next()) {
    EXPECT_EQ((*line)["status"], 503);
    ++requests;
  }
  EXPECT_EQ(requests, 4);  // max_attempts, no more
}

TEST(JaegerExporterFaultTest, DoesNotRetryA400) {
  NodeReceiver receiver({"--fail-status", "400", "--fail-count", "1000"});
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  auto exporter = JaegerExporter::Create(FastRetries(receiver.endpoint()));
  ASSERT_TRUE(exporter.ok());
  auto spans = OneSpan(nullptr);
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  receiver.Stop();
  auto a = receiver.Next();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ((*a)["status"], 400);
  EXPECT_FALSE(receiver.Next().has_value()) << "a 400 must not be retried";
}

// Shutdown ends a retrying Export at once, whether it is in the backoff wait or in a request
// (the progress callback aborts the transfer).
TEST(JaegerExporterFaultTest, ShutdownInterruptsARetryingExport) {
  NodeReceiver receiver({"--fail-status", "503", "--fail-count", "1000"});
  ASSERT_GT(receiver.port(), 0) << receiver.error();
  auto options = FastRetries(receiver.endpoint());
  options.retry.initial_backoff = std::chrono::minutes(10);  // only Shutdown can end the wait
  options.retry.max_backoff = std::chrono::minutes(10);
  auto exporter = JaegerExporter::Create(options);
  ASSERT_TRUE(exporter.ok());
  auto spans = OneSpan(nullptr);
  auto result = std::async(std::launch::async,
                           [&] { return (*exporter)->Export(spans, std::chrono::hours(1)); });
  auto first = receiver.Next();  // the first attempt reached the server and got its 503
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["status"], 503);
  EXPECT_TRUE((*exporter)->Shutdown(std::chrono::seconds(30)).ok());
  ASSERT_EQ(result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(result.get(), sdk::ExportResult::kFailure);
}

TEST(JaegerExporterFaultTest, CollectorDownFailsWithinTheExportTimeout) {
  const int port = test_helpers::UnusedPort();  // nothing listens there
  ASSERT_GT(port, 0);
  auto options = FastRetries("http://127.0.0.1:" + std::to_string(port) + "/api/traces");
  options.retry.max_attempts = 1000;  // only the timeout can end it
  auto exporter = JaegerExporter::Create(options);
  ASSERT_TRUE(exporter.ok());
  auto spans = OneSpan(nullptr);
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(300)), sdk::ExportResult::kFailure);
  EXPECT_TRUE((*exporter)->Shutdown(milliseconds(1000)).ok());
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(300)), sdk::ExportResult::kFailure);
}

// A collector that is down: one "dropped" line per 10 s of the exporter's (simulated) clock,
// the rest counted and reported with the next line or at Shutdown.
TEST(JaegerExporterFaultTest, DroppedLinesAreRateLimitedWithSuppressedCounts) {
  SimulatedClock clock{kStart};
  JaegerExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(test_helpers::UnusedPort()) + "/api/traces";
  o.retry.max_attempts = 1;
  o.clock = &clock;
  auto exporter = JaegerExporter::Create(o);
  ASSERT_TRUE(exporter.ok());
  auto spans = OneSpan(nullptr);

  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  EXPECT_EQ((*exporter)->Export(spans, milliseconds(10000)), sdk::ExportResult::kFailure);
  EXPECT_TRUE((*exporter)->Shutdown(milliseconds(5000)).ok());
  const std::string err = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(test_helpers::CountOf(err, "minion jaeger exporter: dropped 1 spans"), 2u) << err;
  EXPECT_EQ(test_helpers::CountOf(err, "(2 more failures suppressed since the previous message)"),
            1u)
      << err;
  EXPECT_EQ(test_helpers::CountOf(err, "minion jaeger exporter: 1 more failure suppressed"), 1u)
      << err;
}

TEST(JaegerExporterTest, CreateRejectsBadOptions) {
  JaegerExporterOptions o;
  o.endpoint = "localhost:14268/api/traces";
  auto r = JaegerExporter::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  o.endpoint = "http://localhost:14268/api/traces";
  o.timeout = milliseconds(0);
  EXPECT_FALSE(JaegerExporter::Create(o).ok());
  o.timeout = milliseconds(100);
  auto ok = JaegerExporter::Create(o);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->Name(), "jaeger");
}

}  // namespace
}  // namespace minion::exporters
