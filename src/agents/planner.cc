#include "minion/agents/planner.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "bounded_yaml.h"
#include "minion/common/json.h"

namespace minion::agents {
namespace {

using nlohmann::json;

Status ReadSubtask(const json& j, std::size_t index, SubtaskSpec* out) {
  const std::string where = "subtask " + std::to_string(index);
  if (!j.is_object())
    return InvalidArgumentError(where + " must be an object, got " + j.type_name());
  auto str = [&](const char* key, std::string* dst) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status::Ok();
    if (!it->is_string()) return InvalidArgumentError(where + ": '" + key + "' must be a string");
    *dst = it->get<std::string>();
    return Status::Ok();
  };
  std::string id, name;
  MINION_RETURN_IF_ERROR(str("id", &id));
  MINION_RETURN_IF_ERROR(str("name", &name));
  // Dependencies refer to "id" when the plan gives ids (as models often do), else to "name".
  out->name = id.empty() ? name : id;
  if (out->name.empty()) return InvalidArgumentError(where + " has neither 'name' nor 'id'");
  MINION_RETURN_IF_ERROR(str("capability", &out->capability));
  if (out->capability.empty()) MINION_RETURN_IF_ERROR(str("type", &out->capability));
  MINION_RETURN_IF_ERROR(str("description", &out->description));
  if (out->description.empty() && !id.empty() && !name.empty()) out->description = name;
  for (const char* key : {"dependencies", "depends_on"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_array())
      return InvalidArgumentError(where + " ('" + out->name + "'): '" + key + "' must be a list");
    for (const auto& dep : *it) {
      if (!dep.is_string()) {
        return InvalidArgumentError(where + " ('" + out->name + "'): dependencies must be strings");
      }
      out->dependencies.push_back(dep.get<std::string>());
    }
  }
  if (auto it = j.find("priority"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return InvalidArgumentError(where + " ('" + out->name + "'): 'priority' must be an integer");
    out->priority = it->get<int>();
  }
  if (auto it = j.find("input"); it != j.end()) out->input = *it;
  return Status::Ok();
}

// A model's plan reply: bounded before any scan, and at most this many bracketed candidates are
// tried (each try scans to the matching bracket, so an unbounded count is quadratic).
constexpr std::size_t kMaxPlanReplyBytes = std::size_t{8} << 20;
constexpr int kMaxPlanCandidates = 64;

// Scans from `start` (an opening bracket) to its matching close, skipping string contents.
std::size_t MatchingBracket(std::string_view text, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

std::string Join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

namespace {

// A name as it appears in an error message: user or model text, so bounded.
std::string Shown(const std::string& name) {
  constexpr std::size_t kMax = 64;
  return name.size() <= kMax ? name : name.substr(0, kMax) + "...";
}

// Kahn's algorithm over dependency edges: O(subtasks + dependencies), no recursion. `deps[i]`
// holds subtask i's dependencies as indices. Returns the order; a shorter one means a cycle.
std::vector<std::size_t> KahnOrder(const std::vector<std::vector<std::size_t>>& deps) {
  const std::size_t n = deps.size();
  std::vector<std::size_t> unmet(n), dependents_start(n + 1, 0), dependents;
  for (std::size_t i = 0; i < n; ++i) {
    unmet[i] = deps[i].size();
    for (std::size_t d : deps[i]) ++dependents_start[d + 1];
  }
  for (std::size_t i = 0; i < n; ++i) dependents_start[i + 1] += dependents_start[i];
  dependents.resize(dependents_start[n]);
  std::vector<std::size_t> fill(dependents_start.begin(), dependents_start.end() - 1);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t d : deps[i]) dependents[fill[d]++] = i;
  }
  std::vector<std::size_t> order;
  order.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (unmet[i] == 0) order.push_back(i);
  }
  for (std::size_t head = 0; head < order.size(); ++head) {
    const std::size_t done = order[head];
    for (std::size_t k = dependents_start[done]; k < dependents_start[done + 1]; ++k) {
      if (--unmet[dependents[k]] == 0) order.push_back(dependents[k]);
    }
  }
  return order;
}

// Names a cycle among the subtasks Kahn's algorithm could not order: each of them still waits
// on a dependency that is itself unordered, so following such dependencies must revisit one.
std::string DescribeCycle(const Plan& plan, const std::vector<std::vector<std::size_t>>& deps,
                          const std::vector<bool>& ordered) {
  std::size_t start = 0;
  while (ordered[start]) ++start;
  std::vector<std::size_t> seen_at(deps.size(), SIZE_MAX);
  std::vector<std::size_t> path;
  std::size_t v = start;
  while (seen_at[v] == SIZE_MAX) {
    seen_at[v] = path.size();
    path.push_back(v);
    for (std::size_t d : deps[v]) {
      if (!ordered[d]) {
        v = d;
        break;
      }
    }
  }
  const std::size_t first = seen_at[v];
  const std::size_t length = path.size() - first;
  constexpr std::size_t kShown = 8;  // a 50,000-step cycle must not make a 500 KB message
  std::string out = "plan has a dependency cycle";
  if (length > kShown) out += " of " + std::to_string(length) + " subtasks";
  out += ": ";
  for (std::size_t k = 0; k < std::min(length, kShown); ++k)
    out += Shown(plan.subtasks[path[first + k]].name) + " -> ";
  if (length > kShown) out += "... (" + std::to_string(length - kShown) + " more) -> ";
  out += Shown(plan.subtasks[v].name);
  return out;
}

// Validates everything but acyclicity and returns dependency indices.
Result<std::vector<std::vector<std::size_t>>> ResolveDependencies(const Plan& plan,
                                                                  const PlanLimits& limits) {
  if (plan.subtasks.empty()) return InvalidArgumentError("plan has no subtasks");
  if (plan.subtasks.size() > limits.max_subtasks) {
    return InvalidArgumentError("plan has " + std::to_string(plan.subtasks.size()) +
                                " subtasks, over the limit of " +
                                std::to_string(limits.max_subtasks));
  }
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(plan.subtasks.size());
  std::size_t edges = 0;
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) {
    const auto& s = plan.subtasks[i];
    if (s.name.empty())
      return InvalidArgumentError("subtask " + std::to_string(i) + " has no name");
    if (s.name.size() > limits.max_name_bytes) {
      return InvalidArgumentError("subtask " + std::to_string(i) + " has a name of " +
                                  std::to_string(s.name.size()) + " bytes, over the limit of " +
                                  std::to_string(limits.max_name_bytes));
    }
    if (s.capability.empty())
      return InvalidArgumentError("subtask '" + Shown(s.name) + "' has no capability");
    if (s.capability.size() > limits.max_name_bytes) {
      return InvalidArgumentError("subtask '" + Shown(s.name) + "' has a capability of " +
                                  std::to_string(s.capability.size()) +
                                  " bytes, over the limit of " +
                                  std::to_string(limits.max_name_bytes));
    }
    if (s.dependencies.size() > limits.max_dependencies_per_subtask) {
      return InvalidArgumentError("subtask '" + Shown(s.name) + "' has " +
                                  std::to_string(s.dependencies.size()) +
                                  " dependencies, over the limit of " +
                                  std::to_string(limits.max_dependencies_per_subtask));
    }
    edges += s.dependencies.size();
    if (!index.emplace(s.name, i).second) {
      return InvalidArgumentError("subtask name '" + Shown(s.name) + "' is used twice");
    }
  }
  if (edges > limits.max_dependencies) {
    return InvalidArgumentError("plan has " + std::to_string(edges) +
                                " dependencies in all, over the limit of " +
                                std::to_string(limits.max_dependencies));
  }
  std::vector<std::vector<std::size_t>> deps(plan.subtasks.size());
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) {
    const auto& s = plan.subtasks[i];
    deps[i].reserve(s.dependencies.size());
    for (const auto& d : s.dependencies) {
      auto it = index.find(d);
      if (it == index.end()) {
        return InvalidArgumentError("subtask '" + Shown(s.name) + "' depends on unknown subtask '" +
                                    Shown(d) + "'");
      }
      if (it->second == i)
        return InvalidArgumentError("subtask '" + Shown(s.name) + "' depends on itself");
      deps[i].push_back(it->second);
    }
  }
  return deps;
}

}  // namespace

Status ValidatePlan(const Plan& plan, const PlanLimits& limits) {
  MINION_ASSIGN_OR_RETURN(auto deps, ResolveDependencies(plan, limits));
  std::vector<std::size_t> order = KahnOrder(deps);
  if (order.size() == deps.size()) return Status::Ok();
  std::vector<bool> ordered(deps.size(), false);
  for (std::size_t i : order) ordered[i] = true;
  return InvalidArgumentError(DescribeCycle(plan, deps, ordered));
}

std::vector<std::size_t> TopologicalOrder(const Plan& plan) {
  // Unknown names are skipped rather than trusted: a valid plan has none.
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) index.emplace(plan.subtasks[i].name, i);
  std::vector<std::vector<std::size_t>> deps(plan.subtasks.size());
  for (std::size_t i = 0; i < plan.subtasks.size(); ++i) {
    for (const auto& d : plan.subtasks[i].dependencies) {
      if (auto it = index.find(d); it != index.end() && it->second != i)
        deps[i].push_back(it->second);
    }
  }
  return KahnOrder(deps);  // shorter than the plan on a cycle: ValidatePlan reports it
}

Result<Plan> ParsePlanJson(const json& value) {
  const json* list = &value;
  if (value.is_object()) {
    auto it = value.find("subtasks");
    if (it == value.end()) it = value.find("tasks");
    if (it == value.end()) return InvalidArgumentError("plan object has no 'subtasks' list");
    list = &*it;
  }
  if (!list->is_array()) return InvalidArgumentError("plan 'subtasks' must be a list");
  if (list->size() > PlanLimits().max_subtasks) {
    return InvalidArgumentError("plan has " + std::to_string(list->size()) +
                                " subtasks, over the limit of " +
                                std::to_string(PlanLimits().max_subtasks));
  }
  Plan plan;
  for (std::size_t i = 0; i < list->size(); ++i) {
    SubtaskSpec spec;
    MINION_RETURN_IF_ERROR(ReadSubtask((*list)[i], i, &spec));
    plan.subtasks.push_back(std::move(spec));
  }
  MINION_RETURN_IF_ERROR(ValidatePlan(plan));
  return plan;
}

json PlanToJson(const Plan& plan) {
  json subtasks = json::array();
  for (const auto& s : plan.subtasks) {
    subtasks.push_back({{"name", s.name},
                        {"capability", s.capability},
                        {"dependencies", s.dependencies},
                        {"priority", s.priority},
                        {"description", s.description},
                        {"input", s.input}});
  }
  return {{"planner", plan.planner}, {"subtasks", std::move(subtasks)}};
}

Result<json> ExtractJson(std::string_view text) {
  // A model's reply is outside input: bounded in size (the search below rescans from each
  // bracket) and in depth (a deep value overflows the stack when copied or dumped later).
  if (text.size() > kMaxPlanReplyBytes) {
    return InvalidArgumentError("the model's reply is " + std::to_string(text.size()) +
                                " bytes, over the plan limit of " +
                                std::to_string(kMaxPlanReplyBytes));
  }
  if (JsonNestsDeeperThan(text)) {
    return InvalidArgumentError("the model's reply nests deeper than " +
                                std::to_string(kMaxJsonDepth) + " levels of arrays/objects");
  }
  // A fenced block first: models put the answer there when they also explain it.
  for (std::size_t fence = text.find("```"); fence != std::string_view::npos;) {
    std::size_t body = text.find('\n', fence);
    if (body == std::string_view::npos) break;
    std::size_t close = text.find("```", body);
    if (close == std::string_view::npos) break;
    auto candidate = text.substr(body + 1, close - body - 1);
    auto j = ParseJson(candidate, "plan");
    if (j.ok() && (j->is_object() || j->is_array())) return std::move(j).value();
    fence = text.find("```", close + 3);
  }
  int candidates = 0;
  for (std::size_t start = text.find_first_of("{[");
       start != std::string_view::npos && candidates < kMaxPlanCandidates;
       start = text.find_first_of("{[", start + 1), ++candidates) {
    std::size_t end = MatchingBracket(text, start);
    if (end == std::string_view::npos) continue;
    auto candidate = text.substr(start, end - start + 1);
    auto j = ParseJson(candidate, "plan");
    if (j.ok()) return std::move(j).value();
  }
  return InvalidArgumentError("no JSON object or array found in the model's reply");
}

Result<Plan> Planner::Replan(const trace::Context&, const TaskRequest&,
                             const std::set<std::string>&, const Plan&, const Status&) {
  return UnimplementedError("planner '" + Name() + "' does not replan");
}

Result<Plan> DirectPlanner::MakePlan(const trace::Context&, const TaskRequest& request,
                                     const std::set<std::string>& capabilities) {
  if (request.type.empty()) return InvalidArgumentError("task type is empty");
  if (!capabilities.count(request.type)) {
    return NotFoundError("no worker offers capability '" + request.type + "' (task type '" +
                         request.type + "'); available: " + Join(capabilities));
  }
  Plan plan;
  plan.planner = "direct";
  SubtaskSpec spec;
  spec.name = request.type;
  spec.capability = request.type;
  spec.priority = request.priority;
  spec.description = request.description.empty() ? request.name : request.description;
  spec.input = request.input;
  plan.subtasks.push_back(std::move(spec));
  return plan;
}

Result<std::unique_ptr<DeclarativePlanner>> DeclarativePlanner::FromYaml(std::string_view text) {
  // The agents component's one bounded YAML loader (bounded_yaml.h): alias bombs are refused.
  MINION_ASSIGN_OR_RETURN(json value, internal::YamlToJson(text, "workflow"));
  auto plan = ParsePlanJson(value);
  if (!plan.ok()) return plan.status().WithContext("workflow");
  plan->planner = "workflow";
  return std::make_unique<DeclarativePlanner>(std::move(plan).value());
}

Result<std::unique_ptr<DeclarativePlanner>> DeclarativePlanner::FromJson(std::string_view text) {
  auto value = ParseJson(text, "workflow");
  if (!value.ok()) return value.status();
  auto plan = ParsePlanJson(*value);
  if (!plan.ok()) return plan.status().WithContext("workflow");
  plan->planner = "workflow";
  return std::make_unique<DeclarativePlanner>(std::move(plan).value());
}

Result<std::unique_ptr<DeclarativePlanner>> DeclarativePlanner::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open workflow file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  auto planner = is_json ? FromJson(buffer.str()) : FromYaml(buffer.str());
  if (!planner.ok()) return planner.status().WithContext("loading " + path);
  return planner;
}

Result<Plan> DeclarativePlanner::MakePlan(const trace::Context&, const TaskRequest& request,
                                          const std::set<std::string>&) {
  Plan plan = plan_;
  // Subtasks without their own input receive the task's.
  for (auto& s : plan.subtasks) {
    if (s.input.is_null()) s.input = request.input;
  }
  return plan;
}

Result<Plan> LlmPlanner::Ask(const trace::Context& context, const std::string& prompt,
                             const std::set<std::string>& capabilities) {
  llm::ChatRequest request;
  request.model = model_;
  request.json_response = true;
  request.temperature = 0;
  request.messages = {
      {"system",
       "You are a planner for a multi-agent system. Reply with JSON only: an object "
       "{\"subtasks\": [{\"name\": str, \"capability\": str, \"dependencies\": [names], "
       "\"priority\": 1-10, \"description\": str, \"input\": any}]}. Use only these "
       "capabilities: " +
           Join(capabilities) + "."},
      {"user", prompt}};
  // A capability the workers do not offer goes back to the model once, with the valid list
  // (models shorten or invent names: "analysis" for "data_analysis"); guessing which one was
  // meant by substring picked wrong ones, so the model corrects itself or the plan fails.
  Usage usage;  // every round's tokens, handed back with the plan
  for (int round = 0;; ++round) {
    auto response = provider_->Chat(context, request);
    if (!response.ok()) return response.status().WithContext("planner model call");
    usage.Add(provider_->Name(),
              response->model.empty() ? provider_->DefaultModel() : response->model,
              response->input_tokens, response->output_tokens);
    auto value = ExtractJson(response->content);
    if (!value.ok())
      return value.status().WithContext(round ? "planner reply after the capability fix-up"
                                              : "planner reply");
    auto plan = ParsePlanJson(*value);
    if (!plan.ok())
      return plan.status().WithContext(round ? "planner reply after the capability fix-up"
                                             : "planner reply");
    // Named up to a bound: a plan may hold 100,000 subtasks, the message to the model may not.
    constexpr std::size_t kMaxNamed = 20;
    std::string unknown;
    std::string first_error;
    std::size_t unknown_count = 0;
    for (const auto& s : plan->subtasks) {
      if (capabilities.count(s.capability)) continue;
      if (++unknown_count <= kMaxNamed) {
        unknown +=
            (unknown.empty() ? "" : ", ") + ("'" + s.capability + "' (subtask '" + s.name + "')");
      }
      if (first_error.empty()) {
        first_error =
            "planner chose capability '" + s.capability + "' for subtask '" + s.name + "'";
      }
    }
    if (unknown_count > kMaxNamed)
      unknown += " and " + std::to_string(unknown_count - kMaxNamed) + " more";
    if (unknown_count == 0) {
      plan->planner = "llm";
      plan->usage = std::move(usage);
      return plan;
    }
    if (round > 0) {
      return NotFoundError(
          first_error + ", which no worker offers, again after being given the list; available: " +
          Join(capabilities));
    }
    request.messages.push_back({"assistant", response->content});
    request.messages.push_back(
        {"user", "These capabilities are not offered by any worker: " + unknown +
                     ". Use only these capabilities: " + Join(capabilities) +
                     ". Reply with the whole corrected plan as JSON only."});
  }
}

Result<Plan> LlmPlanner::MakePlan(const trace::Context& context, const TaskRequest& request,
                                  const std::set<std::string>& capabilities) {
  std::string prompt = "Break this task into subtasks as JSON.\nTask: " + request.name +
                       "\nType: " + request.type + "\nDescription: " + request.description +
                       "\nInput: " + DumpJson(request.input);
  return Ask(context, prompt, capabilities);
}

Result<Plan> LlmPlanner::Replan(const trace::Context& context, const TaskRequest& request,
                                const std::set<std::string>& capabilities, const Plan& failed,
                                const Status& error) {
  json previous = json::array();
  for (const auto& s : failed.subtasks) {
    previous.push_back(
        {{"name", s.name}, {"capability", s.capability}, {"dependencies", s.dependencies}});
  }
  std::string prompt =
      "The previous plan failed; propose a new JSON plan of subtasks.\nTask: " + request.name +
      "\nType: " + request.type + "\nDescription: " + request.description +
      "\nPrevious plan: " + DumpJson(previous) + "\nFailure: " + error.ToString();
  return Ask(context, prompt, capabilities);
}

}  // namespace minion::agents
