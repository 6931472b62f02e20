#include "minion/agents/builtin_workers.h"

#include "minion/common/json.h"

namespace minion::agents {
namespace {

class LlmTaskHandler final : public TaskHandler {
 public:
  LlmTaskHandler(BuiltinKind kind, std::shared_ptr<llm::Provider> provider)
      : kind_(kind), provider_(std::move(provider)) {}

  Result<nlohmann::json> HandleTask(const trace::Context& context, const Subtask& subtask) override {
    if (!provider_) return FailedPreconditionError("worker has no LLM provider configured");
    llm::ChatRequest request;
    request.messages.push_back(
        {"system", "You are the " + std::string(BuiltinRole(kind_)) + " agent of a multi-agent team. "
                   "Perform the '" + subtask.capability + "' step and reply with the result only."});
    std::string user = "Task: " + (subtask.description.empty() ? subtask.name : subtask.description);
    user += "\nCapability: " + subtask.capability;
    if (!subtask.input.is_null()) {
      user += "\nInput: " + (subtask.input.is_string() ? subtask.input.get<std::string>()
                                                       : DumpJson(subtask.input));
    }
    for (auto it = subtask.dependency_outputs.begin(); it != subtask.dependency_outputs.end(); ++it) {
      const auto& out = it.value();
      std::string text = out.is_object() && out.contains("text") && out["text"].is_string()
                             ? out["text"].get<std::string>()
                             : DumpJson(out);
      user += "\nResult of '" + it.key() + "':\n" + text;
    }
    request.messages.push_back({"user", std::move(user)});
    request.stop = subtask.stop_token;  // a cancelled subtask stops waiting on the model
    request.timeout = subtask.timeout;  // and never waits longer than the orchestrator does
    auto response = provider_->Chat(context, request);
    // Counted as soon as the model answered: if a later step of this attempt fails (or it is
    // cancelled), the tokens were still spent. The key is the model the server reported.
    if (response.ok() && subtask.usage) {
      subtask.usage->Add(provider_->Name(), response->model.empty() ? provider_->DefaultModel() : response->model,
                         response->input_tokens, response->output_tokens);
    }
    if (!response.ok()) return response.status().WithContext(std::string(BuiltinRole(kind_)) + " LLM call");
    return nlohmann::json{{"text", response->content},
                          {"provider", provider_->Name()},
                          {"model", response->model},
                          {"input_tokens", response->input_tokens},
                          {"output_tokens", response->output_tokens},
                          {"finish_reason", response->finish_reason}};
  }

 private:
  BuiltinKind kind_;
  std::shared_ptr<llm::Provider> provider_;
};

}  // namespace

std::string_view BuiltinRole(BuiltinKind kind) {
  switch (kind) {
    case BuiltinKind::kCoder: return "coder";
    case BuiltinKind::kAnalyst: return "analyst";
    case BuiltinKind::kResearcher: return "researcher";
    case BuiltinKind::kWriter: return "writer";
    case BuiltinKind::kReviewer: return "reviewer";
  }
  return "unknown";
}

const std::vector<std::string>& BuiltinCapabilities(BuiltinKind kind) {
  static const std::vector<std::string> kCoder = {"code_generation", "code_review", "debugging", "refactoring"};
  static const std::vector<std::string> kAnalyst = {"data_analysis", "statistical_analysis", "forecasting",
                                                    "visualization"};
  static const std::vector<std::string> kResearcher = {"research", "information_gathering", "synthesis",
                                                       "summarization"};
  static const std::vector<std::string> kWriter = {"content_creation", "editing", "copywriting",
                                                   "technical_writing"};
  static const std::vector<std::string> kReviewer = {"code_review", "content_review", "quality_assurance",
                                                     "testing"};
  switch (kind) {
    case BuiltinKind::kCoder: return kCoder;
    case BuiltinKind::kAnalyst: return kAnalyst;
    case BuiltinKind::kResearcher: return kResearcher;
    case BuiltinKind::kWriter: return kWriter;
    case BuiltinKind::kReviewer: return kReviewer;
  }
  return kCoder;
}

std::unique_ptr<TaskHandler> MakeLlmTaskHandler(BuiltinKind kind, std::shared_ptr<llm::Provider> provider) {
  return std::make_unique<LlmTaskHandler>(kind, std::move(provider));
}

std::shared_ptr<Worker> MakeBuiltinWorker(BuiltinKind kind, std::shared_ptr<llm::Provider> provider,
                                          std::string agent_id, WorkerOptions options) {
  WorkerMetadata metadata;
  metadata.role = std::string(BuiltinRole(kind));
  metadata.agent_id = agent_id.empty() ? metadata.role + "-1" : std::move(agent_id);
  metadata.capabilities = BuiltinCapabilities(kind);
  metadata.group = "workers";
  return std::make_shared<Worker>(std::move(metadata), MakeLlmTaskHandler(kind, std::move(provider)),
                                  std::move(options));
}

}  // namespace minion::agents
