#include "minion/agents/planner.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "minion/llm/offline_provider.h"

namespace minion::agents {
namespace {

using nlohmann::json;

// Replies with canned text, so the planner's handling of real-world model output (prose,
// fences, broken plans) is exercised without a network.
class ScriptedProvider final : public llm::Provider {
 public:
  explicit ScriptedProvider(std::vector<std::string> replies) : replies_(std::move(replies)) {}
  std::string Name() const override { return "scripted"; }
  std::string DefaultModel() const override { return "script-1"; }
  Result<llm::ChatResponse> Chat(const trace::Context&, const llm::ChatRequest& request) override {
    last_prompt = request.messages.back().content;
    llm::ChatResponse r;
    r.content = replies_.at(std::min(calls++, replies_.size() - 1));
    return r;
  }
  std::size_t calls = 0;
  std::string last_prompt;

 private:
  std::vector<std::string> replies_;
};

const std::set<std::string> kCaps = {"code_generation", "code_review", "data_analysis", "testing"};

TEST(ExtractJsonTest, FindsFencedBlock) {
  auto j = ExtractJson("Sure! Here is the plan:\n```json\n{\"subtasks\": []}\n```\nGood luck.");
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE((*j)["subtasks"].is_array());
}

TEST(ExtractJsonTest, FindsObjectInProseWithBracesInStrings) {
  auto j = ExtractJson(
      "I think {this} is it: {\"a\": \"}{ tricky \\\" }\", \"b\": [1, {\"c\": 2}]} done");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["a"], "}{ tricky \" }");
  EXPECT_EQ((*j)["b"][1]["c"], 2);
}

TEST(ExtractJsonTest, FindsBareArrayAndRejectsNoJson) {
  auto arr = ExtractJson("plan: [{\"name\": \"x\"}]");
  ASSERT_TRUE(arr.ok());
  EXPECT_TRUE(arr->is_array());
  auto none = ExtractJson("I cannot help with that.");
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  auto broken = ExtractJson("{\"subtasks\": [");
  EXPECT_FALSE(broken.ok());
}

TEST(ParsePlanJsonTest, AcceptsIdsAndDependsOn) {
  auto plan = ParsePlanJson(json::parse(R"({"subtasks": [
      {"id": "s1", "name": "Write it", "capability": "code_generation"},
      {"id": "s2", "name": "Check it", "type": "code_review", "depends_on": ["s1"], "priority": 9}]})"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->subtasks.size(), 2u);
  EXPECT_EQ(plan->subtasks[1].name, "s2");
  EXPECT_EQ(plan->subtasks[1].capability, "code_review");
  EXPECT_EQ(plan->subtasks[1].dependencies, std::vector<std::string>{"s1"});
  EXPECT_EQ(plan->subtasks[1].priority, 9);
  EXPECT_EQ(plan->subtasks[1].description, "Check it");
}

TEST(ParsePlanJsonTest, RejectsCyclesUnknownDepsDuplicatesAndBadTypes) {
  auto cycle = ParsePlanJson(json::parse(R"([
      {"name": "a", "capability": "x", "dependencies": ["c"]},
      {"name": "b", "capability": "x", "dependencies": ["a"]},
      {"name": "c", "capability": "x", "dependencies": ["b"]}])"));
  EXPECT_EQ(cycle.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cycle.status().message().find("cycle"), std::string::npos);
  EXPECT_NE(cycle.status().message().find("a -> c -> b -> a"), std::string::npos)
      << cycle.status().message();

  auto unknown = ParsePlanJson(
      json::parse(R"([{"name": "a", "capability": "x", "dependencies": ["ghost"]}])"));
  EXPECT_NE(unknown.status().message().find("unknown subtask 'ghost'"), std::string::npos);

  auto dup = ParsePlanJson(
      json::parse(R"([{"name": "a", "capability": "x"}, {"name": "a", "capability": "y"}])"));
  EXPECT_NE(dup.status().message().find("used twice"), std::string::npos);

  auto self =
      ParsePlanJson(json::parse(R"([{"name": "a", "capability": "x", "dependencies": ["a"]}])"));
  EXPECT_FALSE(self.ok());

  auto no_cap = ParsePlanJson(json::parse(R"([{"name": "a"}])"));
  EXPECT_NE(no_cap.status().message().find("no capability"), std::string::npos);

  auto bad_deps =
      ParsePlanJson(json::parse(R"([{"name": "a", "capability": "x", "dependencies": "b"}])"));
  EXPECT_NE(bad_deps.status().message().find("must be a list"), std::string::npos);

  EXPECT_FALSE(ParsePlanJson(json::parse(R"({"subtasks": []})")).ok());
  EXPECT_FALSE(ParsePlanJson(json::parse(R"({"steps": []})")).ok());
}

TEST(TopologicalOrderTest, PutsDependenciesFirst) {
  Plan plan;
  plan.subtasks = {
      {"c", "x", {"a", "b"}, 5, "", {}}, {"b", "x", {"a"}, 5, "", {}}, {"a", "x", {}, 5, "", {}}};
  ASSERT_TRUE(ValidatePlan(plan).ok());
  EXPECT_EQ(TopologicalOrder(plan), (std::vector<std::size_t>{2, 1, 0}));
}

TEST(DirectPlannerTest, RoutesTypeToCapabilityOrNamesTheMissingOne) {
  DirectPlanner planner;
  TaskRequest req{"Generate REST API", "", "code_generation", 8, "spec"};
  auto plan = planner.MakePlan({}, req, kCaps);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->subtasks.size(), 1u);
  EXPECT_EQ(plan->subtasks[0].capability, "code_generation");
  EXPECT_EQ(plan->subtasks[0].priority, 8);
  req.type = "teleportation";
  auto missing = planner.MakePlan({}, req, kCaps);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'teleportation'"), std::string::npos);
}

TEST(DeclarativePlannerTest, LoadsYamlAndJsonFiles) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  std::string yaml_path = dir + "/minion_agents_workflow_test.yaml";
  {
    std::ofstream(yaml_path)
        << "subtasks:\n"
           "  - name: design\n    capability: code_generation\n    priority: 8\n"
           "    input: {spec: \"users API\", port: 8080}\n"
           "  - name: review\n    capability: code_review\n    dependencies: [design]\n";
  }
  auto yaml = DeclarativePlanner::FromFile(yaml_path);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto plan = (*yaml)->MakePlan({}, TaskRequest{"t", "", "x", 5, "task input"}, kCaps);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->subtasks.size(), 2u);
  EXPECT_EQ(plan->subtasks[0].priority, 8);
  EXPECT_EQ(plan->subtasks[0].input["port"], 8080);
  EXPECT_EQ(plan->subtasks[0].input["spec"], "users API");
  EXPECT_EQ(plan->subtasks[1].input, "task input");  // inherits the task's input
  EXPECT_EQ(plan->subtasks[1].dependencies, std::vector<std::string>{"design"});

  std::string json_path = dir + "/minion_agents_workflow_test.json";
  {
    std::ofstream(json_path)
        << R"({"subtasks": [{"name": "a", "capability": "testing", "dependencies": ["zz"]}]})";
  }
  auto bad = DeclarativePlanner::FromFile(json_path);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(json_path), std::string::npos);
  EXPECT_NE(bad.status().message().find("unknown subtask 'zz'"), std::string::npos);

  auto missing = DeclarativePlanner::FromFile(dir + "/does-not-exist.yaml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto broken = DeclarativePlanner::FromYaml("subtasks: [unclosed");
  EXPECT_NE(broken.status().message().find("YAML"), std::string::npos);
}

TEST(LlmPlannerTest, ParsesChattyReplyAndAsksOnceToFixAnUnknownCapability) {
  auto provider = std::make_shared<ScriptedProvider>(std::vector<std::string>{
      "Here's my plan.\n```json\n{\"subtasks\": [{\"name\": \"a\", \"capability\": \"analysis\"},"
      " {\"name\": \"b\", \"capability\": \"code_generation\", \"dependencies\": "
      "[\"a\"]}]}\n```\nHope it helps!",
      R"({"subtasks": [{"name": "a", "capability": "data_analysis"},
                       {"name": "b", "capability": "code_generation", "dependencies": ["a"]}]})"});
  LlmPlanner planner(provider);
  auto plan = planner.MakePlan({}, TaskRequest{"Build dashboard", "", "feature", 5, {}}, kCaps);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(provider->calls, 2u);  // asked back exactly once
  EXPECT_EQ(plan->subtasks[0].capability, "data_analysis");
  EXPECT_EQ(plan->planner, "llm");
  // The follow-up names the unknown capability and lists the valid ones.
  EXPECT_NE(provider->last_prompt.find("'analysis' (subtask 'a')"), std::string::npos)
      << provider->last_prompt;
  EXPECT_NE(provider->last_prompt.find("code_generation, code_review, data_analysis, testing"),
            std::string::npos)
      << provider->last_prompt;
}

TEST(LlmPlannerTest, NoSubstringGuessingAKnownPlanNeedsNoSecondCall) {
  // "code" is part of two capabilities; before, the planner silently picked one.
  auto provider = std::make_shared<ScriptedProvider>(
      std::vector<std::string>{R"({"subtasks": [{"name": "a", "capability": "code"}]})",
                               R"({"subtasks": [{"name": "a", "capability": "code"}]})"});
  auto plan = LlmPlanner(provider).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps);
  EXPECT_EQ(plan.status().code(), StatusCode::kNotFound);
  EXPECT_NE(plan.status().message().find("again after being given the list"), std::string::npos)
      << plan.status().message();
  EXPECT_EQ(provider->calls, 2u);

  auto good = std::make_shared<ScriptedProvider>(
      std::vector<std::string>{R"({"subtasks": [{"name": "a", "capability": "testing"}]})"});
  ASSERT_TRUE(LlmPlanner(good).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps).ok());
  EXPECT_EQ(good->calls, 1u);
}

TEST(LlmPlannerTest, RejectsCyclesAndUnofferedCapabilities) {
  auto cyclic = std::make_shared<ScriptedProvider>(std::vector<std::string>{
      R"([{"name": "a", "capability": "testing", "dependencies": ["b"]},
          {"name": "b", "capability": "testing", "dependencies": ["a"]}])"});
  auto plan = LlmPlanner(cyclic).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps);
  EXPECT_NE(plan.status().message().find("cycle"), std::string::npos);

  auto unknown = std::make_shared<ScriptedProvider>(
      std::vector<std::string>{R"({"subtasks": [{"name": "a", "capability": "juggling"}]})"});
  auto plan2 = LlmPlanner(unknown).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps);
  EXPECT_EQ(plan2.status().code(), StatusCode::kNotFound);
  EXPECT_NE(plan2.status().message().find("'juggling'"), std::string::npos);
  EXPECT_EQ(unknown->calls, 2u);

  auto prose = std::make_shared<ScriptedProvider>(std::vector<std::string>{"No idea, sorry."});
  auto plan3 = LlmPlanner(prose).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps);
  EXPECT_NE(plan3.status().message().find("no JSON"), std::string::npos);

  // The fix-up reply is checked like the first one.
  auto broken_fix = std::make_shared<ScriptedProvider>(std::vector<std::string>{
      R"({"subtasks": [{"name": "a", "capability": "juggling"}]})", "still no idea"});
  auto plan4 = LlmPlanner(broken_fix).MakePlan({}, TaskRequest{"t", "", "x", 5, {}}, kCaps);
  EXPECT_NE(plan4.status().message().find("after the capability fix-up"), std::string::npos)
      << plan4.status().message();
}

TEST(LlmPlannerTest, WorksWithTheOfflineProvider) {
  auto provider = std::make_shared<llm::OfflineProvider>();
  LlmPlanner planner(provider);
  auto plan = planner.MakePlan(
      {}, TaskRequest{"Build a REST API", "implement and test", "feature", 7, {}}, kCaps);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_GE(plan->subtasks.size(), 1u);
  for (const auto& s : plan->subtasks) EXPECT_TRUE(kCaps.count(s.capability)) << s.capability;
  auto replan = planner.Replan({}, TaskRequest{"Build a REST API", "", "feature", 7, {}}, kCaps,
                               *plan, InternalError("boom"));
  EXPECT_TRUE(replan.ok()) << replan.status().ToString();
}

}  // namespace
}  // namespace minion::agents
