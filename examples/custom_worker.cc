// A custom worker from a C++ lambda, a two-step workflow, and the trace printed by the stdout
// exporter. Run: build/examples/example_custom_worker
#include <iostream>

#include "minion/agents/coordinator.h"
#include "minion/agents/runtime_builder.h"
#include "minion/observability/setup.h"

using namespace minion;

int main() {
  observability::TracingConfig tracing;
  tracing.exporter = "stdout";  // prints the trace tree when the task's root span ends
  if (Status s = observability::InitGlobalTracer(tracing); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 2;
  }

  agents::CoordinatorOptions options;
  auto workflow = agents::DeclarativePlanner::FromYaml(
      "subtasks:\n"
      "  - {name: count, capability: word_count}\n"
      "  - {name: report, capability: report, dependencies: [count]}\n");
  if (!workflow.ok()) return 2;
  options.workflow = std::shared_ptr<agents::Planner>(std::move(workflow).value());
  auto coordinator =
      agents::BuildCoordinator(std::move(options), {.builtin_workers = false}).value();

  (void)coordinator->CreateWorker(
      {"counter-1", "custom", {"word_count"}, "", 5, {}},
      [](const trace::Context&, const agents::Subtask& s) -> Result<nlohmann::json> {
        std::string text = s.input.is_string() ? s.input.get<std::string>() : "";
        int words = 0;
        bool in_word = false;
        for (char c : text) {
          bool space = c == ' ' || c == '\n' || c == '\t';
          if (!space && !in_word) ++words;
          in_word = !space;
        }
        return nlohmann::json{{"words", words}};
      });
  (void)coordinator->CreateWorker(
      {"reporter-1", "custom", {"report"}, "", 5, {}},
      [](const trace::Context&, const agents::Subtask& s) -> Result<nlohmann::json> {
        return nlohmann::json{
            {"text", "The input has " + s.dependency_outputs["count"]["words"].dump() + " words."}};
      });

  agents::TaskResult result = coordinator->ExecuteTask(
      {"Count words", "", "report", 5, "the quick brown fox jumps over the lazy dog"});
  std::cout << result.ToJson().dump(2) << "\n";
  (void)coordinator->Shutdown();
  (void)observability::ShutdownTracer();
  return result.ok() ? 0 : 1;
}
