#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "minion/tools/builtin.h"
#include "minion/tools/tool.h"
#include "support/tracing_rig.h"

namespace minion::tools {
namespace {

using ::minion::testing::StrAttr;
using nlohmann::json;
using ::testing::HasSubstr;

// Counts calls, so tests can see that bad input never reaches the tool.
class CountingTool final : public Tool {
 public:
  std::string Name() const override { return "count"; }
  std::string Description() const override { return "counts"; }
  json InputSchema() const override {
    return {{"type", "object"},
            {"properties", {{"n", {{"type", "integer"}}}, {"label", {{"type", "string"}}}}},
            {"required", {"n"}}};
  }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    ++calls;
    {
      std::lock_guard<std::mutex> lock(mu);
      seen_parent = ctx.span_context();
    }
    if (input["n"].get<int>() < 0) return InvalidArgumentError("n must be non-negative");
    return json{{"doubled", input["n"].get<int>() * 2}};
  }
  std::atomic<int> calls{0};
  std::mutex mu;
  trace::SpanContext seen_parent;  // guarded by mu
};

class NamedTool final : public Tool {
 public:
  explicit NamedTool(std::string name) : name_(std::move(name)) {}
  std::string Name() const override { return name_; }
  std::string Description() const override { return "named"; }
  json InputSchema() const override { return {{"type", "object"}}; }
  Result<json> Invoke(const trace::Context&, const json&) override { return json::object(); }

 private:
  std::string name_;
};

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : registry_(capture_.tracer) {}
  void SetUp() override { ASSERT_TRUE(registry_.Register(counting_).ok()); }
  minion::testing::TracingRig capture_;
  ToolRegistry registry_;
  std::shared_ptr<CountingTool> counting_ = std::make_shared<CountingTool>();
};

TEST_F(RegistryTest, RegisterRejectsDuplicatesAndNull) {
  auto again = registry_.Register(std::make_shared<CountingTool>());
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_.Register(nullptr).code(), StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, ListIsSortedWithSchemas) {
  ASSERT_TRUE(registry_.Register(MakeCalculatorTool()).ok());
  auto list = registry_.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "calculator");
  EXPECT_EQ(list[1].name, "count");
  EXPECT_EQ(list[0].input_schema["required"][0], "expression");
}

TEST_F(RegistryTest, InvokeOpensAToolSpanUnderTheParent) {
  auto parent =
      observability::StartSpan(*capture_.tracer, trace::Context(), "worker.code_generation",
                               observability::Component::kWorker);
  auto r = registry_.Invoke(parent.context, "count", {{"n", 21}});
  parent.span.End();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["doubled"], 42);
  auto spans = capture_.SpansNamed("tool.count");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(StrAttr(spans[0], "gen_ai.tool.name"), "count");
  EXPECT_EQ(StrAttr(spans[0], "tool.name"), "count");
  EXPECT_EQ(spans[0].parent_span_id, parent.span.GetContext().span_id());
  EXPECT_NE(spans[0].status, trace::SpanStatusCode::kError);
  // The tool ran under its own span, so its children nest below tool.count.
  EXPECT_EQ(counting_->seen_parent.span_id(), spans[0].span_id);
}

TEST_F(RegistryTest, MissingRequiredFieldNeverReachesTheTool) {
  auto r = registry_.Invoke(trace::Context(), "count", {{"label", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("missing required field \"n\""));
  EXPECT_EQ(counting_->calls.load(), 0);
  auto spans = capture_.SpansNamed("tool.count");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
  EXPECT_EQ(StrAttr(spans[0], "error.type"), "invalid_input");
}

TEST_F(RegistryTest, WrongTypesAndNonObjectsAreRejected) {
  auto wrong = registry_.Invoke(trace::Context(), "count", {{"n", "21"}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("\"n\" must be of type integer"));
  auto not_object = registry_.Invoke(trace::Context(), "count", json::array({1}));
  ASSERT_FALSE(not_object.ok());
  EXPECT_THAT(not_object.status().message(), HasSubstr("JSON object"));
  EXPECT_EQ(counting_->calls.load(), 0);
}

TEST_F(RegistryTest, AdditionalPropertiesFalseIsEnforced) {
  ASSERT_TRUE(registry_.Register(MakeCalculatorTool()).ok());
  auto r =
      registry_.Invoke(trace::Context(), "calculator", {{"expression", "1+1"}, {"shell", "rm"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("unexpected field \"shell\""));
}

TEST_F(RegistryTest, UnknownToolIsNotFoundWithAnErrorSpan) {
  auto r = registry_.Invoke(trace::Context(), "rm_rf", json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  auto spans = capture_.SpansNamed("tool.rm_rf");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
}

TEST_F(RegistryTest, ToolFailureMarksTheSpan) {
  auto r = registry_.Invoke(trace::Context(), "count", {{"n", -1}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("tool count: n must be non-negative"));
  auto spans = capture_.SpansNamed("tool.count");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
  EXPECT_TRUE(minion::testing::HasEvent(spans[0], "exception"));
}

TEST_F(RegistryTest, BuiltinsRegisterAndCalculatorWorksThroughTheRegistry) {
  ToolRegistry registry(capture_.tracer);
  ASSERT_TRUE(RegisterBuiltinTools(registry, std::filesystem::temp_directory_path()).ok());
  auto names = registry.List();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].name, "calculator");
  EXPECT_EQ(names[1].name, "http_get");
  EXPECT_EQ(names[2].name, "read_file");
  EXPECT_EQ(names[3].name, "write_file");
  auto r = registry.Invoke(trace::Context(), "calculator", {{"expression", "(2+3)*4^2"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["result"], 80.0);
  EXPECT_EQ(capture_.SpansNamed("tool.calculator").size(), 1u);
}

TEST_F(RegistryTest, ConcurrentRegisterListInvoke) {
  ASSERT_TRUE(registry_.Register(MakeCalculatorTool()).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (registry_.Invoke(trace::Context(), "count", {{"n", i}}).ok()) ++ok;
        if (registry_
                .Invoke(trace::Context(), "calculator", {{"expression", "1+" + std::to_string(i)}})
                .ok())
          ++ok;
        (void)registry_.List();
      }
      // Registration races with invocations on other threads.
      EXPECT_TRUE(
          registry_.Register(std::make_shared<NamedTool>("extra-" + std::to_string(t))).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4 * 50 * 2);
  EXPECT_EQ(counting_->calls.load(), 4 * 50);
  EXPECT_EQ(registry_.List().size(), 2u + 4u);
}

}  // namespace
}  // namespace minion::tools
