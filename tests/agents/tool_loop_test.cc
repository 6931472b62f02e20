// The tool-calling loop against a real OpenAI-compatible server: a cpp-httplib server on
// 127.0.0.1 (port chosen by the kernel) answers chat-completions requests from a script, and
// the real OpenAIProvider (libcurl) talks to it. Tools are the real built-in ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "minion/agents/tool_loop.h"
#include "minion/common/json.h"
#include "minion/llm/offline_provider.h"
#include "minion/llm/openai_provider.h"
#include "minion/storage/memory_storage.h"
#include "minion/tools/builtin.h"
#include "minion/tools/storage_tools.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

namespace fs = std::filesystem;
using ::minion::testing::StrAttr;
using nlohmann::json;
using ::testing::HasSubstr;

json ToolCalls(std::vector<json> calls) {
  return json{
      {"id", "chatcmpl-script"},
      {"model", "scripted-1"},
      {"choices",
       {{{"index", 0},
         {"finish_reason", "tool_calls"},
         {"message", {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}}}}}},
      {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}};
}
json Call(const std::string& id, const std::string& name, const std::string& arguments) {
  return json{
      {"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
}
json Final(const std::string& text) {
  return json{{"id", "chatcmpl-final"},
              {"model", "scripted-1"},
              {"choices",
               {{{"index", 0},
                 {"finish_reason", "stop"},
                 {"message", {{"role", "assistant"}, {"content", text}}}}}},
              {"usage", {{"prompt_tokens", 20}, {"completion_tokens", 3}}}};
}

// A chat-completions endpoint whose n-th answer is script(n, request body), n from 0.
class ScriptedModelServer {
 public:
  using Script = std::function<json(int, const json&)>;
  explicit ScriptedModelServer(Script script) : script_(std::move(script)) {
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   json body = json::parse(req.body, nullptr, false);
                   int n;
                   {
                     std::lock_guard lock(mu_);
                     n = static_cast<int>(requests_.size());
                     requests_.push_back(body);
                   }
                   res.set_content(script_(n, body).dump(), "application/json");
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // The socket listens from bind on; requests queue until the loop accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedModelServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<json> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  Script script_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<json> requests_;  // guarded by mu_
};

// The `tool` messages of a request body, by tool_call_id.
std::map<std::string, json> ToolReplies(const json& body) {
  std::map<std::string, json> out;
  for (const auto& m : body["messages"]) {
    if (m["role"] == "tool")
      out[m["tool_call_id"].get<std::string>()] = json::parse(m["content"].get<std::string>());
  }
  return out;
}

class ToolLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("minion_tool_loop_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    workspace_ = root_ / "workspace";
    fs::create_directories(workspace_);
    ASSERT_TRUE(tools::RegisterBuiltinTools(registry_, workspace_).ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<llm::OpenAIProvider> Provider(const ScriptedModelServer& server) {
    llm::OpenAIProviderOptions o;
    o.base_url = server.base_url();
    o.model = "scripted-1";
    o.max_retries = 0;
    o.timeout = std::chrono::milliseconds(20000);
    o.tracer = capture_.tracer;
    return std::make_unique<llm::OpenAIProvider>(std::move(o));
  }
  llm::ChatRequest Ask(const std::string& text) {
    llm::ChatRequest r;
    r.messages = {{"system", "You are a test agent."}, {"user", text}};
    return r;
  }
  // Runs the loop under a parent span and ends it, so every span is exported.
  Result<ToolLoopResult> RunUnderParent(llm::Provider& provider, llm::ChatRequest request,
                                        const ToolLoopOptions& options = {}) {
    auto [ctx, span] = observability::StartSpan(*capture_.tracer, trace::Context(), "worker.test",
                                                observability::Component::kWorker);
    parent_id_ = span.GetContext().span_id();
    auto result = RunToolLoop(ctx, provider, registry_, std::move(request), options);
    span.End();
    return result;
  }

  minion::testing::TracingRig capture_;
  tools::ToolRegistry registry_{capture_.tracer};
  fs::path root_;
  fs::path workspace_;
  trace::SpanId parent_id_;
};

TEST_F(ToolLoopTest, WorkerCallsTwoToolsInSequenceAndGetsTheFinalAnswer) {
  ScriptedModelServer server([](int n, const json& body) {
    if (n == 0) return ToolCalls({Call("call_calc", "calculator", R"({"expression":"6*7"})")});
    if (n == 1) {
      // The model writes what the calculator told it.
      double value = ToolReplies(body).at("call_calc")["result"].get<double>();
      return ToolCalls({Call(
          "call_write", "write_file",
          json{{"path", "out/answer.txt"}, {"content", std::to_string(static_cast<int>(value))}}
              .dump())});
    }
    return Final("wrote the answer");
  });
  auto provider = Provider(server);
  auto result = RunUnderParent(*provider, Ask("compute and save"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->final_response.content, "wrote the answer");
  EXPECT_EQ(result->rounds, 3);
  EXPECT_EQ(result->input_tokens, 40);
  EXPECT_EQ(result->output_tokens, 13);
  ASSERT_EQ(result->calls.size(), 2u);
  EXPECT_TRUE(result->calls[0].ok);
  EXPECT_TRUE(result->calls[1].ok);

  std::ifstream in(workspace_ / "out" / "answer.txt");
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "42");

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  // Every request offers the registry's tools in the chat-completions shape.
  ASSERT_TRUE(requests[0]["tools"].is_array());
  std::vector<std::string> offered;
  for (const auto& t : requests[0]["tools"]) offered.push_back(t["function"]["name"]);
  EXPECT_THAT(offered, ::testing::ElementsAre("calculator", "http_get", "read_file", "write_file"));
  // The assistant turn is replayed before the tool reply that answers it.
  const json& msgs = requests[2]["messages"];
  ASSERT_EQ(msgs.size(), 6u);
  EXPECT_EQ(msgs[2]["tool_calls"][0]["id"], "call_calc");
  EXPECT_EQ(msgs[3]["role"], "tool");
  EXPECT_EQ(msgs[4]["tool_calls"][0]["function"]["name"], "write_file");
  EXPECT_EQ(ToolReplies(requests[2]).at("call_write")["bytes_written"], 2);

  auto calc = capture_.SpansNamed("tool.calculator");
  auto write = capture_.SpansNamed("tool.write_file");
  ASSERT_EQ(calc.size(), 1u);
  ASSERT_EQ(write.size(), 1u);
  EXPECT_EQ(calc[0].parent_span_id, parent_id_);
  EXPECT_EQ(write[0].parent_span_id, parent_id_);
  EXPECT_EQ(StrAttr(calc[0], "gen_ai.tool.call.id"), "call_calc");
  EXPECT_EQ(StrAttr(write[0], "gen_ai.tool.call.id"), "call_write");
  EXPECT_EQ(StrAttr(write[0], "gen_ai.operation.name"), "execute_tool");
  EXPECT_EQ(StrAttr(write[0], "gen_ai.tool.name"), "write_file");
  EXPECT_EQ(capture_.SpansNamed("llm.openai.scripted-1").size(), 3u);
}

TEST_F(ToolLoopTest, AToolErrorGoesBackToTheModelAndTheSpanIsError) {
  ScriptedModelServer server([](int n, const json&) {
    if (n == 0) return ToolCalls({Call("c1", "calculator", R"({"expression":"1/0"})")});
    return Final("could not divide");
  });
  auto provider = Provider(server);
  auto result = RunUnderParent(*provider, Ask("divide"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->final_response.content, "could not divide");
  ASSERT_EQ(result->calls.size(), 1u);
  EXPECT_FALSE(result->calls[0].ok);
  auto reply = ToolReplies(server.requests().at(1)).at("c1");
  EXPECT_THAT(reply["error"].get<std::string>(), HasSubstr("division by zero"));
  auto spans = capture_.SpansNamed("tool.calculator");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
  EXPECT_THAT(spans[0].status_description, HasSubstr("division by zero"));
}

TEST_F(ToolLoopTest, RoundLimitIsAClearError) {
  ScriptedModelServer server([](int n, const json&) {
    return ToolCalls({Call("c" + std::to_string(n), "calculator", R"({"expression":"1+1"})")});
  });
  auto provider = Provider(server);
  ToolLoopOptions options;
  options.max_rounds = 3;
  auto result = RunUnderParent(*provider, Ask("loop forever"), options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(result.status().message(), HasSubstr("after 3 rounds (the round limit)"));
  EXPECT_EQ(server.requests().size(), 3u);
  // The calls of the last round are not run: no answer would ever read their results.
  EXPECT_EQ(capture_.SpansNamed("tool.calculator").size(), 2u);
}

TEST_F(ToolLoopTest, MalformedCallsGoBackAsToolErrorsNotCrashes) {
  ScriptedModelServer server([](int n, const json&) {
    if (n == 0) {
      return ToolCalls(
          {Call("bad_json", "calculator", "{\"expression\": 1+"), Call("unknown", "rm_rf", "{}"),
           Call("bad_schema", "calculator", R"({"expr":"1"})"),
           Call("not_object", "calculator", "[1,2]"),
           Call("escape", "write_file", R"({"path":"../escaped.txt","content":"x"})")});
    }
    return Final("sorry");
  });
  auto provider = Provider(server);
  auto result = RunUnderParent(*provider, Ask("misbehave"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto replies = ToolReplies(server.requests().at(1));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_THAT(replies["bad_json"]["error"].get<std::string>(), HasSubstr("not valid JSON"));
  EXPECT_THAT(replies["unknown"]["error"].get<std::string>(), HasSubstr("unknown tool \"rm_rf\""));
  EXPECT_THAT(replies["unknown"]["error"].get<std::string>(), HasSubstr("calculator, http_get"));
  EXPECT_THAT(replies["bad_schema"]["error"].get<std::string>(),
              HasSubstr("missing required field \"expression\""));
  EXPECT_THAT(replies["not_object"]["error"].get<std::string>(),
              HasSubstr("must be a JSON object"));
  EXPECT_THAT(replies["escape"]["error"].get<std::string>(),
              HasSubstr("leaves the workspace root"));
  EXPECT_FALSE(fs::exists(root_ / "escaped.txt"));
  for (const auto& call : result->calls) EXPECT_FALSE(call.ok) << call.id;
  // A made-up name never becomes a span name; the rest are spans with ERROR status.
  EXPECT_TRUE(capture_.SpansNamed("tool.rm_rf").empty());
  EXPECT_EQ(capture_.SpansNamed("tool.calculator").size(), 2u);  // bad_schema, not_object
  auto write = capture_.SpansNamed("tool.write_file");
  ASSERT_EQ(write.size(), 1u);
  EXPECT_EQ(write[0].status, trace::SpanStatusCode::kError);
}

TEST_F(ToolLoopTest, OnlyAllowedToolsAreOfferedAndCallable) {
  ScriptedModelServer server([](int n, const json&) {
    if (n == 0) return ToolCalls({Call("c1", "write_file", R"({"path":"a","content":"x"})")});
    return Final("ok");
  });
  auto provider = Provider(server);
  ToolLoopOptions options;
  options.allowed_tools = {"calculator"};
  auto result = RunUnderParent(*provider, Ask("write"), options);
  ASSERT_TRUE(result.ok());
  auto requests = server.requests();
  ASSERT_EQ(requests[0]["tools"].size(), 1u);
  EXPECT_EQ(requests[0]["tools"][0]["function"]["name"], "calculator");
  EXPECT_THAT(ToolReplies(requests[1]).at("c1")["error"].get<std::string>(),
              HasSubstr("unknown tool"));
  EXPECT_FALSE(fs::exists(workspace_ / "a"));
  options.allowed_tools = {"nope"};
  auto bad = RunUnderParent(*provider, Ask("x"), options);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ToolLoopTest, StopAndDeadlineEndTheLoopBetweenSteps) {
  ScriptedModelServer server([](int n, const json&) {
    return ToolCalls({Call("c" + std::to_string(n), "advance", "{}")});
  });
  auto provider = Provider(server);
  // A tool that moves the simulated clock past the deadline.
  SimulatedClock clock;
  class Advance final : public tools::Tool {
   public:
    explicit Advance(SimulatedClock& c) : clock_(c) {}
    std::string Name() const override { return "advance"; }
    std::string Description() const override { return "advances time"; }
    json InputSchema() const override { return {{"type", "object"}}; }
    Result<json> Invoke(const trace::Context&, const json&) override {
      clock_.Advance(std::chrono::seconds(10));
      return json::object();
    }

   private:
    SimulatedClock& clock_;
  };
  ASSERT_TRUE(registry_.Register(std::make_shared<Advance>(clock)).ok());
  ToolLoopOptions options;
  options.timeout = std::chrono::seconds(5);
  options.clock = &clock;
  auto late = RunUnderParent(*provider, Ask("slow"), options);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server.requests().size(), 1u);  // no second model call after the deadline

  std::stop_source stop;
  stop.request_stop();
  auto request = Ask("never sent");
  request.stop = stop.get_token();
  auto cancelled = RunUnderParent(*provider, std::move(request));
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(ToolLoopTest, LongToolResultsAreCutBeforeTheyReachTheModel) {
  ASSERT_TRUE(tools::MakeWriteFileTool({workspace_})
                  ->Invoke({}, {{"path", "big.txt"}, {"content", std::string(5000, 'a')}})
                  .ok());
  ScriptedModelServer server([](int n, const json&) {
    if (n == 0) return ToolCalls({Call("r", "read_file", R"({"path":"big.txt"})")});
    return Final("read");
  });
  auto provider = Provider(server);
  ToolLoopOptions options;
  options.max_result_bytes = 1000;
  auto result = RunUnderParent(*provider, Ask("read"), options);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->calls[0].result,
              HasSubstr("[truncated: the result was longer than 1000 bytes]"));
  EXPECT_LT(result->calls[0].result.size(), 1100u);
}

TEST_F(ToolLoopTest, OfflineProviderWritesTheFileThenRecordsTheArtifact) {
  auto store = std::make_shared<storage::MemoryStorage>(capture_.tracer);
  ASSERT_TRUE(tools::RegisterStorageTools(registry_, {.storage = store}).ok());
  llm::OfflineProvider provider({.tracer = capture_.tracer});
  auto result = RunUnderParent(provider, Ask("Implement a word counter in python"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->rounds, 3);
  ASSERT_EQ(result->calls.size(), 2u);
  EXPECT_EQ(result->calls[0].name, "write_file");
  EXPECT_EQ(result->calls[1].name, "storage_insert");
  EXPECT_TRUE(result->calls[0].ok && result->calls[1].ok);
  const fs::path file = workspace_ / "generated" / "implement_a_word_counter_in_python.py";
  ASSERT_TRUE(fs::exists(file));
  std::ifstream in(file);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_THAT(content.str(), HasSubstr("def run(inputs: dict)"));
  EXPECT_THAT(result->final_response.content,
              HasSubstr("Saved as generated/implement_a_word_counter_in_python.py"));
  auto record = store->Get({}, "artifacts", "generated/implement_a_word_counter_in_python.py");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(json::parse(*record)["language"], "python");
  // The seed's subtree under the worker: llm calls and tool.write_file as children, and
  // storage.insert under the storage tool's span.
  EXPECT_EQ(capture_.SpansNamed("llm.offline.offline-echo-1").size(), 3u);
  auto write = capture_.SpansNamed("tool.write_file");
  auto insert_tool = capture_.SpansNamed("tool.storage_insert");
  auto insert = capture_.SpansNamed("storage.insert");
  ASSERT_EQ(write.size(), 1u);
  ASSERT_EQ(insert_tool.size(), 1u);
  ASSERT_EQ(insert.size(), 1u);
  EXPECT_EQ(write[0].parent_span_id, parent_id_);
  EXPECT_EQ(insert_tool[0].parent_span_id, parent_id_);
  EXPECT_EQ(insert[0].parent_span_id, insert_tool[0].span_id);
  // Deterministic: the same request makes the same calls.
  auto again = RunUnderParent(provider, Ask("Implement a word counter in python"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->calls[0].arguments, result->calls[0].arguments);
}

TEST_F(ToolLoopTest, OfflineProviderAnswersDirectlyWhenNoFileToolIsOffered) {
  llm::OfflineProvider provider({.tracer = capture_.tracer});
  ToolLoopOptions options;
  options.allowed_tools = {"calculator"};
  auto result = RunUnderParent(provider, Ask("Implement a parser"), options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rounds, 1);
  EXPECT_TRUE(result->calls.empty());
  EXPECT_THAT(result->final_response.content, HasSubstr("Offline skeleton"));
}

}  // namespace
}  // namespace minion::agents
