#pragma once
// Planners turn a task request into a DAG of subtasks. Three kinds:
//   - DirectPlanner: one subtask whose capability is the task type (direct routing);
//   - DeclarativePlanner: subtasks listed in a workflow file (YAML or JSON);
//   - LlmPlanner: asks an llm::Provider for JSON subtasks, tolerating chatty output.
// Every plan is validated (ValidatePlan) before it is used. Planners are thread-safe.

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/agents/usage.h"
#include "minion/common/status.h"
#include "minion/llm/provider.h"
#include "minion/observability/tracing.h"
#include "minion/trace/context.h"

namespace minion::agents {

struct TaskRequest {
  std::string name;
  std::string description;
  std::string type;  // the capability for direct routing, e.g. "code_generation"
  int priority = 5;  // 1 (low) .. 10 (high)
  nlohmann::json input;
};

struct SubtaskSpec {
  std::string name;  // unique within the plan; dependencies refer to it
  std::string capability;
  std::vector<std::string> dependencies;
  int priority = 5;
  std::string description;
  nlohmann::json input;
};

struct Plan {
  std::vector<SubtaskSpec> subtasks;
  std::string planner;  // which planner made it ("direct", "workflow", "llm")
  // The LLM usage spent making it (the LLM planner's calls, its capability fix-up round
  // included), counted in the task's roll-up. Not part of PlanToJson.
  Usage usage;
};

// Bounds on a plan, which may come from a model or a file: every size is limited, and the
// checks are iterative, so no plan can exhaust the stack or make an unbounded error message.
struct PlanLimits {
  std::size_t max_subtasks = 100000;
  std::size_t max_dependencies_per_subtask = 10000;
  std::size_t max_dependencies = 1000000;  // over the whole plan
  std::size_t max_name_bytes = 1024;       // subtask names and capabilities
};

// Checks the limits, that names are present and unique, capabilities present, every dependency
// names another subtask, and that the graph has no cycle. The error names one cycle
// ("a -> b -> a"; a long one shows its first steps and how many more). O(subtasks + edges).
Status ValidatePlan(const Plan& plan, const PlanLimits& limits = {});
// Subtask indices in an order where every subtask follows its dependencies (plan must be valid;
// on a cycle the order leaves out the subtasks it could not place). O(subtasks + edges).
std::vector<std::size_t> TopologicalOrder(const Plan& plan);

// Parses {"subtasks": [...]} or a bare [...] of subtask objects (fields: name, capability,
// dependencies or depends_on, priority, description, input). Validates the result.
Result<Plan> ParsePlanJson(const nlohmann::json& value);
// The inverse: {"planner": ..., "subtasks": [{name, capability, dependencies, priority,
// description, input}]}, which ParsePlanJson reads back (the ledger stores plans this way).
nlohmann::json PlanToJson(const Plan& plan);
// Finds the JSON in a model's reply: a ```json fenced block, else the first balanced {...} or
// [...] that parses (prose around it is ignored). InvalidArgument when there is none.
Result<nlohmann::json> ExtractJson(std::string_view text);

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string Name() const = 0;
  // `capabilities` are those the registered workers offer right now.
  virtual Result<Plan> MakePlan(const trace::Context& context, const TaskRequest& request,
                                const std::set<std::string>& capabilities) = 0;
  // A second plan after `failed` failed with `error`. Unimplemented by default (no replanning).
  virtual Result<Plan> Replan(const trace::Context& context, const TaskRequest& request,
                              const std::set<std::string>& capabilities, const Plan& failed,
                              const Status& error);
};

class DirectPlanner final : public Planner {
 public:
  std::string Name() const override { return "direct"; }
  Result<Plan> MakePlan(const trace::Context& context, const TaskRequest& request,
                        const std::set<std::string>& capabilities) override;
};

// A workflow file:
//   subtasks:
//     - name: design
//       capability: code_generation
//       priority: 8
//       input: {spec: "..."}
//     - name: review
//       capability: code_review
//       dependencies: [design]
class DeclarativePlanner final : public Planner {
 public:
  explicit DeclarativePlanner(Plan plan) : plan_(std::move(plan)) {}
  // YAML (.yaml/.yml, and anything else) or JSON (.json). Errors name the file.
  static Result<std::unique_ptr<DeclarativePlanner>> FromFile(const std::string& path);
  static Result<std::unique_ptr<DeclarativePlanner>> FromYaml(std::string_view text);
  static Result<std::unique_ptr<DeclarativePlanner>> FromJson(std::string_view text);

  std::string Name() const override { return "workflow"; }
  Result<Plan> MakePlan(const trace::Context& context, const TaskRequest& request,
                        const std::set<std::string>& capabilities) override;

 private:
  Plan plan_;
};

class LlmPlanner final : public Planner {
 public:
  explicit LlmPlanner(std::shared_ptr<llm::Provider> provider, std::string model = {})
      : provider_(std::move(provider)), model_(std::move(model)) {}
  std::string Name() const override { return "llm"; }
  Result<Plan> MakePlan(const trace::Context& context, const TaskRequest& request,
                        const std::set<std::string>& capabilities) override;
  Result<Plan> Replan(const trace::Context& context, const TaskRequest& request,
                      const std::set<std::string>& capabilities, const Plan& failed,
                      const Status& error) override;

 private:
  Result<Plan> Ask(const trace::Context& context, const std::string& prompt,
                   const std::set<std::string>& capabilities);
  std::shared_ptr<llm::Provider> provider_;
  std::string model_;
};

}  // namespace minion::agents
