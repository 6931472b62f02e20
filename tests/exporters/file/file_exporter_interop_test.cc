// The file exporter's OTLP/JSON lines, loaded by the OpenTelemetry project's generated
// protobuf code (tests/interop/node/otlp_grpc_file_decode.js): every line must survive
// fromObject -> encode -> decode -> toObject with nothing lost.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "minion/exporters/file_exporter.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

using nlohmann::json;

std::string NodeScript(const std::string& name) {
  const char* root = std::getenv("MINION_SOURCE_DIR");
  return std::string(root != nullptr ? root : MINION_TEST_SOURCE_DIR) + "/tests/interop/node/" +
         name;
}

std::vector<json> RunDecoder(const std::string& file) {
  const std::string cmd = "node " + NodeScript("otlp_grpc_file_decode.js") + " " + file;
  std::vector<json> out;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::string text;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << cmd << " failed (is node installed? run npm ci in tests/interop/node)";
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(json::parse(text.substr(start, nl - start)));
  }
  return out;
}

TEST(FileExporterInterop, LinesDecodeWithOpenTelemetryGeneratedCode) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("minion-file-interop-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  FileExporterOptions o;
  o.path = (dir / "traces.jsonl").string();
  otlp::testing::Fixture fx;
  {
    auto e = FileExporter::Create(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    std::vector<trace::SpanDataPtr> batch;
    batch.push_back(fx.RichSpan());
    batch.push_back(fx.RootSpan());
    ASSERT_EQ((*e)->Export(batch, std::chrono::seconds(1)), sdk::ExportResult::kSuccess);
    std::vector<trace::SpanDataPtr> seed;
    for (int i = 0; i < 3; ++i) seed.push_back(fx.SeedSpan(i));
    ASSERT_EQ((*e)->Export(seed, std::chrono::seconds(1)), sdk::ExportResult::kSuccess);
    ASSERT_TRUE((*e)->Shutdown(std::chrono::seconds(1)).ok());
  }
  const auto lines = RunDecoder(o.path);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) EXPECT_TRUE(l.value("ok", false)) << l.dump();

  const json& rs = lines[0]["request"]["resourceSpans"][0];
  const json& rich = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(rich["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(rich["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(rich["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(rich["kind"], 3);
  EXPECT_EQ(rich["links"][0]["traceState"], "vendor=linkstate");
  EXPECT_EQ(rich["status"]["code"], 2);
  EXPECT_EQ(lines[0]["flags"][0]["flags"], 0x303);
  EXPECT_EQ(lines[0]["flags"][0]["links"], json::parse("[769, 256]"));
  EXPECT_EQ(lines[1]["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 3u);
}

}  // namespace
}  // namespace minion::exporters
