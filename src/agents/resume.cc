#include "minion/agents/resume.h"

#include "minion/common/json.h"

namespace minion::agents {
namespace {

Result<nlohmann::json> ParseStored(const std::string& text, const std::string& what) {
  if (text.empty()) return nlohmann::json();
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError(what + " in the ledger is not valid JSON");
  return j;
}

// Usage as the ledger stores it; anything unreadable counts as none (it only feeds roll-ups).
Result<Usage> StoredUsage(const std::string& text) {
  if (text.empty()) return Usage{};
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("stored usage is not JSON");
  return DecodeUsage(j);
}

}  // namespace

Result<ResumeRequest> LoadResumeRequest(const Ledger& ledger, const std::string& task_id) {
  MINION_ASSIGN_OR_RETURN(TaskRecord task, ledger.Task(task_id));
  const std::string quoted = "task '" + task_id + "'";
  if (task.status == "succeeded") {
    return FailedPreconditionError(
        quoted + " already succeeded; there is nothing to resume (see `minion runs show " +
        task_id + "`)");
  }
  if (task.plan.empty()) {
    return FailedPreconditionError(
        quoted +
        " has no plan in the ledger (it stopped before planning, or was recorded "
        "by a minion older than ledger schema 2); start it again with `minion run`");
  }
  if (task.truncated) {
    return FailedPreconditionError(quoted + "'s request or plan was cut to " +
                                   std::to_string(kLedgerMaxTextBytes) +
                                   " bytes in the ledger, so it cannot be resumed exactly");
  }
  ResumeRequest out;
  out.task_id = task_id;
  out.request.name = task.name;
  out.request.type = task.type;
  out.request.priority = task.priority;
  out.request.description = task.description;
  auto input = ParseStored(task.input, quoted + "'s input");
  if (!input.ok()) return FailedPreconditionError(input.status().message());
  out.request.input = std::move(input).value();
  auto plan_json = ParseStored(task.plan, quoted + "'s plan");
  if (!plan_json.ok()) return FailedPreconditionError(plan_json.status().message());
  auto plan = ParsePlanJson(*plan_json);
  if (!plan.ok()) {
    return FailedPreconditionError(quoted +
                                   "'s stored plan cannot be used: " + plan.status().message());
  }
  out.plan = std::move(plan).value();
  out.state.started_at = task.started_at;
  out.state.planner = task.planner;
  if (auto usage = StoredUsage(task.planner_usage); usage.ok())
    out.state.planner_usage = std::move(usage).value();

  MINION_ASSIGN_OR_RETURN(auto subtasks, ledger.Subtasks(task_id));
  std::map<std::string, const SubtaskSpec*> in_plan;
  for (const auto& s : out.plan.subtasks) in_plan.emplace(s.name, &s);
  for (const auto& s : subtasks) {
    if (s.subtask_id != s.name) {
      // "replan/<name>": the run replanned after a failure, and only the first plan is stored.
      return FailedPreconditionError(quoted + " was replanned after a failure (subtask '" +
                                     s.subtask_id +
                                     "'); resuming a replanned run is not supported");
    }
    if (s.status != "succeeded" || s.output_truncated || !in_plan.count(s.name)) continue;
    auto output = ParseStored(s.output, "the output of subtask '" + s.name + "'");
    if (!output.ok()) continue;  // run it again rather than feed dependents a broken output
    SubtaskOutcome o;
    o.subtask_id = s.subtask_id;
    o.name = s.name;
    o.capability = s.capability;
    o.worker_id = s.worker_id;
    o.output = std::move(output).value();
    o.attempts = s.attempts;
    o.started_at = s.started_at;
    o.finished_at = s.finished_at;
    o.reused = true;
    if (auto usage = StoredUsage(s.usage.by_model); usage.ok()) o.usage = std::move(usage).value();
    out.state.completed.emplace(s.name, std::move(o));
  }
  out.state.detail = std::to_string(out.state.completed.size()) + " of " +
                     std::to_string(out.plan.subtasks.size()) +
                     " subtasks reused from the interrupted run";
  if (!task.trace_id.empty() || !task.span_id.empty()) {
    auto trace_id = trace::TraceId::FromHex(task.trace_id);
    auto span_id = trace::SpanId::FromHex(task.span_id);
    if (trace_id && span_id) {
      // Sampled: the link is only a reference, and the interrupted run was recorded.
      out.interrupted =
          trace::SpanContext(*trace_id, *span_id, trace::TraceFlags(trace::TraceFlags::kSampled),
                             /*is_remote=*/true);
      out.state.detail += " (trace " + task.trace_id + ", span " + task.span_id + ")";
    }
  }
  return out;
}

}  // namespace minion::agents
