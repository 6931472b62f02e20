// `minion run` as a careless or hostile user drives it (issue 8): real `minion` child processes,
// real signals, real HTTP servers standing in for a model endpoint and a collector, and the
// real file exporter. Each test names the defect it pins down.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/cli_process.h"
#include "llm/test_http_server.h"

namespace minion::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string Cli() {
  // MINION_CLI_UNDER_TEST lets the same tests run against another build (e.g. the commit before
  // a fix, to see them fail).
  if (const char* p = std::getenv("MINION_CLI_UNDER_TEST"); p && *p) return p;
  return MINION_CLI;
}

std::map<std::string, std::string> BaseEnv() {
  return {{"OTEL_TRACES_EXPORTER", "none"}, {"MINION_LLM_PROVIDER", "offline"}};
}

std::vector<std::string> Args(std::vector<std::string> args) {
  args.insert(args.begin(), Cli());
  return args;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "minion-cli-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  std::string ReadAll() const {  // every file, concatenated
    std::string all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(path_)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

 private:
  std::string path_;
};

std::string Describe(const CliOutcome& o) {
  return "exit " + std::to_string(o.exit_code) + " signal " + std::to_string(o.term_signal) +
         "\n--- stdout ---\n" + o.out.substr(0, 4000) + "\n--- stderr ---\n" +
         o.err.substr(0, 4000);
}

// ---- 1. invalid UTF-8 -------------------------------------------------------------------

TEST(CliHardeningTest, InvalidUtf8TaskNameIsReplacedInJsonOutput) {
  auto o = RunCli(Args({"run", "--name", "bad \xff\xfe name", "--type", "code_generation", "--json",
                        "--no-trace-tree"}),
                  BaseEnv());
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  auto j = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << o.out;
  EXPECT_EQ(j["status"], "succeeded");
}

TEST(CliHardeningTest, InvalidUtf8InWorkflowStepInputDoesNotAbortTheWorker) {
  TempDir dir;
  const std::string wf = dir.File("wf.yaml",
                                  "subtasks:\n"
                                  "  - name: gen\n"
                                  "    capability: code_generation\n"
                                  "    input: {text: \"caf\xe9 \xff\"}\n");
  auto o = RunCli(Args({"run", "--name", "x", "--type", "workflow", "--workflow", wf}), BaseEnv());
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_NE(o.out.find("succeeded"), std::string::npos) << o.out;
}

TEST(CliHardeningTest, InvalidUtf8TaskNameThroughTheLlmPlanner) {
  auto o = RunCli(Args({"run", "--name", "plan \xc3\x28 this", "--type", "anything", "--planner",
                        "llm", "--json", "--no-trace-tree"}),
                  BaseEnv());
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 1) << Describe(o);
  EXPECT_FALSE(json::parse(o.out, nullptr, false).is_discarded()) << Describe(o);
}

// ---- 2. depth and size -------------------------------------------------------------------

std::string Nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(CliHardeningTest, DeeplyNestedInputIsRefusedWithAClearError) {
  auto o =
      RunCli(Args({"run", "--name", "x", "--type", "code_generation", "--input", Nested(60000)}),
             BaseEnv());
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_EQ(o.exit_code, 2) << Describe(o);
  EXPECT_NE(o.err.find("nests deeper than"), std::string::npos) << Describe(o);
}

TEST(CliHardeningTest, DeeplyNestedJsonWorkflowIsRefused) {
  TempDir dir;
  const std::string wf = dir.File(
      "wf.json", R"({"subtasks": [{"name": "a", "capability": "code_generation", "input": )" +
                     Nested(500000) + "}]}");
  auto o = RunCli(Args({"run", "--name", "x", "--type", "workflow", "--workflow", wf}), BaseEnv());
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_EQ(o.exit_code, 2) << Describe(o);
  EXPECT_NE(o.err.find("nests deeper than"), std::string::npos) << Describe(o);
}

TEST(CliHardeningTest, YamlAliasBombIsRefusedQuickly) {
  // Nine levels of ten aliases each: 10^9 nodes once expanded, 400 bytes on disk.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p;
    for (int k = 0; k < 9; ++k) yaml += ", " + p;
    yaml += "]\n";
  }
  yaml += "subtasks: [{name: s, capability: code_generation, input: *a9}]\n";
  TempDir dir;
  const std::string wf = dir.File("bomb.yaml", yaml);
  auto o = RunCli(Args({"run", "--name", "x", "--type", "workflow", "--workflow", wf}), BaseEnv());
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_EQ(o.exit_code, 2) << Describe(o);
  EXPECT_NE(o.err.find("aliases"), std::string::npos) << Describe(o);
}

// A model endpoint (real HTTP) whose plan reply hides a value nested 300,000 deep.
TEST(CliHardeningTest, DeeplyNestedLlmPlanReplyIsRefused) {
  const std::string plan =
      R"({"subtasks": [{"name": "a", "capability": "code_generation", "input": )" + Nested(300000) +
      "}]}";
  TestHttpServer model([&](const HttpRequest&) {
    HttpResponse r;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json{{"id", "x"},
                  {"model", "m"},
                  {"choices",
                   {{{"message", {{"role", "assistant"}, {"content", plan}}},
                     {"finish_reason", "stop"}}}}}
                 .dump();
    return r;
  });
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  auto env = BaseEnv();
  env["MINION_LLM_PROVIDER"] = "openai";
  env["MINION_LLM_BASE_URL"] = model.url("/v1");
  env["MINION_LLM_API_KEY"] = "k";
  env["MINION_LLM_MAX_RETRIES"] = "0";
  auto o = RunCli(Args({"run", "--name", "x", "--type", "unknown_type", "--planner", "llm",
                        "--max-attempts", "1"}),
                  env);
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_EQ(o.exit_code, 1) << Describe(o);
  EXPECT_NE(o.err.find("nests deeper than"), std::string::npos) << Describe(o);
}

// ---- 4./5. signals, result first, stdout errors, OTLP timeout 0 ------------------------

struct Arrival {
  std::promise<void> promise;
  std::atomic<bool> fired{false};
  void Fire() {
    if (!fired.exchange(true)) promise.set_value();
  }
};

HttpResponse Hang() {
  HttpResponse r;
  r.hang = true;
  return r;
}

// A model call that never answers; the test signals the child once the call is in flight.
class InterruptTest : public ::testing::TestWithParam<int> {};

TEST_P(InterruptTest, SignalCancelsPrintsFlushesAndExitsWith128PlusSigno) {
  const int signo = GetParam();
  Arrival arrived;
  auto arrived_future = arrived.promise.get_future();
  TestHttpServer model([&](const HttpRequest&) {
    arrived.Fire();
    return Hang();
  });
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  TempDir dir;
  auto env = BaseEnv();
  env["MINION_LLM_PROVIDER"] = "openai";
  env["MINION_LLM_BASE_URL"] = model.url("/v1");
  env["MINION_LLM_API_KEY"] = "k";
  env["OTEL_TRACES_EXPORTER"] = "file";
  env["MINION_FILE_EXPORTER_PATH"] = dir.Path("spans.jsonl");
  CliProcess child(
      Args({"run", "--name", "slow", "--type", "code_generation", "--max-attempts", "1"}), env);
  ASSERT_EQ(arrived_future.wait_for(60s), std::future_status::ready)
      << "the model call never arrived";
  child.Signal(signo);
  auto o = child.Wait();
  model.Stop();
  EXPECT_EQ(o.term_signal, 0) << Describe(o);
  EXPECT_EQ(o.exit_code, 128 + signo) << Describe(o);
  EXPECT_NE(o.err.find("received"), std::string::npos) << Describe(o);
  // What is known was printed: the task, its cancelled status, the trace tree.
  EXPECT_NE(o.out.find("Task "), std::string::npos) << Describe(o);
  EXPECT_NE(o.out.find("cancel"), std::string::npos) << Describe(o);
  EXPECT_NE(o.out.find("Distributed trace:"), std::string::npos) << Describe(o);
  // And the spans reached the exporter.
  const std::string spans = dir.ReadAll();
  EXPECT_NE(spans.find("multiagent.task.code_generation"), std::string::npos)
      << spans.substr(0, 2000);
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

TEST(CliHardeningTest, SecondSignalExitsAtOnceWhileSpansAreStuck) {
  // The model hangs (the first signal cancels it) and so does the collector (the flush after
  // the first signal waits for it); the second signal must end the process without waiting.
  Arrival model_called, export_sent;
  auto model_future = model_called.promise.get_future();
  auto export_future = export_sent.promise.get_future();
  TestHttpServer model([&](const HttpRequest&) {
    model_called.Fire();
    return Hang();
  });
  TestHttpServer collector([&](const HttpRequest&) {
    export_sent.Fire();
    return Hang();
  });
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  ASSERT_TRUE(collector.Start(&error)) << error;
  auto env = BaseEnv();
  env["MINION_LLM_PROVIDER"] = "openai";
  env["MINION_LLM_BASE_URL"] = model.url("/v1");
  env["MINION_LLM_API_KEY"] = "k";
  env["OTEL_TRACES_EXPORTER"] = "otlp";
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = collector.url("/v1/traces");
  env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "60000";
  CliProcess child(
      Args({"run", "--name", "slow", "--type", "code_generation", "--max-attempts", "1"}), env);
  ASSERT_EQ(model_future.wait_for(60s), std::future_status::ready);
  child.Signal(SIGINT);
  ASSERT_EQ(export_future.wait_for(60s), std::future_status::ready)
      << "no export after the first signal";
  child.Signal(SIGINT);
  auto o = child.Wait();
  model.Stop();
  collector.Stop();
  EXPECT_EQ(o.exit_code, 128 + SIGINT) << Describe(o);
  EXPECT_NE(o.err.find("received again"), std::string::npos) << Describe(o);
  EXPECT_NE(o.out.find("Task "), std::string::npos) << Describe(o);
}

TEST(CliHardeningTest, ResultIsPrintedBeforeTheTracerFlush) {
  // The collector holds the export; the test kills the child (SIGKILL: no chance to print
  // afterwards) as soon as the export is in flight. The result must already be out.
  Arrival export_sent;
  auto export_future = export_sent.promise.get_future();
  TestHttpServer collector([&](const HttpRequest&) {
    export_sent.Fire();
    return Hang();
  });
  std::string error;
  ASSERT_TRUE(collector.Start(&error)) << error;
  auto env = BaseEnv();
  env["OTEL_TRACES_EXPORTER"] = "otlp";
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = collector.url("/v1/traces");
  env["OTEL_BSP_SCHEDULE_DELAY"] = "600000";  // export only at the final flush
  CliProcess child(
      Args({"run", "--name", "quick", "--type", "code_generation", "--json", "--no-trace-tree"}),
      env);
  ASSERT_EQ(export_future.wait_for(60s), std::future_status::ready);
  ASSERT_TRUE(child.WaitForOut("\"succeeded\"", 5s))
      << "the result was not printed before the flush";
  child.Signal(SIGKILL);
  auto o = child.Wait();
  collector.Stop();
  auto j = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << Describe(o);
  EXPECT_EQ(j["status"], "succeeded");
}

TEST(CliHardeningTest, StdoutWriteErrorExitsNonZeroWithAMessage) {
  auto o =
      RunCli(Args({"run", "--name", "x", "--type", "code_generation"}), BaseEnv(), "/dev/full");
  EXPECT_EQ(o.exit_code, 1) << Describe(o);
  EXPECT_NE(o.err.find("standard output"), std::string::npos) << Describe(o);
}

TEST(CliHardeningTest, OtlpTimeoutZeroMeansNoLimitAndStillSends) {
  Arrival export_sent;
  auto export_future = export_sent.promise.get_future();
  TestHttpServer collector([&](const HttpRequest& r) {
    if (!r.body.empty()) export_sent.Fire();
    HttpResponse ok;
    ok.headers = {{"Content-Type", "application/x-protobuf"}};
    return ok;
  });
  std::string error;
  ASSERT_TRUE(collector.Start(&error)) << error;
  auto env = BaseEnv();
  env["OTEL_TRACES_EXPORTER"] = "otlp";
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = collector.url("/v1/traces");
  env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "0";
  auto o =
      RunCli(Args({"run", "--name", "x", "--type", "code_generation", "--no-trace-tree"}), env);
  collector.Stop();
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(export_future.wait_for(0s), std::future_status::ready) << "nothing was exported\n"
                                                                   << Describe(o);
  EXPECT_EQ(o.err.find("warning"), std::string::npos) << Describe(o);
}

// ---- 6. secrets ----------------------------------------------------------------------

TEST(CliHardeningTest, UrlCredentialsAppearInNoOutputAndNoExportedSpan) {
  // A model endpoint that fails, reached through a URL with credentials; spans go to a file.
  TestHttpServer model([&](const HttpRequest&) {
    HttpResponse r;
    r.status = 404;
    r.body = "no such model";
    return r;
  });
  std::string error;
  ASSERT_TRUE(model.Start(&error)) << error;
  TempDir dir;
  auto env = BaseEnv();
  const std::string url =
      "http://alice:hunter2secret@127.0.0.1:" + std::to_string(model.port()) + "/v1";
  env["MINION_LLM_PROVIDER"] = "openai";
  env["MINION_LLM_BASE_URL"] = url;
  env["MINION_LLM_API_KEY"] = "sk-apikeysecret";
  env["MINION_LLM_MAX_RETRIES"] = "0";
  env["OTEL_TRACES_EXPORTER"] = "file,otlp";
  env["MINION_FILE_EXPORTER_PATH"] = dir.Path("spans.jsonl");
  // A collector that refuses, also with credentials in its URL.
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://bob:collectorsecret@127.0.0.1:1/v1/traces";
  env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2000";
  auto o = RunCli(
      Args({"run", "--name", "x", "--type", "code_generation", "--max-attempts", "1", "--json"}),
      env);
  model.Stop();
  EXPECT_EQ(o.exit_code, 1) << Describe(o);
  const std::string spans = dir.ReadAll();
  EXPECT_NE(spans.find("multiagent.task"), std::string::npos) << "no spans were exported";
  for (const std::string secret : {"hunter2secret", "collectorsecret", "sk-apikeysecret"}) {
    EXPECT_EQ(o.out.find(secret), std::string::npos) << secret << "\n" << Describe(o);
    EXPECT_EQ(o.err.find(secret), std::string::npos) << secret << "\n" << Describe(o);
    EXPECT_EQ(spans.find(secret), std::string::npos) << secret << " in exported spans";
  }
  EXPECT_NE(o.err.find("REDACTED@"), std::string::npos) << Describe(o);
}

TEST(CliHardeningTest, MalformedOtlpHeadersNeverPrintTheValue) {
  auto env = BaseEnv();
  env["OTEL_TRACES_EXPORTER"] = "otlp";
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:1/v1/traces";
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Bearer tokensecret%zz,broken";
  auto o =
      RunCli(Args({"run", "--name", "x", "--type", "code_generation", "--no-trace-tree"}), env);
  EXPECT_EQ(o.out.find("tokensecret"), std::string::npos) << Describe(o);
  EXPECT_EQ(o.err.find("tokensecret"), std::string::npos) << Describe(o);
  EXPECT_NE(o.err.find("OTEL_EXPORTER_OTLP_HEADERS"), std::string::npos) << Describe(o);
}

// ---- 7. honest configuration ----------------------------------------------------------

TEST(CliHardeningTest, OtelPropagatorsNoneIgnoresTraceparent) {
  auto env = BaseEnv();
  env["TRACEPARENT"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto with = RunCli(
      Args({"run", "--name", "x", "--type", "code_generation", "--json", "--no-trace-tree"}), env);
  ASSERT_EQ(with.exit_code, 0) << Describe(with);
  EXPECT_EQ(json::parse(with.out)["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  env["OTEL_PROPAGATORS"] = "none";
  auto without = RunCli(
      Args({"run", "--name", "x", "--type", "code_generation", "--json", "--no-trace-tree"}), env);
  ASSERT_EQ(without.exit_code, 0) << Describe(without);
  EXPECT_NE(json::parse(without.out)["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(CliHardeningTest, OtelPropagatorsB3ContinuesAB3Parent) {
  auto env = BaseEnv();
  env["OTEL_PROPAGATORS"] = "b3";
  env["B3"] = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
  auto o = RunCli(
      Args({"run", "--name", "x", "--type", "code_generation", "--json", "--no-trace-tree"}), env);
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(json::parse(o.out)["trace_id"], "80f198ee56343ba864fe8b2a57d3eff7");
}

TEST(CliHardeningTest, BadStandardVariablesWarnNameTheValueAndFallBack) {
  auto env = BaseEnv();
  env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "soon";
  env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "zip";
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "carrier-pigeon";
  env["OTEL_BSP_MAX_QUEUE_SIZE"] = "lots";
  env["OTEL_PROPAGATORS"] = "none,b3";
  env["OTEL_TRACES_EXPORTER"] = "otlp";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:1/v1/traces";
  auto o =
      RunCli(Args({"run", "--name", "x", "--type", "code_generation", "--no-trace-tree"}), env);
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  for (const std::string needle :
       {"OTEL_EXPORTER_OTLP_TIMEOUT", "\"soon\"", "OTEL_EXPORTER_OTLP_COMPRESSION", "\"zip\"",
        "OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon", "OTEL_BSP_MAX_QUEUE_SIZE", "lots",
        "OTEL_PROPAGATORS", "using"}) {
    EXPECT_NE(o.err.find(needle), std::string::npos) << needle << "\n" << Describe(o);
  }
}

TEST(CliHardeningTest, BadFlagsExitTwoAndHelpExitsZero) {
  auto bad_value =
      RunCli(Args({"run", "--name", "x", "--type", "y", "--priority", "11"}), BaseEnv());
  EXPECT_EQ(bad_value.exit_code, 2) << Describe(bad_value);
  auto unknown_flag =
      RunCli(Args({"run", "--name", "x", "--type", "y", "--frobnicate"}), BaseEnv());
  EXPECT_EQ(unknown_flag.exit_code, 2) << Describe(unknown_flag);
  auto missing = RunCli(Args({"run", "--name", "x"}), BaseEnv());
  EXPECT_EQ(missing.exit_code, 2) << Describe(missing);
  auto help = RunCli(Args({"run", "--help"}), BaseEnv());
  EXPECT_EQ(help.exit_code, 0) << Describe(help);
  auto unknown = RunCli(Args({"frobnicate", "--x"}), BaseEnv());
  EXPECT_EQ(unknown.exit_code, 2) << Describe(unknown);
  EXPECT_NE(unknown.err.find("'frobnicate'"), std::string::npos) << Describe(unknown);
}

TEST(CliHardeningTest, ControlCharactersAreEscapedForTheTerminalButExactInJson) {
  const std::string name = "red \x1b[31mALERT\x1b]0;pwned\x07 \r\x08 done";
  auto human = RunCli(Args({"run", "--name", name, "--type", "code_generation"}), BaseEnv());
  ASSERT_EQ(human.exit_code, 0) << Describe(human);
  for (char c : std::string("\x1b\x07\r\x08")) {
    EXPECT_EQ(human.out.find(c), std::string::npos)
        << "raw control byte " << int(c) << " reached the terminal";
  }
  EXPECT_NE(human.out.find("\\x1b[31mALERT"), std::string::npos) << human.out.substr(0, 3000);
  auto js = RunCli(
      Args({"run", "--name", name, "--type", "code_generation", "--json", "--no-trace-tree"}),
      BaseEnv());
  ASSERT_EQ(js.exit_code, 0) << Describe(js);
  EXPECT_NE(js.out.find("\\u001b[31mALERT"), std::string::npos) << js.out;
}

}  // namespace
}  // namespace minion::testing
