#include "minion/exporters/file_exporter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::vector<std::string> ReadLines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The span names in one OTLP/JSON line, in order.
std::vector<std::string> SpanNames(const std::string& line) {
  std::vector<std::string> names;
  const auto j = nlohmann::json::parse(line);
  for (const auto& rs : j.at("resourceSpans"))
    for (const auto& ss : rs.at("scopeSpans"))
      for (const auto& s : ss.at("spans")) names.push_back(s.at("name"));
  return names;
}

class FileExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("minion-file-exporter-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }

  // One batch with one span named `name`.
  sdk::ExportResult ExportNamed(sdk::SpanExporter& e, const std::string& name) {
    trace::SpanDataPtr spans[1] = {fx_.SeedSpan(0)};
    spans[0]->name = name;
    return e.Export(spans, milliseconds(1000));
  }

  FileExporterOptions Options() {
    FileExporterOptions o;
    o.path = (dir_ / "traces.jsonl").string();
    return o;
  }

  fs::path dir_;
  otlp::testing::Fixture fx_;
};

TEST_F(FileExporterTest, WritesOneRequestPerLine) {
  auto r = FileExporter::Create(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto& e = **r;
  EXPECT_EQ(e.Name(), "file");
  std::vector<trace::SpanDataPtr> batch;
  batch.push_back(fx_.RichSpan());
  batch.push_back(fx_.RootSpan());
  ASSERT_EQ(e.Export(batch, milliseconds(1000)), sdk::ExportResult::kSuccess);
  ASSERT_EQ(ExportNamed(e, "second"), sdk::ExportResult::kSuccess);
  ASSERT_TRUE(e.ForceFlush(milliseconds(1000)).ok());

  const auto lines = ReadLines(Options().path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(SpanNames(lines[0]),
            (std::vector<std::string>{"worker.summarize", "orchestrator.run"}));
  EXPECT_EQ(SpanNames(lines[1]), std::vector<std::string>{"second"});
  EXPECT_EQ(
      nlohmann::json::parse(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"],
      "0af7651916cd43dd8448eb211c80319c");
  const auto st = e.stats();
  EXPECT_EQ(st.exported_spans, 3u);
  EXPECT_EQ(st.lines, 2u);
  EXPECT_EQ(st.rotations, 0u);
}

TEST_F(FileExporterTest, AppendsToAnExistingFile) {
  {
    auto e = FileExporter::Create(Options());
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(ExportNamed(**e, "one"), sdk::ExportResult::kSuccess);
  }
  auto e = FileExporter::Create(Options());
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(ExportNamed(**e, "two"), sdk::ExportResult::kSuccess);
  const auto lines = ReadLines(Options().path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(SpanNames(lines[1]), std::vector<std::string>{"two"});
}

TEST_F(FileExporterTest, RotatesBySizeAndKeepsMaxFiles) {
  // Measure one line, then allow two per file.
  std::size_t line_size = 0;
  {
    auto o = Options();
    o.path = (dir_ / "probe.jsonl").string();
    auto e = FileExporter::Create(o);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(ExportNamed(**e, "batch-0"), sdk::ExportResult::kSuccess);
    line_size = fs::file_size(o.path);
  }
  auto o = Options();
  o.max_bytes = 2 * line_size + 1;
  o.max_files = 3;
  auto r = FileExporter::Create(o);
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 9; ++i)
    ASSERT_EQ(ExportNamed(**r, "batch-" + std::to_string(i)), sdk::ExportResult::kSuccess);

  // 9 lines, 2 per file: [0,1] [2,3] [4,5] [6,7] [8]; three files kept: path.2=[4,5] path.1=[6,7]
  // path=[8].
  EXPECT_EQ((*r)->stats().rotations, 4u);
  EXPECT_FALSE(fs::exists(o.path + ".3"));
  std::map<std::string, std::vector<std::string>> want = {{o.path + ".2", {"batch-4", "batch-5"}},
                                                          {o.path + ".1", {"batch-6", "batch-7"}},
                                                          {o.path, {"batch-8"}}};
  for (const auto& [file, names] : want) {
    const auto lines = ReadLines(file);
    ASSERT_EQ(lines.size(), names.size()) << file;
    for (std::size_t i = 0; i < lines.size(); ++i)
      EXPECT_EQ(SpanNames(lines[i])[0], names[i]) << file;
    EXPECT_LE(fs::file_size(file), o.max_bytes) << file;
  }
}

TEST_F(FileExporterTest, OneFileMeansTruncateOnRotation) {
  auto o = Options();
  o.max_bytes = 1;  // every line is larger: each one starts a fresh (truncated) file
  o.max_files = 1;
  auto r = FileExporter::Create(o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(ExportNamed(**r, "a"), sdk::ExportResult::kSuccess);
  ASSERT_EQ(ExportNamed(**r, "b"), sdk::ExportResult::kSuccess);
  const auto lines = ReadLines(o.path);
  ASSERT_EQ(lines.size(), 1u);  // an oversized line is still written, alone
  EXPECT_EQ(SpanNames(lines[0])[0], "b");
  EXPECT_FALSE(fs::exists(o.path + ".1"));
}

TEST_F(FileExporterTest, MissingDirectoryFailsWithThePath) {
  auto o = Options();
  o.path = (dir_ / "no-such-dir" / "t.jsonl").string();
  auto r = FileExporter::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(o.path), std::string::npos) << r.status().ToString();
}

TEST_F(FileExporterTest, UnwritableDirectoryFailsClearly) {
  std::string path;
  if (::geteuid() == 0) {
    // root ignores directory modes; sysfs refuses file creation even to root.
    path = "/sys/minion-file-exporter-test.jsonl";
  } else {
    const fs::path ro = dir_ / "read-only";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    path = (ro / "t.jsonl").string();
  }
  auto o = Options();
  o.path = path;
  auto r = FileExporter::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_NE(r.status().message().find("writable"), std::string::npos) << r.status().ToString();
}

TEST_F(FileExporterTest, PathThatIsADirectoryIsRejected) {
  auto o = Options();
  o.path = dir_.string();
  EXPECT_FALSE(FileExporter::Create(o).ok());
}

TEST_F(FileExporterTest, ShutdownFlushesClosesAndIsIdempotent) {
  auto r = FileExporter::Create(Options());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(ExportNamed(**r, "x"), sdk::ExportResult::kSuccess);
  EXPECT_TRUE((*r)->Shutdown(milliseconds(1000)).ok());
  EXPECT_TRUE((*r)->Shutdown(milliseconds(1000)).ok());
  EXPECT_TRUE((*r)->ForceFlush(milliseconds(1000)).ok());
  EXPECT_EQ(ExportNamed(**r, "late"), sdk::ExportResult::kFailure);
  EXPECT_EQ(ReadLines(Options().path).size(), 1u);
}

TEST(FileExporterOptions, FromEnv) {
  std::map<std::string, std::string> env;
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto d = FileExporterOptions::FromEnv(lookup);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->path, "./minion-traces.jsonl");
  EXPECT_EQ(d->max_bytes, 64ull << 20);
  EXPECT_EQ(d->max_files, 5u);

  env = {{"MINION_FILE_EXPORTER_PATH", "/tmp/x.jsonl"},
         {"MINION_FILE_EXPORTER_MAX_BYTES", "1000"},
         {"MINION_FILE_EXPORTER_MAX_FILES", "2"}};
  auto o = FileExporterOptions::FromEnv(lookup);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->path, "/tmp/x.jsonl");
  EXPECT_EQ(o->max_bytes, 1000u);
  EXPECT_EQ(o->max_files, 2u);

  env = {{"MINION_FILE_EXPORTER_MAX_BYTES", "lots"}};
  auto bad = FileExporterOptions::FromEnv(lookup);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("MINION_FILE_EXPORTER_MAX_BYTES"), std::string::npos);
  env = {{"MINION_FILE_EXPORTER_MAX_FILES", "0"}};
  EXPECT_FALSE(FileExporterOptions::FromEnv(lookup).ok());
}

}  // namespace
}  // namespace minion::exporters
