#pragma once
// Tools: named operations a worker (or a model, through the worker) can invoke with JSON input
// and get JSON output. A Tool declares a JSON-schema for its input; ToolRegistry checks the
// input against it (object, required fields, declared property types) before the tool runs, so
// tools only see input of the shape they declared. Each invocation through the registry opens
// a `tool.<name>` span with gen_ai.tool.name and tool.name.

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/common/status.h"
#include "minion/observability/tracing.h"
#include "minion/resilience/config.h"
#include "minion/trace/context.h"

namespace minion::tools {

// Implementations must be safe to invoke from several threads at once.
class Tool {
 public:
  virtual ~Tool() = default;
  virtual std::string Name() const = 0;
  virtual std::string Description() const = 0;
  // A JSON-schema object: {"type":"object","properties":{...},"required":[...]}.
  virtual nlohmann::json InputSchema() const = 0;
  // `parent` is the tool's own span when called through a ToolRegistry.
  virtual Result<nlohmann::json> Invoke(const trace::Context& parent,
                                        const nlohmann::json& input) = 0;
};

struct ToolInfo {
  std::string name;
  std::string description;
  nlohmann::json input_schema;
};

// Checks `input` against the subset of JSON-schema tools use: type object, required,
// properties' "type" (string, integer, number, boolean, object, array), and
// additionalProperties:false. The error names the offending field.
Status ValidateToolInput(const nlohmann::json& schema, const nlohmann::json& input);

// Owns tools by name. Thread-safe: Register, List and Invoke may race.
class ToolRegistry {
 public:
  // Spans go to `tracer`, or to observability::GetTracer() at each call when null.
  explicit ToolRegistry(std::shared_ptr<trace::Tracer> tracer = nullptr)
      : tracer_(std::move(tracer)) {}

  // AlreadyExists when the name is taken; InvalidArgument for an empty name.
  Status Register(std::shared_ptr<Tool> tool);
  std::vector<ToolInfo> List() const;  // sorted by name
  std::shared_ptr<Tool> Find(const std::string& name) const;

  // Guards each tool with its own circuit breaker ("tool:<name>"), rate limiter and bulkhead
  // as `policy` says. A refused call is not made: Invoke returns the refusal (Unavailable or
  // ResourceExhausted), its span ERROR with a `resilience.rejected` event. Only failures of
  // the tool itself (not NotFound / InvalidArgument input errors) count against the breaker.
  // `clock` (not owned; null: SystemClock()) must outlive the registry.
  void SetPolicy(resilience::PolicyConfig policy, Clock* clock = nullptr);

  // NotFound for an unknown tool, InvalidArgument when the input does not match the schema,
  // otherwise what the tool returns. The span records the outcome. `call_id` (the model's id
  // for this call, when a model asked for it) becomes gen_ai.tool.call.id.
  Result<nlohmann::json> Invoke(const trace::Context& parent, const std::string& name,
                                const nlohmann::json& input, std::string_view call_id = {}) const;

 private:
  std::shared_ptr<trace::Tracer> tracer_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<Tool>> tools_;  // guarded by mu_

  struct Guard {
    std::shared_ptr<resilience::CircuitBreaker> breaker;
    std::shared_ptr<resilience::RateLimiter> limiter;
    std::shared_ptr<resilience::Bulkhead> bulkhead;
  };
  Guard GuardFor(const std::string& name) const;
  mutable std::mutex guard_mu_;
  std::optional<resilience::PolicyConfig> policy_;  // guarded by guard_mu_
  Clock* policy_clock_ = nullptr;                   // guarded by guard_mu_
  mutable std::map<std::string, Guard> guards_;     // guarded by guard_mu_
};

}  // namespace minion::tools
