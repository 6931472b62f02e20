// The default demo acts through tools: `minion run` (a real child process, the offline
// provider) writes the generated file into the task's workspace with tool.write_file, records
// it with storage.insert, prints where the file is, and its exported trace (the file exporter's
// OTLP/JSON lines) shows the seed's subtree under worker.code_generation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "minion/agents/external_worker.h"
#include "minion/common/json.h"

namespace minion::agents {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

struct SpanRow {
  std::string name;
  std::string parent;
};

// span id -> (name, parent id) from OTLP/JSON lines.
std::map<std::string, SpanRow> ReadSpans(const fs::path& file) {
  std::map<std::string, SpanRow> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto doc = ParseJson(line, "trace line");
    if (!doc.ok()) continue;
    for (const auto& rs : (*doc)["resourceSpans"]) {
      for (const auto& ss : rs["scopeSpans"]) {
        for (const auto& span : ss["spans"]) {
          out[span["spanId"].get<std::string>()] = {span["name"].get<std::string>(),
                                                    span.value("parentSpanId", std::string())};
        }
      }
    }
  }
  return out;
}

class ToolsDemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("minion_tools_demo_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  ExternalCommandOptions Cli(std::vector<std::string> args) {
    ExternalCommandOptions o;
    o.argv = {
        MINION_CLI,        "run",        "--name", "Generate REST API", "--type",
        "code_generation", "--priority", "8",      "--workspace",       (dir_ / "ws").string()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.timeout = std::chrono::seconds(60);
    o.env["OTEL_TRACES_EXPORTER"] = "none";
    o.env["MINION_LLM_PROVIDER"] = "offline";
    o.env["MINION_FILE_EXPORTER_PATH"] = (dir_ / "traces.jsonl").string();
    return o;
  }
  fs::path dir_;
};

TEST_F(ToolsDemoTest, TraceHasTheSeedsWorkerSubtreeAndTheFileExists) {
  auto out = RunExternalCommand({}, Cli({"--exporter", "file", "--json", "--no-trace-tree"}),
                                json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ((*out)["status"], "succeeded") << out->dump();
  const json& output = (*out)["subtasks"][0]["output"];
  ASSERT_TRUE(output.contains("files")) << output.dump();
  const fs::path file = output["files"][0].get<std::string>();
  const std::string task_id = (*out)["task_id"].get<std::string>();
  EXPECT_EQ(file.parent_path().parent_path(), dir_ / "ws" / task_id);
  ASSERT_TRUE(fs::exists(file)) << file;
  std::ifstream in(file);
  std::stringstream code;
  code << in.rdbuf();
  EXPECT_THAT(code.str(), HasSubstr("Generate REST API"));
  EXPECT_EQ(output["rounds"], 3);

  auto spans = ReadSpans(dir_ / "traces.jsonl");
  std::string worker;
  for (const auto& [id, row] : spans) {
    if (row.name == "worker.code_generation") worker = id;
  }
  ASSERT_FALSE(worker.empty()) << "no worker.code_generation span among " << spans.size();
  std::multiset<std::string> children;
  for (const auto& [id, row] : spans) {
    if (row.parent == worker) children.insert(row.name.rfind("llm.", 0) == 0 ? "llm.*" : row.name);
  }
  EXPECT_EQ(children.count("llm.*"), 3u);
  EXPECT_EQ(children.count("tool.write_file"), 1u);
  EXPECT_EQ(children.count("tool.storage_insert"), 1u);
  // storage.insert sits under the worker (through the storage tool's span).
  int inserts_under_worker = 0;
  for (const auto& [id, row] : spans) {
    if (row.name != "storage.insert") continue;
    std::string at = row.parent;
    for (int hops = 0; hops < 10 && !at.empty() && at != worker; ++hops) at = spans[at].parent;
    if (at == worker) ++inserts_under_worker;
  }
  EXPECT_EQ(inserts_under_worker, 1);
}

TEST_F(ToolsDemoTest, HumanOutputSaysWhereTheFileIs) {
  ExternalCommandOptions o = Cli({"--no-trace-tree"});
  o.raw_stdout = true;
  auto out = RunExternalCommand({}, o, json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::string text = out->get<std::string>();
  EXPECT_THAT(text, HasSubstr("    file: " + (dir_ / "ws").string()));
  EXPECT_THAT(text, HasSubstr("generated/generate_rest_api.cc"));
}

TEST_F(ToolsDemoTest, NoToolsKeepsTheModelOnlyWorkers) {
  auto out =
      RunExternalCommand({}, Cli({"--no-tools", "--json", "--no-trace-tree"}), json::object());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["status"], "succeeded");
  EXPECT_FALSE((*out)["subtasks"][0]["output"].contains("files"));
  EXPECT_FALSE(fs::exists(dir_ / "ws" / (*out)["task_id"].get<std::string>()));
}

}  // namespace
}  // namespace minion::agents
