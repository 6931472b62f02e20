// `minion run --workers FILE` end to end (issue 12, "Workers and settings from a file"): real
// `minion` child processes running examples/workers.yaml (the external command worker really
// runs, the analyst really uses its own model, the reviewer really has no write_file), and a
// real chat-completions server on 127.0.0.1 that asks a tool-restricted worker for a tool the
// file did not give it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "integration/cli_process.h"
#include "llm/test_http_server.h"

namespace minion::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const fs::path kExample = fs::path(MINION_SOURCE_DIR) / "examples" / "workers.yaml";

class WorkersFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("minion_workers_file_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `minion run --workers <file> --type <capability> --json` in the offline demo setting.
  CliOutcome Run(const fs::path& workers, const std::string& type,
                 std::map<std::string, std::string> env = {}, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {MINION_CLI,    "run",
                                     "--name",      "Ship 1.2",
                                     "--type",      type,
                                     "--workers",   workers.string(),
                                     "--workspace", (dir_ / "ws").string(),
                                     "--json",      "--no-trace-tree"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("OTEL_TRACES_EXPORTER", "none");
    env.emplace("MINION_LLM_PROVIDER", "offline");
    return RunCli(argv, env);
  }
  static json Parse(const CliOutcome& out) {
    json doc = json::parse(out.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << "stdout is not JSON:\n"
                                     << out.out << "\nstderr:\n"
                                     << out.err;
    return doc;
  }
  fs::path dir_;
};

TEST_F(WorkersFileTest, TaskGoesToTheExternalCommandWorkerTheFileDeclares) {
  CliOutcome out = Run(kExample, "release_notes");
  ASSERT_EQ(out.exit_code, 0) << out.err << out.out;
  json doc = Parse(out);
  ASSERT_EQ(doc["status"], "succeeded") << doc.dump(2);
  const json& subtask = doc["subtasks"][0];
  EXPECT_EQ(subtask["worker_id"], "notes");
  // The script's own answer proves it ran; its TRACEPARENT carries this task's trace id.
  const json& output = subtask["output"];
  EXPECT_EQ(output["worker"], "release_notes.sh");
  EXPECT_THAT(output["text"].get<std::string>(),
              HasSubstr("Release notes drafted by the external worker"));
  const std::string traceparent = output.value("traceparent", "");
  ASSERT_EQ(traceparent.size(), 55u) << traceparent;
  EXPECT_EQ(traceparent.substr(3, 32), doc["trace_id"].get<std::string>());
}

TEST_F(WorkersFileTest, WorkerUsesTheModelTheFileGivesIt) {
  CliOutcome out = Run(kExample, "data_analysis");
  ASSERT_EQ(out.exit_code, 0) << out.err << out.out;
  json doc = Parse(out);
  const json& subtask = doc["subtasks"][0];
  EXPECT_EQ(subtask["worker_id"], "analyst-1");
  EXPECT_EQ(subtask["output"]["model"], "offline-analyst-2");  // not the default offline-echo-1
  EXPECT_FALSE(subtask["output"].contains("tool_calls")) << "tools: [] means no tool loop";
}

TEST_F(WorkersFileTest, OnlyTheCoderMayWriteFiles) {
  // The coder was given write_file: the offline model writes the generated file with it.
  CliOutcome coded = Run(kExample, "code_generation");
  ASSERT_EQ(coded.exit_code, 0) << coded.err << coded.out;
  json coder = Parse(coded)["subtasks"][0];
  EXPECT_EQ(coder["worker_id"], "coder-1");
  ASSERT_TRUE(coder["output"].contains("files")) << coder.dump(2);
  EXPECT_TRUE(fs::exists(coder["output"]["files"][0].get<std::string>()));
  // The reviewer was not: the same model, asked for code, is not offered write_file and writes
  // nothing (reviewing is code work to the offline model, which writes files when it can).
  CliOutcome reviewed = Run(kExample, "code_review");
  ASSERT_EQ(reviewed.exit_code, 0) << reviewed.err << reviewed.out;
  json reviewer = Parse(reviewed)["subtasks"][0];
  EXPECT_EQ(reviewer["worker_id"], "reviewer-1");
  EXPECT_FALSE(reviewer["output"].contains("files")) << reviewer.dump(2);
  EXPECT_EQ(reviewer["output"]["tool_calls"], json::array());
}

TEST_F(WorkersFileTest, TheFileReplacesTheDefaultWorkers) {
  // research belongs to the default researcher-1, which the example does not declare.
  CliOutcome out = Run(kExample, "research");
  EXPECT_EQ(out.exit_code, 1) << out.err << out.out;
  json doc = Parse(out);
  EXPECT_EQ(doc["status"], "failed");
  EXPECT_THAT(out.err, HasSubstr("research"));
}

TEST_F(WorkersFileTest, BadFileIsRefusedBeforeAnythingRuns) {
  const fs::path bad = dir_ / "bad.yaml";
  std::ofstream(bad) << "workers:\n  - name: c\n    kind: coder\n    concurrency: lots\n";
  CliOutcome out = Run(bad, "code_generation");
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.err, HasSubstr("--workers: " + bad.string() +
                                 ": workers[0] (c): 'concurrency' must be an integer"));
  EXPECT_TRUE(out.out.empty()) << out.out;
  const fs::path unknown_tool = dir_ / "tools.yaml";
  std::ofstream(unknown_tool) << "workers:\n  - {name: c, kind: coder, tools: [http_get]}\n";
  out = Run(unknown_tool, "code_generation");
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(
      out.err,
      HasSubstr(
          "'tools' names \"http_get\", which this run does not offer (write_file, read_file"));
}

// A model on a real HTTP server that always asks for write_file first: a worker the file limits
// to the calculator is offered only the calculator, and its write_file call comes back to the
// model as an error; nothing is written.
TEST_F(WorkersFileTest, RestrictedWorkerCannotCallOtherToolsOverHttp) {
  std::mutex mu;
  std::vector<json> bodies;
  TestHttpServer model([&](const HttpRequest& request) {
    json body = json::parse(request.body, nullptr, false);
    bool answered_tool = false;
    {
      std::lock_guard lock(mu);
      bodies.push_back(body);
    }
    if (body.is_object() && body.contains("messages") && !body["messages"].empty()) {
      answered_tool = body["messages"].back().value("role", "") == "tool";
    }
    json message = answered_tool
                       ? json{{"role", "assistant"}, {"content", "done without writing"}}
                       : json{{"role", "assistant"},
                              {"content", nullptr},
                              {"tool_calls",
                               {{{"id", "call-w"},
                                 {"type", "function"},
                                 {"function",
                                  {{"name", "write_file"},
                                   {"arguments", R"({"path":"x.txt","content":"x"})"}}}}}}};
    json reply{{"id", "chatcmpl-1"},
               {"model", body.value("model", "")},
               {"choices",
                {{{"index", 0},
                  {"finish_reason", answered_tool ? "stop" : "tool_calls"},
                  {"message", message}}}},
               {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 3}}}};
    return HttpResponse{200, {{"Content-Type", "application/json"}}, reply.dump(), false};
  });
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  const fs::path file = dir_ / "workers.yaml";
  std::ofstream(file) << "workers:\n"
                         "  - name: careful-coder\n"
                         "    kind: coder\n"
                         "    provider: openai\n"
                         "    model: scripted-coder-7\n"
                         "    tools: [calculator]\n";
  CliOutcome out = Run(file, "code_generation",
                       {{"MINION_LLM_BASE_URL", model.url("/v1")}, {"MINION_LLM_API_KEY", "k"}});
  model.Stop();
  ASSERT_EQ(out.exit_code, 0) << out.err << out.out;
  json doc = Parse(out);
  json subtask = doc["subtasks"][0];
  EXPECT_EQ(subtask["worker_id"], "careful-coder");
  EXPECT_EQ(subtask["output"]["tool_calls"],
            json::parse(R"([{"name": "write_file", "ok": false}])"));
  EXPECT_FALSE(subtask["output"].contains("files"));
  EXPECT_FALSE(fs::exists(dir_ / "ws" / doc["task_id"].get<std::string>()))
      << "no task workspace is made for a worker without file tools";
  std::lock_guard lock(mu);
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0]["model"], "scripted-coder-7");  // the worker's model, over the wire
  ASSERT_EQ(bodies[0]["tools"].size(), 1u) << bodies[0]["tools"].dump();
  EXPECT_EQ(bodies[0]["tools"][0]["function"]["name"], "calculator");
  const json& refusal = bodies[1]["messages"].back();
  EXPECT_EQ(refusal["role"], "tool");
  EXPECT_THAT(refusal["content"].get<std::string>(), HasSubstr("unknown tool \\\"write_file\\\""));
}

}  // namespace
}  // namespace minion::testing
