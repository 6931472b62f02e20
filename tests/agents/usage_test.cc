// Usage counted once: each LLM span carries its own call's gen_ai.usage.*, worker and task spans
// carry minion.usage.* roll-ups, and a task's totals equal the sum over its LLM calls' span
// attributes exactly, with orchestrator retries, HTTP retries inside one call and parallel
// subtasks. The model is the project's real local HTTP server speaking chat completions; the
// client, workers, transport and orchestrator are the real ones.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>

#include "llm/test_http_server.h"
#include "minion/agents/builtin_workers.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/runtime_builder.h"
#include "minion/agents/usage.h"
#include "minion/agents/wire.h"
#include "minion/llm/openai_provider.h"
#include "minion/observability/attributes.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::IntAttr;
using minion::testing::TracingRig;
using nlohmann::json;

// ---- Usage values and their wire form ----

TEST(UsageTest, AddsPerModelAndTotals) {
  Usage u;
  u.Add("openai", "gpt-4o", 10, 3);
  u.Add("openai", "gpt-4o", 5, 2);
  u.Add("offline", "offline-echo", 7, 1);
  EXPECT_EQ(u.by_model.size(), 2u);
  EXPECT_EQ(u.by_model["gpt-4o"].llm_calls, 2);
  EXPECT_EQ(u.input_tokens(), 22);
  EXPECT_EQ(u.output_tokens(), 6);
  EXPECT_EQ(u.llm_calls(), 3);
  Usage other;
  other.Add("openai", "gpt-4o", 1, 1);
  u.Merge(other);
  EXPECT_EQ(u.by_model["gpt-4o"].input_tokens, 16);
  EXPECT_EQ(u.llm_calls(), 4);
}

TEST(UsageTest, WireRoundTripOnResultAndErrorReplies) {
  TaskReply reply;
  reply.task_id = "t";
  reply.subtask_id = "s";
  reply.worker_id = "w";
  reply.usage.Add("openai", "gpt-4o", 11, 7);
  reply.status = InternalError("model answered, then the step failed");
  // An error reply keeps its usage: those tokens were spent.
  auto decoded = DecodeReply(ReplyType(reply), EncodeReply(reply));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->usage.input_tokens(), 11);
  EXPECT_EQ(decoded->usage.output_tokens(), 7);
  EXPECT_EQ(decoded->usage.by_model.at("gpt-4o").provider, "openai");
  reply.status = Status::Ok();
  reply.output = json{{"text", "x"}};
  decoded = DecodeReply(ReplyType(reply), EncodeReply(reply));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->usage.llm_calls(), 1);
  // No usage: no field at all (older peers and non-LLM workers).
  reply.usage = Usage{};
  EXPECT_FALSE(EncodeReply(reply).contains("usage"));
}

TEST(UsageTest, DecodeRefusesWhatAPeerMustNotSend) {
  EXPECT_FALSE(DecodeUsage(json::object()).ok());
  EXPECT_FALSE(DecodeUsage(json::array({json{{"model", 3}}})).ok());
  auto negative = DecodeUsage(json::array({json{{"model", "m"}, {"input_tokens", -1}}}));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("input_tokens"), std::string::npos);
  EXPECT_FALSE(DecodeUsage(json::array({json{{"model", "m"}, {"output_tokens", 1.5}}})).ok());
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxUsageModels; ++i)
    many.push_back(json{{"model", "m" + std::to_string(i)}});
  EXPECT_FALSE(DecodeUsage(many).ok());
  // A reply with bad usage is malformed as a whole, naming the field.
  auto reply =
      DecodeReply(MessageType::kResult,
                  json{{"subtask_id", "s"},
                       {"usage", json::array({json{{"model", "m"}, {"llm_calls", "x"}}})}});
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find("usage"), std::string::npos);
}

// ---- Prices ----

TEST(PriceTableTest, CostArithmetic) {
  auto table = PriceTable::Parse(R"({
    "_note": "comments start with an underscore",
    "gpt-4o": {"input_per_million": 2.5, "output_per_million": 10},
    "cheap": {"input_per_million": 0.15, "output_per_million": 0.6}
  })");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->size(), 2u);
  Usage u;
  u.Add("openai", "gpt-4o", 1'000'000, 500'000);   // 2.5 + 5.0
  u.Add("openai", "cheap", 2'000'000, 1'000'000);  // 0.3 + 0.6
  u.Add("offline", "offline-echo", 123, 456);      // free
  Cost c = table->CostOf(u);
  ASSERT_TRUE(c.usd.has_value());
  EXPECT_DOUBLE_EQ(*c.usd, 8.4);
  Usage small;
  small.Add("openai", "gpt-4o", 1200, 340);  // 1200*2.5/1e6 + 340*10/1e6 = 0.003 + 0.0034
  EXPECT_DOUBLE_EQ(*table->CostOf(small).usd, 0.0064);
}

TEST(PriceTableTest, UnknownModelMakesCostUnknownNotZero) {
  auto table =
      PriceTable::Parse(R"({"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}})");
  ASSERT_TRUE(table.ok());
  Usage u;
  u.Add("openai", "gpt-4o", 10, 10);
  u.Add("openai", "mystery-model", 10, 10);
  Cost c = table->CostOf(u);
  EXPECT_FALSE(c.usd.has_value());
  ASSERT_EQ(c.unpriced_models.size(), 1u);
  EXPECT_EQ(c.unpriced_models[0], "mystery-model");
  // Without any table only the offline provider's calls are known (free).
  Usage offline;
  offline.Add("offline", "offline-echo", 10, 10);
  EXPECT_EQ(PriceTable().CostOf(offline).usd, 0.0);
  EXPECT_FALSE(PriceTable().CostOf(u).usd.has_value());
  EXPECT_EQ(PriceTable().CostOf(Usage{}).usd, 0.0);  // no calls cost nothing
}

TEST(PriceTableTest, BadFilesAreClearErrors) {
  auto expect_error = [](std::string_view text, std::string_view needle) {
    auto t = PriceTable::Parse(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  expect_error("not json", "not valid JSON");
  expect_error("[]", "JSON object");
  expect_error(R"({"m": 3})", "'m'");
  expect_error(R"({"m": {"input_per_million": 1}})", "output_per_million");
  expect_error(R"({"m": {"input_per_million": -1, "output_per_million": 1}})", "non-negative");
  expect_error(R"({"m": {"input_per_million": "1", "output_per_million": 1}})",
               "input_per_million");
  expect_error(std::string(PriceTable::kMaxBytes + 1, ' '), "bytes");
  auto missing = PriceTable::Load("/nonexistent/prices.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// ---- End to end against a local OpenAI-compatible server ----

// Each answer reports different, known token counts, so a sum that dropped or doubled any call
// could not come out equal by accident.
class ScriptedModel {
 public:
  // The first `fail_first` requests get HTTP 500 (no usage: nothing was billed).
  // `first_reply`, when set, is the content of the first answer (a plan for the LLM planner).
  explicit ScriptedModel(int fail_first = 0, std::string first_reply = "")
      : fail_first_(fail_first),
        first_reply_(std::move(first_reply)),
        server_([this](const minion::testing::HttpRequest&) { return Answer(); }) {
    std::string error;
    started_ = server_.Start(&error);
    EXPECT_TRUE(started_) << error;
  }
  std::string url() const { return server_.url("/v1"); }
  int requests() const { return n_.load(); }

 private:
  minion::testing::HttpResponse Answer() {
    const int n = n_.fetch_add(1) + 1;
    minion::testing::HttpResponse r;
    r.headers.push_back({"Content-Type", "application/json"});
    if (n <= fail_first_) {
      r.status = 500;
      r.body = R"({"error": {"message": "scripted failure"}})";
      return r;
    }
    json body = {
        {"id", "chatcmpl-" + std::to_string(n)},
        {"object", "chat.completion"},
        {"model", "gpt-4o"},
        {"choices", json::array({json{{"index", 0},
                                      {"message",
                                       {{"role", "assistant"},
                                        {"content", n == 1 && !first_reply_.empty()
                                                        ? first_reply_
                                                        : "answer " + std::to_string(n)}}},
                                      {"finish_reason", "stop"}}})},
        {"usage",
         {{"prompt_tokens", 100 + 3 * n}, {"completion_tokens", 20 + 7 * n}, {"total_tokens", 0}}}};
    r.body = body.dump();
    return r;
  }

  int fail_first_;
  std::string first_reply_;
  std::atomic<int> n_{0};
  minion::testing::TestHttpServer server_;
  bool started_ = false;
};

struct Sums {
  std::int64_t input = 0, output = 0, calls = 0;
};

// Sums gen_ai.usage.* over every LLM span of the trace: what a backend would add up.
Sums SumLlmSpans(const std::vector<trace::SpanData>& spans) {
  Sums s;
  for (const auto& span : spans) {
    if (span.name.rfind("llm.", 0) != 0) continue;
    const std::int64_t in = IntAttr(span, "gen_ai.usage.input_tokens");
    if (in < 0) continue;  // a failed call reported no usage
    s.input += in;
    s.output += IntAttr(span, "gen_ai.usage.output_tokens");
    ++s.calls;
    // Counted once: the older duplicate names are gone.
    EXPECT_EQ(IntAttr(span, "llm.tokens.input"), -1);
    EXPECT_EQ(IntAttr(span, "llm.tokens.output"), -1);
  }
  return s;
}

class UsageEndToEnd : public ::testing::Test {
 protected:
  std::unique_ptr<Coordinator> Make(const std::string& model_url, int http_retries, int attempts,
                                    std::shared_ptr<Planner> workflow, int workers,
                                    std::shared_ptr<const PriceTable> prices = nullptr,
                                    bool llm_planner = false) {
    llm::OpenAIProviderOptions p;
    p.base_url = model_url;
    p.model = "gpt-4o";
    p.max_retries = http_retries;
    p.initial_backoff = std::chrono::milliseconds(1);
    p.max_backoff = std::chrono::milliseconds(2);
    p.timeout = std::chrono::seconds(30);
    p.tracer = rig_.tracer;
    auto provider = std::make_shared<llm::OpenAIProvider>(p);
    CoordinatorOptions o;
    o.tracer = rig_.tracer;
    o.workflow = std::move(workflow);
    o.prices = std::move(prices);
    o.orchestrator.max_parallel = 8;
    o.orchestrator.subtask_timeout = std::chrono::seconds(30);
    o.orchestrator.retry.max_attempts = attempts;
    o.orchestrator.retry.initial_backoff = std::chrono::milliseconds(1);
    o.orchestrator.replan_on_failure = false;
    if (llm_planner) {
      o.provider = provider;
      o.planner_mode = PlannerMode::kLlm;
    }
    auto created = BuildCoordinator(std::move(o), {.builtin_workers = false});
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    auto c = std::move(created).value();
    for (int i = 0; i < workers; ++i) {
      auto w = MakeBuiltinWorker(BuiltinKind::kCoder, provider, "coder-" + std::to_string(i + 1),
                                 WorkerOptions{.tracer = rig_.tracer});
      EXPECT_TRUE(c->RegisterWorker(w).ok());
    }
    return c;
  }

  // Every level agrees with the LLM spans: worker span = its LLM children, subtask = its
  // worker spans, task span = result = all LLM spans.
  void ExpectCountedOnce(const TaskResult& r) {
    const auto spans = rig_.Spans();
    const Sums llm = SumLlmSpans(spans);
    EXPECT_GT(llm.calls, 0);
    EXPECT_EQ(r.usage.input_tokens(), llm.input);
    EXPECT_EQ(r.usage.output_tokens(), llm.output);
    EXPECT_EQ(r.usage.llm_calls(), llm.calls);
    std::int64_t subtask_in = 0, subtask_out = 0;
    for (const auto& s : r.subtasks) {
      subtask_in += s.usage.input_tokens();
      subtask_out += s.usage.output_tokens();
    }
    // The planner's own calls (LLM spans under orchestrator.plan) are the rest of the total.
    Sums planner;
    for (const auto& span : spans) {
      if (span.name != "orchestrator.plan") continue;
      std::vector<trace::SpanData> children;
      for (const auto* c : minion::testing::ChildrenOf(spans, span)) children.push_back(*c);
      planner = SumLlmSpans(children);
      if (planner.calls > 0) {
        EXPECT_EQ(IntAttr(span, observability::kAttrUsageInputTokens), planner.input);
        EXPECT_EQ(IntAttr(span, observability::kAttrUsageOutputTokens), planner.output);
        EXPECT_EQ(IntAttr(span, observability::kAttrUsageLlmCalls), planner.calls);
      }
    }
    EXPECT_EQ(subtask_in + planner.input, llm.input);
    EXPECT_EQ(subtask_out + planner.output, llm.output);
    std::int64_t worker_in = 0;
    for (const auto& span : spans) {
      if (span.name.rfind("worker.", 0) != 0) continue;
      std::vector<trace::SpanData> children;
      for (const auto* c : minion::testing::ChildrenOf(spans, span)) children.push_back(*c);
      const Sums mine = SumLlmSpans(children);
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageInputTokens), mine.input) << span.name;
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageOutputTokens), mine.output) << span.name;
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageLlmCalls), mine.calls) << span.name;
      worker_in += IntAttr(span, observability::kAttrUsageInputTokens);
    }
    EXPECT_EQ(worker_in + planner.input, llm.input);
    int task_spans = 0;
    for (const auto& span : spans) {
      if (span.name.rfind(observability::kSpanMultiAgentTaskPrefix, 0) != 0) continue;
      ++task_spans;
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageInputTokens), llm.input);
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageOutputTokens), llm.output);
      EXPECT_EQ(IntAttr(span, observability::kAttrUsageLlmCalls), llm.calls);
    }
    EXPECT_EQ(task_spans, 1);
  }

  TracingRig rig_;
};

TEST_F(UsageEndToEnd, RetriedSubtaskCountsEveryCallExactlyOnce) {
  // Requests 1-2 fail (HTTP 500, no HTTP retries): attempts 1 and 2 of the subtask fail, and
  // attempt 3 gets request 3's answer.
  ScriptedModel model(2);
  auto c = Make(model.url(), /*http_retries=*/0, /*attempts=*/3, nullptr, 1);
  TaskResult r = c->ExecuteTask({"write code", "", "code_generation", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_EQ(r.subtasks[0].attempts, 3);
  EXPECT_EQ(model.requests(), 3);
  EXPECT_EQ(r.usage.input_tokens(), 100 + 3 * 3);
  EXPECT_EQ(r.usage.output_tokens(), 20 + 7 * 3);
  EXPECT_EQ(r.usage.llm_calls(), 1);
  ExpectCountedOnce(r);
}

TEST_F(UsageEndToEnd, HttpRetriesInsideOneCallAndParallelSubtasks) {
  // Four independent subtasks at once on two workers; the first request of all fails and is
  // retried inside its call (one span, one usage).
  ScriptedModel model(1);
  Plan plan;
  plan.planner = "workflow";
  for (int i = 0; i < 4; ++i)
    plan.subtasks.push_back(
        SubtaskSpec{"part" + std::to_string(i), "code_generation", {}, 5, "", {}});
  auto prices =
      PriceTable::Parse(R"({"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}})");
  ASSERT_TRUE(prices.ok());
  auto c = Make(model.url(), /*http_retries=*/2, /*attempts=*/1,
                std::make_shared<DeclarativePlanner>(plan), 2,
                std::make_shared<const PriceTable>(std::move(prices).value()));
  TaskResult r = c->ExecuteTask({"fan out", "", "workflow", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  EXPECT_EQ(model.requests(), 5);
  // Requests 2..5 answered: input sum 4*100 + 3*(2+3+4+5), output 4*20 + 7*14.
  EXPECT_EQ(r.usage.input_tokens(), 400 + 3 * 14);
  EXPECT_EQ(r.usage.output_tokens(), 80 + 7 * 14);
  EXPECT_EQ(r.usage.llm_calls(), 4);
  ExpectCountedOnce(r);
  ASSERT_TRUE(r.cost.usd.has_value());
  EXPECT_DOUBLE_EQ(*r.cost.usd, (442 * 2.5 + 178 * 10) / 1e6);
  double subtask_cost = 0;
  for (const auto& s : r.subtasks) subtask_cost += s.cost.usd.value_or(-1);
  EXPECT_DOUBLE_EQ(subtask_cost, *r.cost.usd);
  // The same numbers in the JSON result `minion run --json` prints.
  const json j = r.ToJson();
  EXPECT_EQ(j["usage"]["input_tokens"], 442);
  EXPECT_EQ(j["usage"]["output_tokens"], 178);
  EXPECT_EQ(j["usage"]["llm_calls"], 4);
  EXPECT_DOUBLE_EQ(j["usage"]["cost_usd"].get<double>(), *r.cost.usd);
  EXPECT_EQ(j["subtasks"][0]["usage"]["llm_calls"], 1);
}

TEST_F(UsageEndToEnd, TheLlmPlannersCallsAreInTheTaskTotal) {
  // Request 1 is the planner's (its reply is the plan), 2 and 3 the two parallel subtasks'.
  ScriptedModel model(0, R"({"subtasks": [{"name": "a", "capability": "code_generation"},)"
                         R"( {"name": "b", "capability": "code_generation"}]})");
  auto c = Make(model.url(), /*http_retries=*/0, /*attempts=*/1, nullptr, 2, nullptr,
                /*llm_planner=*/true);
  TaskResult r = c->ExecuteTask({"plan then build", "", "not_a_capability", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  EXPECT_EQ(r.planner, "llm");
  EXPECT_EQ(model.requests(), 3);
  ASSERT_EQ(r.subtasks.size(), 2u);
  EXPECT_EQ(r.usage.input_tokens(), 300 + 3 * (1 + 2 + 3));
  EXPECT_EQ(r.usage.output_tokens(), 60 + 7 * (1 + 2 + 3));
  EXPECT_EQ(r.usage.llm_calls(), 3);
  // The subtasks alone hold requests 2 and 3: the planner's request 1 is the difference.
  EXPECT_EQ(r.subtasks[0].usage.input_tokens() + r.subtasks[1].usage.input_tokens(), 200 + 3 * 5);
  ExpectCountedOnce(r);
  // And the ledger's task row holds the same total, with the planner's part on its own.
  auto task = c->ledger().Task(r.task_id);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  EXPECT_EQ(task->usage.input_tokens, r.usage.input_tokens());
  EXPECT_EQ(task->usage.output_tokens, r.usage.output_tokens());
  EXPECT_EQ(task->usage.llm_calls, 3);
  auto planner = DecodeUsage(json::parse(task->planner_usage));
  ASSERT_TRUE(planner.ok()) << planner.status().ToString();
  EXPECT_EQ(planner->input_tokens(), 103);
  EXPECT_EQ(planner->output_tokens(), 27);
}

TEST_F(UsageEndToEnd, FailedAttemptsTokensCountBecauseTheyWereSpent) {
  // A handler that calls "a model" and then fails on its first attempt: the tokens of the
  // failed attempt travel back on its error reply and are in the subtask's total.
  CoordinatorOptions o;
  o.tracer = rig_.tracer;
  o.orchestrator.retry.max_attempts = 2;
  o.orchestrator.retry.initial_backoff = std::chrono::milliseconds(1);
  o.orchestrator.replan_on_failure = false;
  auto created = BuildCoordinator(std::move(o), {.builtin_workers = false});
  ASSERT_TRUE(created.ok());
  auto c = std::move(created).value();
  WorkerMetadata meta;
  meta.agent_id = "spender-1";
  meta.capabilities = {"spend"};
  ASSERT_TRUE(c->CreateWorker(meta, [](const trace::Context&, const Subtask& s) -> Result<json> {
                 s.usage->Add("openai", "gpt-4o", 5 * s.attempt, 7 * s.attempt);
                 if (s.attempt == 1) return InternalError("the step after the model call failed");
                 return json{{"text", "ok"}};
               }).ok());
  TaskResult r = c->ExecuteTask({"spend", "", "spend", 5, {}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  ASSERT_TRUE(c->Shutdown().ok());
  ASSERT_EQ(r.subtasks.size(), 1u);
  EXPECT_EQ(r.subtasks[0].attempts, 2);
  EXPECT_EQ(r.subtasks[0].usage.input_tokens(), 5 + 10);
  EXPECT_EQ(r.subtasks[0].usage.output_tokens(), 7 + 14);
  EXPECT_EQ(r.subtasks[0].usage.llm_calls(), 2);
  EXPECT_EQ(r.usage.input_tokens(), 15);
  // Each worker span shows its own attempt only.
  auto workers = rig_.SpansNamed("worker.spend");
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(IntAttr(workers[0], observability::kAttrUsageInputTokens) +
                IntAttr(workers[1], observability::kAttrUsageInputTokens),
            15);
  // No price table: cost unknown, naming the model.
  EXPECT_FALSE(r.cost.usd.has_value());
  EXPECT_TRUE(r.ToJson()["usage"]["cost_usd"].is_null());
  EXPECT_EQ(r.ToJson()["usage"]["unpriced_models"][0], "gpt-4o");
}

}  // namespace
}  // namespace minion::agents
