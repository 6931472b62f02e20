#include <mutex>

#include "minion/tools/tool.h"

#include "minion/common/clock.h"
#include "minion/metrics/recorder.h"

namespace minion::tools {
namespace {

using nlohmann::json;

bool HasType(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;  // a type we do not check is not our input's fault
}

}  // namespace

Status ValidateToolInput(const json& schema, const json& input) {
  if (!input.is_object()) return InvalidArgumentError("tool input must be a JSON object");
  if (!schema.is_object()) return Status::Ok();
  if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
    for (const auto& field : *req) {
      if (field.is_string() && !input.contains(field.get<std::string>())) {
        return InvalidArgumentError("missing required field \"" + field.get<std::string>() + "\"");
      }
    }
  }
  auto props = schema.find("properties");
  const bool has_props = props != schema.end() && props->is_object();
  if (has_props) {
    for (const auto& [key, spec] : props->items()) {
      auto value = input.find(key);
      if (value == input.end() || !spec.is_object()) continue;
      auto type = spec.find("type");
      if (type != spec.end() && type->is_string() && !HasType(*value, type->get<std::string>())) {
        return InvalidArgumentError("field \"" + key + "\" must be of type " +
                                    type->get<std::string>());
      }
    }
  }
  if (auto extra = schema.find("additionalProperties");
      extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
    for (const auto& [key, value] : input.items()) {
      if (!has_props || !props->contains(key)) {
        return InvalidArgumentError("unexpected field \"" + key + "\"");
      }
    }
  }
  return Status::Ok();
}

Status ToolRegistry::Register(std::shared_ptr<Tool> tool) {
  if (!tool) return InvalidArgumentError("cannot register a null tool");
  std::string name = tool->Name();
  if (name.empty()) return InvalidArgumentError("cannot register a tool without a name");
  std::unique_lock lock(mu_);
  auto [it, inserted] = tools_.emplace(name, std::move(tool));
  if (!inserted)
    return Status(StatusCode::kAlreadyExists, "tool \"" + name + "\" is already registered");
  return Status::Ok();
}

std::vector<ToolInfo> ToolRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<ToolInfo> out;
  out.reserve(tools_.size());
  for (const auto& [name, tool] : tools_) {
    out.push_back({name, tool->Description(), tool->InputSchema()});
  }
  return out;
}

std::shared_ptr<Tool> ToolRegistry::Find(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second;
}

Result<json> ToolRegistry::Invoke(const trace::Context& parent, const std::string& name,
                                  const json& input, std::string_view call_id) const {
  // Named members, not a structured binding: the lambdas below capture the span, and clang 14
  // (the fuzz build's compiler) cannot capture structured bindings.
  observability::StartedSpan started =
      observability::StartToolSpan(observability::TracerOrGlobal(tracer_), parent, name);
  const trace::Context& ctx = started.context;
  trace::Span& span = started.span;
  span.SetAttribute("gen_ai.operation.name", "execute_tool");
  span.SetAttribute("gen_ai.tool.name", name);
  span.SetAttribute("tool.name", name);
  if (!call_id.empty()) span.SetAttribute("gen_ai.tool.call.id", call_id);
  const std::uint64_t start = SystemClock().MonotonicNanos();
  auto finish = [&](Result<json> result, std::string_view error_type) {
    if (!result.ok()) span.SetAttribute("error.type", error_type);
    observability::EndSpan(span, result.status());
    // An unknown name is caller input: it is not a label (cardinality stays bounded).
    const std::string_view label =
        error_type == "tool_not_found" ? std::string_view("unknown") : name;
    const double seconds = static_cast<double>(SystemClock().MonotonicNanos() - start) / 1e9;
    metrics::GlobalRecorder().ToolCall(label, result.ok() ? "success" : "error", seconds);
    if (!result.ok()) metrics::GlobalRecorder().ToolError(label, error_type);
    return result;
  };

  std::shared_ptr<Tool> tool = Find(name);
  if (!tool) return finish(NotFoundError("no tool named \"" + name + "\""), "tool_not_found");
  Status valid = ValidateToolInput(tool->InputSchema(), input);
  if (!valid.ok()) return finish(valid.WithContext("tool " + name), "invalid_input");
  const Guard guard = GuardFor(name);
  auto refuse = [&](std::string_view policy, const Status& why) {
    span.AddEvent("resilience.rejected",
                  {{"resilience.policy", policy}, {"resilience.reason", why.message()}});
    return finish(why, std::string(policy) + "_rejected");
  };
  if (guard.limiter) {
    if (Status s = guard.limiter->TryAcquire(); !s.ok()) {
      metrics::GlobalRecorder().RateLimited(guard.limiter->name());
      return refuse("rate_limiter", s);
    }
  }
  resilience::Bulkhead::Slot slot;
  if (guard.bulkhead) {
    auto acquired = guard.bulkhead->TryAcquire();
    if (!acquired.ok()) {
      metrics::GlobalRecorder().BulkheadRejection(guard.bulkhead->name());
      return refuse("bulkhead", acquired.status());
    }
    slot = std::move(acquired).value();
  }
  std::optional<resilience::CircuitBreaker::Permit> permit;
  if (guard.breaker) {
    auto p = guard.breaker->TryAcquire();
    if (!p.ok()) {
      metrics::GlobalRecorder().BreakerRejection(guard.breaker->name(), "open");
      return refuse("circuit_breaker", p.status());
    }
    permit = *p;
  }
  Result<json> result = tool->Invoke(ctx, input);
  if (permit) {
    const StatusCode code = result.status().code();
    if (result.ok() || code == StatusCode::kInvalidArgument || code == StatusCode::kCancelled) {
      guard.breaker->OnSuccess(*permit);
    } else {
      guard.breaker->OnFailure(*permit);
    }
  }
  if (!result.ok()) {
    std::string type(StatusCodeName(result.status().code()));
    return finish(result.status().WithContext("tool " + name), type);
  }
  return finish(std::move(result), "");
}

void ToolRegistry::SetPolicy(resilience::PolicyConfig policy, Clock* clock) {
  std::lock_guard lock(guard_mu_);
  policy_ = std::move(policy);
  policy_clock_ = clock;
  guards_.clear();
}

ToolRegistry::Guard ToolRegistry::GuardFor(const std::string& name) const {
  std::lock_guard lock(guard_mu_);
  if (!policy_) return {};
  auto it = guards_.find(name);
  if (it != guards_.end()) return it->second;
  // Only names of registered tools get here (Invoke checked), so the map stays bounded.
  Guard g;
  const std::string id = "tool:" + name;
  if (policy_->circuit_breaker) {
    g.breaker =
        std::make_shared<resilience::CircuitBreaker>(id, *policy_->circuit_breaker, policy_clock_);
    g.breaker->AddListener([](const resilience::BreakerTransition& t) {
      metrics::GlobalRecorder().BreakerState(t.name, static_cast<int>(t.to));
      metrics::GlobalRecorder().BreakerTransition(t.name, resilience::BreakerStateName(t.from),
                                                  resilience::BreakerStateName(t.to));
    });
  }
  if (policy_->rate_limiter)
    g.limiter =
        std::make_shared<resilience::RateLimiter>(id, *policy_->rate_limiter, policy_clock_);
  if (policy_->bulkhead_max_concurrent)
    g.bulkhead = std::make_shared<resilience::Bulkhead>(id, *policy_->bulkhead_max_concurrent);
  guards_.emplace(name, g);
  return g;
}

}  // namespace minion::tools
