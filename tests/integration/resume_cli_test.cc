// `minion resume` after a real crash: a 5-step workflow run by a real `minion run` process is
// killed with SIGKILL while step 4 waits on the model, then `minion resume` (another real
// process) finishes it. The model is a local OpenAI-compatible server (the only test double:
// a remote LLM service cannot exist here) that counts the requests of each step, so the test
// sees which steps ran in which process. Also the refusals (docs/runs.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/cli_process.h"
#include "llm/test_http_server.h"
#include "minion/agents/ledger.h"
#include "minion/sqlite/database.h"

namespace minion::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "minion-resume-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Describe(const CliOutcome& o) {
  return "exit " + std::to_string(o.exit_code) + " signal " + std::to_string(o.term_signal) +
         "\nstdout:\n" + o.out.substr(0, 4000) + "\nstderr:\n" + o.err.substr(0, 4000);
}

// The scripted model: answers "output of STEP-n" with 10n input and n output tokens, and in
// the first phase holds step 4's request unanswered (the process is killed while it waits).
class Model {
 public:
  Model() : server_([this](const HttpRequest& r) { return Answer(r); }) {}
  bool Start(std::string* error) { return server_.Start(error); }
  std::string url() const { return server_.url("/v1"); }

  void StartPhase(int phase) {
    std::lock_guard lock(mu_);
    phase_ = phase;
  }
  bool WaitForHeldStep4(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_; });
  }
  // Requests per step in one phase.
  int Count(int phase, int step) {
    std::lock_guard lock(mu_);
    return counts_[{phase, step}];
  }
  std::string LastPrompt(int step) {
    std::lock_guard lock(mu_);
    return prompts_[step];
  }

 private:
  HttpResponse Answer(const HttpRequest& request) {
    json in = json::parse(request.body, nullptr, false);
    std::string user;
    if (in.is_object() && in.contains("messages")) {
      for (const auto& m : in["messages"]) {
        if (m.value("role", "") == "user" && m["content"].is_string())
          user = m["content"].get<std::string>();
      }
    }
    // A plain find, not std::regex: gcc 12 at -O1 with the sanitizers warns inside <regex>
    // (maybe-uninitialized, a known false positive) and the build uses -Werror.
    int step = 0;
    const std::string marker = "Task: STEP-";
    if (auto at = user.find(marker); at != std::string::npos && at + marker.size() < user.size() &&
                                     user[at + marker.size()] >= '0' &&
                                     user[at + marker.size()] <= '9')
      step = user[at + marker.size()] - '0';
    {
      std::lock_guard lock(mu_);
      ++counts_[{phase_, step}];
      prompts_[step] = user;
      if (phase_ == 1 && step == 4) {
        held_ = true;
        cv_.notify_all();
        HttpResponse hang;
        hang.hang = true;
        return hang;
      }
    }
    json out = {
        {"id", "chatcmpl-" + std::to_string(step)},
        {"object", "chat.completion"},
        {"model", "gpt-4o-mini"},
        {"choices",
         {{{"index", 0},
           {"message",
            {{"role", "assistant"}, {"content", "output of STEP-" + std::to_string(step)}}},
           {"finish_reason", "stop"}}}},
        {"usage",
         {{"prompt_tokens", 10 * step}, {"completion_tokens", step}, {"total_tokens", 11 * step}}}};
    return {200, {{"Content-Type", "application/json"}}, out.dump()};
  }

  TestHttpServer server_;
  std::mutex mu_;
  std::condition_variable cv_;
  int phase_ = 1;                              // guarded by mu_
  bool held_ = false;                          // guarded by mu_
  std::map<std::pair<int, int>, int> counts_;  // guarded by mu_: (phase, step) -> requests
  std::map<int, std::string> prompts_;         // guarded by mu_: step -> last user message
};

// A chain STEP-1 -> ... -> STEP-5, each on the writer (one model call per step with --no-tools).
std::string WriteWorkflow(const TempDir& dir) {
  json subtasks = json::array();
  for (int i = 1; i <= 5; ++i) {
    json s = {{"name", "s" + std::to_string(i)},
              {"capability", "content_creation"},
              {"description", "STEP-" + std::to_string(i)}};
    if (i > 1) s["dependencies"] = json::array({"s" + std::to_string(i - 1)});
    subtasks.push_back(std::move(s));
  }
  const std::string path = dir.Path("five.json");
  std::ofstream(path) << json({{"subtasks", subtasks}}).dump();
  return path;
}

std::map<std::string, std::string> ModelEnv(const Model& model, const std::string& spans) {
  return {{"MINION_LLM_PROVIDER", "openai"}, {"MINION_LLM_BASE_URL", model.url()},
          {"MINION_LLM_API_KEY", "k"},       {"MINION_LLM_MAX_RETRIES", "0"},
          {"OTEL_TRACES_EXPORTER", "file"},  {"MINION_FILE_EXPORTER_PATH", spans}};
}

// Every span in an OTLP JSON-lines file.
std::vector<json> SpansIn(const std::string& path) {
  std::vector<json> out;
  std::istringstream lines(ReadFile(path));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& rs : j.value("resourceSpans", json::array())) {
      for (const auto& ss : rs.value("scopeSpans", json::array())) {
        for (const auto& span : ss.value("spans", json::array())) out.push_back(span);
      }
    }
  }
  return out;
}

std::string StringAttr(const json& attributes, const std::string& key) {
  for (const auto& a : attributes) {
    if (a.value("key", "") == key && a["value"].contains("stringValue"))
      return a["value"]["stringValue"];
  }
  return "";
}

TEST(ResumeCliTest, KilledFiveStepRunResumesWithOnlyItsUnfinishedSteps) {
  TempDir dir;
  Model model;
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  const std::string workflow = WriteWorkflow(dir);
  const std::string db = dir.Path("ledger.db");

  // 1. The run, killed while step 4 waits on the model.
  CliProcess first(
      {MINION_CLI, "run", "--name", "five steps", "--type", "workflow", "--workflow", workflow,
       "--ledger", db, "--json", "--no-trace-tree", "--no-tools", "--max-attempts", "1"},
      ModelEnv(model, dir.Path("first.jsonl")));
  ASSERT_TRUE(model.WaitForHeldStep4(60s)) << "step 4 never called the model";
  // Steps 1-3 are committed before step 4 is dispatched; read them back from the file the way
  // another process would, polling with a deadline.
  std::string task_id;
  std::vector<agents::SubtaskRecord> before;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto ledger = agents::OpenSqliteLedger(db);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto tasks = (*ledger)->Tasks();
    ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
    if (tasks->size() == 1) {
      task_id = (*tasks)[0].task_id;
      auto subtasks = (*ledger)->Subtasks(task_id);
      ASSERT_TRUE(subtasks.ok());
      int done = 0;
      for (const auto& s : *subtasks) done += s.status == "succeeded";
      if (done == 3) {
        before = *subtasks;
        break;
      }
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "steps 1-3 never reached the ledger";
    std::this_thread::sleep_for(20ms);  // polling another process's file, not waiting on a thread
  }
  first.Signal(SIGKILL);
  CliOutcome killed = first.Wait(30s);
  ASSERT_EQ(killed.term_signal, SIGKILL) << Describe(killed);

  std::string first_trace, first_span;
  UnixNanos first_started = 0;
  {
    auto ledger = agents::OpenSqliteLedger(db);
    ASSERT_TRUE(ledger.ok());
    auto task = (*ledger)->Task(task_id);
    ASSERT_TRUE(task.ok());
    EXPECT_EQ(task->status, "running");  // nobody finished it
    first_trace = task->trace_id;
    first_span = task->span_id;
    first_started = task->started_at;
    ASSERT_EQ(first_trace.size(), 32u);
    ASSERT_EQ(first_span.size(), 16u);
    ASSERT_EQ(before.size(), 5u);
    EXPECT_EQ(before[3].status, "running");
    EXPECT_EQ(before[4].status, "pending");
  }
  for (int step = 1; step <= 4; ++step) EXPECT_EQ(model.Count(1, step), 1) << "step " << step;
  EXPECT_EQ(model.Count(1, 5), 0);

  // 2. The resume, with the model answering step 4 now.
  model.StartPhase(2);
  const std::string spans = dir.Path("resumed.jsonl");
  CliOutcome resumed = RunCli({MINION_CLI, "resume", task_id, "--ledger", db, "--json",
                               "--no-trace-tree", "--no-tools", "--max-attempts", "1"},
                              ModelEnv(model, spans));
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  for (int step = 1; step <= 3; ++step)
    EXPECT_EQ(model.Count(2, step), 0) << "step " << step << " ran again";
  EXPECT_EQ(model.Count(2, 4), 1);
  EXPECT_EQ(model.Count(2, 5), 1);
  // Step 4 was fed step 3's output as the interrupted run recorded it.
  EXPECT_NE(model.LastPrompt(4).find("Result of 's3':\noutput of STEP-3"), std::string::npos)
      << model.LastPrompt(4);
  EXPECT_NE(model.LastPrompt(5).find("Result of 's4':\noutput of STEP-4"), std::string::npos)
      << model.LastPrompt(5);

  json result = json::parse(resumed.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << resumed.out;
  EXPECT_EQ(result["task_id"], task_id);
  EXPECT_EQ(result["status"], "succeeded");
  EXPECT_NE(result["trace_id"], first_trace);             // a new trace...
  EXPECT_EQ(result["resumed"]["trace_id"], first_trace);  // ...that knows the old one
  EXPECT_EQ(result["resumed"]["reused_subtasks"], 3);
  ASSERT_EQ(result["subtasks"].size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(result["subtasks"][i].value("reused", false), true) << i;
  EXPECT_FALSE(result["subtasks"][3].contains("reused"));
  // Usage: every answered model call once (steps 1-3 from the ledger, 4-5 now): 10+20+30+40+50
  // input and 1+2+3+4+5 output tokens. Step 4's cut-off first call was never answered.
  EXPECT_EQ(result["usage"]["input_tokens"], 150);
  EXPECT_EQ(result["usage"]["output_tokens"], 15);
  EXPECT_EQ(result["usage"]["llm_calls"], 5);

  // 3. The ledger shows the finished run in the same row.
  CliOutcome show = RunCli({MINION_CLI, "runs", "show", task_id, "--ledger", db, "--json"}, {});
  ASSERT_EQ(show.exit_code, 0) << Describe(show);
  json shown = json::parse(show.out, nullptr, false);
  ASSERT_TRUE(shown.is_object()) << show.out;
  EXPECT_EQ(shown["status"], "succeeded");
  EXPECT_EQ(shown["trace_id"], result["trace_id"]);
  EXPECT_EQ(shown["started_at_unix_nano"].get<UnixNanos>(), first_started);  // the first start
  ASSERT_EQ(shown["subtasks"].size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto& s = shown["subtasks"][i];
    EXPECT_EQ(s["status"], "succeeded") << s;
    EXPECT_EQ(s["attempts"], 1) << s;
    EXPECT_EQ(s["output"]["text"], "output of STEP-" + std::to_string(i + 1)) << s;
    EXPECT_EQ(s["usage"]["input_tokens"], 10 * (i + 1)) << s;
  }
  for (int i = 0; i < 3; ++i) {  // untouched rows: the interrupted run's times
    EXPECT_EQ(shown["subtasks"][i]["started_at_unix_nano"].get<UnixNanos>(), before[i].started_at);
    EXPECT_EQ(shown["subtasks"][i]["finished_at_unix_nano"].get<UnixNanos>(),
              before[i].finished_at);
  }
  EXPECT_EQ(shown["usage"]["input_tokens"], 150);
  EXPECT_EQ(shown["usage"]["output_tokens"], 15);
  bool resume_step = false;
  for (const auto& step : shown["steps"]) resume_step = resume_step || step["kind"] == "resume";
  EXPECT_TRUE(resume_step) << shown["steps"];

  // 4. The resumed trace: its task span links to the interrupted task span, and only steps 4
  // and 5 were dispatched in it.
  int dispatches = 0;
  bool linked = false;
  for (const auto& span : SpansIn(spans)) {
    const std::string name = span.value("name", "");
    if (name == "orchestrator.dispatch") ++dispatches;
    if (name.rfind("multiagent.task.", 0) != 0) continue;
    EXPECT_EQ(span.value("traceId", ""), result["trace_id"]);
    EXPECT_EQ(StringAttr(span.value("attributes", json::array()), "minion.resume.of_task"),
              task_id);
    for (const auto& link : span.value("links", json::array())) {
      if (link.value("traceId", "") == first_trace && link.value("spanId", "") == first_span &&
          StringAttr(link.value("attributes", json::array()), "minion.resume.of_task") == task_id) {
        linked = true;
      }
    }
  }
  EXPECT_TRUE(linked) << ReadFile(spans).substr(0, 4000);
  EXPECT_EQ(dispatches, 2);
}

TEST(ResumeCliTest, RefusesWhatCannotBeResumed) {
  TempDir dir;
  const std::string db = dir.Path("ledger.db");
  const std::map<std::string, std::string> env = {{"OTEL_TRACES_EXPORTER", "none"},
                                                  {"MINION_LLM_PROVIDER", "offline"}};

  // No ledger file: refused, and none created.
  CliOutcome missing = RunCli({MINION_CLI, "resume", "task-x", "--ledger", db}, env);
  EXPECT_EQ(missing.exit_code, 2) << Describe(missing);
  EXPECT_NE(missing.err.find("no ledger file at"), std::string::npos) << Describe(missing);
  EXPECT_FALSE(std::filesystem::exists(db));

  // A finished task, and an unknown one.
  CliOutcome run = RunCli({MINION_CLI, "run", "--name", "x", "--type", "content_creation",
                           "--ledger", db, "--json", "--no-trace-tree"},
                          env);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const std::string task_id = json::parse(run.out)["task_id"];
  CliOutcome done = RunCli({MINION_CLI, "resume", task_id, "--ledger", db}, env);
  EXPECT_EQ(done.exit_code, 2) << Describe(done);
  EXPECT_NE(done.err.find("already succeeded"), std::string::npos) << Describe(done);
  CliOutcome unknown = RunCli({MINION_CLI, "resume", "task-nope", "--ledger", db}, env);
  EXPECT_EQ(unknown.exit_code, 2) << Describe(unknown);
  EXPECT_NE(unknown.err.find("'task-nope' is not in the ledger"), std::string::npos)
      << Describe(unknown);

  // A ledger from a newer minion.
  const std::string newer = dir.Path("newer.db");
  {
    auto database = sqlite::Database::Open(newer, sqlite::OpenOptions{});
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    ASSERT_TRUE((*database)->Exec("PRAGMA user_version = 99").ok());
  }
  CliOutcome future = RunCli({MINION_CLI, "resume", "task-x", "--ledger", newer}, env);
  EXPECT_EQ(future.exit_code, 2) << Describe(future);
  EXPECT_NE(future.err.find("schema version 99, newer than this minion understands"),
            std::string::npos)
      << Describe(future);
}

}  // namespace
}  // namespace minion::testing
