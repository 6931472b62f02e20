#include "minion/agents/builtin_workers.h"

#include <algorithm>

#include "minion/agents/tool_loop.h"
#include "minion/common/json.h"
#include "minion/tools/builtin.h"
#include "minion/tools/storage_tools.h"

namespace minion::agents {
namespace {

class LlmTaskHandler final : public TaskHandler {
 public:
  LlmTaskHandler(BuiltinKind kind, std::shared_ptr<llm::Provider> provider,
                 std::shared_ptr<const WorkerTools> tools)
      : kind_(kind), provider_(std::move(provider)), tools_(std::move(tools)) {}

  Result<nlohmann::json> HandleTask(const trace::Context& context,
                                    const Subtask& subtask) override {
    if (!provider_) return FailedPreconditionError("worker has no LLM provider configured");
    llm::ChatRequest request;
    request.messages.push_back({"system", "You are the " + std::string(BuiltinRole(kind_)) +
                                              " agent of a multi-agent team. "
                                              "Perform the '" +
                                              subtask.capability +
                                              "' step and reply with the result only."});
    std::string user =
        "Task: " + (subtask.description.empty() ? subtask.name : subtask.description);
    user += "\nCapability: " + subtask.capability;
    if (!subtask.input.is_null()) {
      user += "\nInput: " + (subtask.input.is_string() ? subtask.input.get<std::string>()
                                                       : DumpJson(subtask.input));
    }
    for (auto it = subtask.dependency_outputs.begin(); it != subtask.dependency_outputs.end();
         ++it) {
      const auto& out = it.value();
      std::string text = out.is_object() && out.contains("text") && out["text"].is_string()
                             ? out["text"].get<std::string>()
                             : DumpJson(out);
      user += "\nResult of '" + it.key() + "':\n" + text;
    }
    request.messages.push_back({"user", std::move(user)});
    request.stop = subtask.stop_token;  // a cancelled subtask stops waiting on the model
    request.timeout = subtask.timeout;  // and never waits longer than the orchestrator does
    if (tools_) return WithTools(context, subtask, std::move(request));
    auto response = provider_->Chat(context, request);
    // Counted as soon as the model answered: if a later step of this attempt fails (or it is
    // cancelled), the tokens were still spent. The key is the model the server reported.
    if (response.ok() && subtask.usage) {
      subtask.usage->Add(provider_->Name(),
                         response->model.empty() ? provider_->DefaultModel() : response->model,
                         response->input_tokens, response->output_tokens);
    }
    if (!response.ok())
      return response.status().WithContext(std::string(BuiltinRole(kind_)) + " LLM call");
    return nlohmann::json{{"text", response->content},
                          {"provider", provider_->Name()},
                          {"model", response->model},
                          {"input_tokens", response->input_tokens},
                          {"output_tokens", response->output_tokens},
                          {"finish_reason", response->finish_reason}};
  }

 private:
  // The registry one subtask's loop uses: its own, so the file tools are rooted in this task's
  // workspace while the other tools are shared.
  Result<nlohmann::json> WithTools(const trace::Context& context, const Subtask& subtask,
                                   llm::ChatRequest request) {
    const std::string role(BuiltinRole(kind_));
    tools::ToolRegistry registry(tools_->tracer);
    auto offered = [&](std::string_view name) {
      if (tools_->only)
        return std::find(tools_->only->begin(), tools_->only->end(), name) != tools_->only->end();
      return name != "write_file" || kind_ == BuiltinKind::kCoder;
    };
    std::filesystem::path workspace;
    if (!tools_->workspace_base.empty() && (offered("write_file") || offered("read_file"))) {
      auto dir = tools::TaskWorkspace(tools_->workspace_base,
                                      subtask.task_id.empty() ? "task" : subtask.task_id);
      if (!dir.ok()) return dir.status().WithContext(role);
      workspace = *dir;
      tools::FileToolOptions files{workspace};
      if (offered("write_file"))
        MINION_RETURN_IF_ERROR(registry.Register(tools::MakeWriteFileTool(files)));
      if (offered("read_file"))
        MINION_RETURN_IF_ERROR(registry.Register(tools::MakeReadFileTool(files)));
    }
    std::vector<std::shared_ptr<tools::Tool>> others{tools::MakeCalculatorTool()};
    if (tools_->storage) {
      tools::StorageToolOptions storage{.storage = tools_->storage};
      others.push_back(tools::MakeStorageInsertTool(storage));
      others.push_back(tools::MakeStorageGetTool(storage));
      others.push_back(tools::MakeStorageQueryTool(storage));
    }
    others.insert(others.end(), tools_->extra.begin(), tools_->extra.end());
    for (const auto& tool : others) {
      if (!offered(tool->Name())) continue;
      Status s = registry.Register(tool);
      if (!s.ok()) return FailedPreconditionError(role + " tools: " + s.message());
    }
    ToolLoopOptions options;
    options.max_rounds = tools_->max_rounds;
    options.timeout = request.timeout;  // the subtask's limit bounds every round together
    if (subtask.usage) {
      // Every round's tokens, as each answer arrives (the plain path above counts the same way).
      options.on_response = [&](const llm::ChatResponse& response) {
        subtask.usage->Add(provider_->Name(),
                           response.model.empty() ? provider_->DefaultModel() : response.model,
                           response.input_tokens, response.output_tokens);
      };
    }
    auto loop = RunToolLoop(context, *provider_, registry, std::move(request), options);
    if (!loop.ok()) return loop.status().WithContext(role + " tool loop");
    nlohmann::json calls = nlohmann::json::array();
    nlohmann::json files = nlohmann::json::array();
    for (const auto& call : loop->calls) {
      calls.push_back({{"name", call.name}, {"ok", call.ok}});
      if (call.ok && call.name == "write_file") {
        auto result = ParseJson(call.result, "write_file result");
        if (result.ok() && result->contains("path") && (*result)["path"].is_string()) {
          const std::string path = (workspace / (*result)["path"].get<std::string>()).string();
          if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
        }
      }
    }
    const llm::ChatResponse& answer = loop->final_response;
    nlohmann::json out{{"text", answer.content},
                       {"provider", provider_->Name()},
                       {"model", answer.model},
                       {"input_tokens", loop->input_tokens},
                       {"output_tokens", loop->output_tokens},
                       {"finish_reason", answer.finish_reason},
                       {"rounds", loop->rounds},
                       {"tool_calls", std::move(calls)}};
    if (!files.empty()) {
      out["workspace"] = workspace.string();
      out["files"] = std::move(files);
    }
    return out;
  }

  BuiltinKind kind_;
  std::shared_ptr<llm::Provider> provider_;
  std::shared_ptr<const WorkerTools> tools_;
};

}  // namespace

std::string_view BuiltinRole(BuiltinKind kind) {
  switch (kind) {
    case BuiltinKind::kCoder:
      return "coder";
    case BuiltinKind::kAnalyst:
      return "analyst";
    case BuiltinKind::kResearcher:
      return "researcher";
    case BuiltinKind::kWriter:
      return "writer";
    case BuiltinKind::kReviewer:
      return "reviewer";
  }
  return "unknown";
}

const std::vector<std::string>& BuiltinCapabilities(BuiltinKind kind) {
  static const std::vector<std::string> kCoder = {"code_generation", "code_review", "debugging",
                                                  "refactoring"};
  static const std::vector<std::string> kAnalyst = {"data_analysis", "statistical_analysis",
                                                    "forecasting", "visualization"};
  static const std::vector<std::string> kResearcher = {"research", "information_gathering",
                                                       "synthesis", "summarization"};
  static const std::vector<std::string> kWriter = {"content_creation", "editing", "copywriting",
                                                   "technical_writing"};
  static const std::vector<std::string> kReviewer = {"code_review", "content_review",
                                                     "quality_assurance", "testing"};
  switch (kind) {
    case BuiltinKind::kCoder:
      return kCoder;
    case BuiltinKind::kAnalyst:
      return kAnalyst;
    case BuiltinKind::kResearcher:
      return kResearcher;
    case BuiltinKind::kWriter:
      return kWriter;
    case BuiltinKind::kReviewer:
      return kReviewer;
  }
  return kCoder;
}

std::unique_ptr<TaskHandler> MakeLlmTaskHandler(BuiltinKind kind,
                                                std::shared_ptr<llm::Provider> provider,
                                                std::shared_ptr<const WorkerTools> tools) {
  return std::make_unique<LlmTaskHandler>(kind, std::move(provider), std::move(tools));
}

std::shared_ptr<Worker> MakeBuiltinWorker(BuiltinKind kind, std::shared_ptr<llm::Provider> provider,
                                          std::string agent_id, WorkerOptions options,
                                          std::shared_ptr<const WorkerTools> tools) {
  WorkerMetadata metadata;
  metadata.role = std::string(BuiltinRole(kind));
  metadata.agent_id = agent_id.empty() ? metadata.role + "-1" : std::move(agent_id);
  metadata.capabilities = BuiltinCapabilities(kind);
  metadata.group = "workers";
  return std::make_shared<Worker>(std::move(metadata),
                                  MakeLlmTaskHandler(kind, std::move(provider), std::move(tools)),
                                  std::move(options));
}

}  // namespace minion::agents
