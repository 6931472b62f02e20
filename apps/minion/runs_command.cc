// `minion runs list` and `minion runs show TASK_ID`: read back what `minion run --ledger`
// recorded (tasks, plans, subtask inputs/outputs/errors/attempts, trace ids). Read-only apart
// from migrating an older ledger's schema on open (ledger.h).
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "minion/agents/ledger.h"
#include "minion/common/json.h"
#include "minion/common/text.h"

namespace minion::cli {
namespace {

using nlohmann::json;
using text::EscapeControl;

struct RunsFlags {
  std::string ledger;
  std::string task_id;
  bool json = false;
};

// $MINION_LEDGER, else $XDG_STATE_HOME/minion/ledger.db, else ~/.local/state/minion/ledger.db
// (the XDG base directory rule for state). `minion run` writes a ledger only with --ledger.
std::string DefaultLedgerPath() {
  if (auto v = std::getenv("MINION_LEDGER"); v && *v) return v;
  if (auto v = std::getenv("XDG_STATE_HOME"); v && *v) return std::string(v) + "/minion/ledger.db";
  if (auto v = std::getenv("HOME"); v && *v)
    return std::string(v) + "/.local/state/minion/ledger.db";
  return "";
}

// Opens an existing ledger (never creates one: a mistyped path is an error, not an empty list).
Result<std::unique_ptr<agents::Ledger>> OpenExisting(std::string path) {
  if (path.empty()) path = DefaultLedgerPath();
  if (path.empty())
    return InvalidArgumentError("no ledger given (--ledger PATH) and no $HOME for the default");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return NotFoundError("no ledger file at '" + path + "' (record one with `minion run --ledger " +
                         path + "`)");
  }
  return agents::OpenSqliteLedger(path);
}

std::string FormatTime(UnixNanos t) {
  if (t == 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(t / 1000000000ULL);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double DurationMs(UnixNanos start, UnixNanos end) {
  return start && end >= start ? static_cast<double>(end - start) / 1e6 : 0.0;
}

// Stored JSON text back as JSON; text that does not parse (a truncated output) stays a string.
json ParsedOrText(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(text) : j;
}

json TaskJson(const agents::TaskRecord& t) {
  return {{"task_id", t.task_id},
          {"name", t.name},
          {"type", t.type},
          {"priority", t.priority},
          {"status", t.status},
          {"error", t.error},
          {"planner", t.planner},
          {"started_at", FormatTime(t.started_at)},
          {"finished_at", FormatTime(t.finished_at)},
          {"started_at_unix_nano", t.started_at},
          {"finished_at_unix_nano", t.finished_at},
          {"duration_ms", DurationMs(t.started_at, t.finished_at)},
          {"trace_id", t.trace_id},
          {"span_id", t.span_id}};
}

// {"input_tokens", "output_tokens", "llm_calls", "cost_usd" (null: unknown), "by_model"}
json UsageJson(const agents::LedgerUsage& u) {
  json by_model = ParsedOrText(u.by_model);
  return {{"input_tokens", u.input_tokens},
          {"output_tokens", u.output_tokens},
          {"llm_calls", u.llm_calls},
          {"cost_usd", u.cost_usd ? json(*u.cost_usd) : json(nullptr)},
          {"by_model", by_model.is_null() ? json::array() : by_model}};
}

// "12 in / 34 out tokens, 2 LLM calls, $0.000123" (as `minion run` prints it).
std::string UsageLine(const agents::LedgerUsage& u) {
  std::string line = std::to_string(u.input_tokens) + " in / " + std::to_string(u.output_tokens) +
                     " out tokens, " + std::to_string(u.llm_calls) +
                     (u.llm_calls == 1 ? " LLM call, " : " LLM calls, ");
  if (!u.cost_usd) return line + "cost unknown";
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.6f", *u.cost_usd);
  return line + buf;
}

int Fail(const Status& s) {
  std::cerr << "minion runs: " << EscapeControl(s.ToString()) << "\n";
  return s.code() == StatusCode::kNotFound ? 1 : 2;
}

int List(const RunsFlags& flags) {
  auto ledger = OpenExisting(flags.ledger);
  if (!ledger.ok()) return Fail(ledger.status());
  auto tasks = (*ledger)->Tasks();
  if (!tasks.ok()) return Fail(tasks.status());
  json out = json::array();
  for (const auto& t : *tasks) {
    auto subtasks = (*ledger)->Subtasks(t.task_id);
    int total = 0, done = 0;
    if (subtasks.ok()) {
      for (const auto& s : *subtasks) {
        ++total;
        done += s.status == "succeeded";
      }
    }
    json j = TaskJson(t);
    j["subtasks"] = total;
    j["subtasks_succeeded"] = done;
    out.push_back(std::move(j));
  }
  if (flags.json) {
    std::cout << DumpJson(out, 2) << "\n";
    return 0;
  }
  if (out.empty()) {
    std::cout << "No tasks in the ledger.\n";
    return 0;
  }
  std::printf("%-40s %-10s %-20s %-8s %s\n", "TASK", "STATUS", "STARTED", "SUBTASKS", "NAME");
  for (const auto& j : out) {
    const std::string counts = std::to_string(j["subtasks_succeeded"].get<int>()) + "/" +
                               std::to_string(j["subtasks"].get<int>());
    std::printf("%-40s %-10s %-20s %-8s %s\n",
                EscapeControl(j["task_id"].get<std::string>()).c_str(),
                EscapeControl(j["status"].get<std::string>()).c_str(),
                j["started_at"].get<std::string>().c_str(), counts.c_str(),
                EscapeControl(j["name"].get<std::string>()).c_str());
  }
  return 0;
}

void PrintIndented(const std::string& label, const std::string& text) {
  if (text.empty()) return;
  std::cout << "    " << label << ":\n";
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::cout << "      | " << EscapeControl(std::string_view(text).substr(start, end - start))
              << "\n";
    start = end + 1;
  }
}

// An output's readable form: its "text" field when it has one (the built-in workers' shape).
std::string OutputText(const std::string& stored) {
  json j = ParsedOrText(stored);
  if (j.is_object() && j.contains("text") && j["text"].is_string())
    return j["text"].get<std::string>();
  if (j.is_string()) return j.get<std::string>();
  return j.is_null() ? "" : DumpJson(j);
}

int Show(const RunsFlags& flags) {
  auto ledger = OpenExisting(flags.ledger);
  if (!ledger.ok()) return Fail(ledger.status());
  auto task = (*ledger)->Task(flags.task_id);
  if (!task.ok()) return Fail(task.status());
  auto subtasks = (*ledger)->Subtasks(flags.task_id);
  if (!subtasks.ok()) return Fail(subtasks.status());
  auto steps = (*ledger)->Steps(flags.task_id);
  if (!steps.ok()) return Fail(steps.status());
  const auto& t = *task;

  json out = TaskJson(t);
  out["description"] = t.description;
  out["input"] = ParsedOrText(t.input);
  out["plan"] = ParsedOrText(t.plan);
  out["truncated"] = t.truncated;
  // The task's total includes the planner's own calls ("planner": those alone).
  out["usage"] = UsageJson(t.usage);
  {
    json planner = ParsedOrText(t.planner_usage);
    out["usage"]["planner"] = planner.is_null() ? json::array() : planner;
  }
  json subs = json::array();
  for (const auto& s : *subtasks) {
    subs.push_back({{"subtask_id", s.subtask_id},
                    {"name", s.name},
                    {"capability", s.capability},
                    {"dependencies", s.dependencies},
                    {"worker_id", s.worker_id},
                    {"status", s.status},
                    {"attempts", s.attempts},
                    {"error", s.error},
                    {"started_at", FormatTime(s.started_at)},
                    {"finished_at", FormatTime(s.finished_at)},
                    {"started_at_unix_nano", s.started_at},
                    {"finished_at_unix_nano", s.finished_at},
                    {"duration_ms", DurationMs(s.started_at, s.finished_at)},
                    {"input", ParsedOrText(s.input)},
                    {"output", ParsedOrText(s.output)},
                    {"output_truncated", s.output_truncated},
                    {"usage", UsageJson(s.usage)}});
  }
  out["subtasks"] = std::move(subs);
  json step_list = json::array();
  for (const auto& s : *steps) {
    step_list.push_back({{"subtask_id", s.subtask_id},
                         {"kind", s.kind},
                         {"detail", s.detail},
                         {"time", FormatTime(s.time)},
                         {"time_unix_nano", s.time}});
  }
  out["steps"] = std::move(step_list);
  if (flags.json) {
    std::cout << DumpJson(out, 2) << "\n";
    return 0;
  }

  std::cout << "Task " << EscapeControl(t.task_id) << ": " << EscapeControl(t.status) << "\n"
            << "  name:     " << EscapeControl(t.name) << "\n"
            << "  type:     " << EscapeControl(t.type) << " (priority " << t.priority
            << ", planner " << EscapeControl(t.planner) << ")\n"
            << "  started:  " << FormatTime(t.started_at)
            << "  finished: " << FormatTime(t.finished_at) << "\n"
            << "  trace id: " << (t.trace_id.empty() ? "-" : EscapeControl(t.trace_id))
            << "  span id: " << (t.span_id.empty() ? "-" : EscapeControl(t.span_id)) << "\n";
  if (!t.error.empty()) std::cout << "  error:    " << EscapeControl(t.error) << "\n";
  if (t.truncated) std::cout << "  (input or plan was truncated in the ledger)\n";
  std::cout << "  usage:    "
            << (t.status == "running" ? "- (recorded when the task ends)" : UsageLine(t.usage))
            << "\n";
  std::cout << "Subtasks (" << subtasks->size() << "):\n";
  for (const auto& s : *subtasks) {
    std::cout << "  [" << EscapeControl(s.status) << "] " << EscapeControl(s.name)
              << " (capability " << EscapeControl(s.capability) << ", worker "
              << (s.worker_id.empty() ? "-" : EscapeControl(s.worker_id)) << ", " << s.attempts
              << (s.attempts == 1 ? " attempt" : " attempts");
    if (!s.dependencies.empty()) {
      std::cout << ", after";
      for (const auto& d : s.dependencies) std::cout << " " << EscapeControl(d);
    }
    std::cout << ")\n";
    if (!s.error.empty()) std::cout << "    error: " << EscapeControl(s.error) << "\n";
    if (s.usage.llm_calls > 0) std::cout << "    usage: " << UsageLine(s.usage) << "\n";
    PrintIndented(s.output_truncated ? "output (truncated)" : "output", OutputText(s.output));
  }
  return 0;
}

}  // namespace

Command AddRunsCommand(CLI::App& app) {
  auto flags = std::make_shared<RunsFlags>();
  auto* runs = app.add_subcommand("runs", "List and inspect the runs recorded in a ledger");
  runs->require_subcommand(1);
  runs->footer(
      "Default ledger: $MINION_LEDGER, else $XDG_STATE_HOME/minion/ledger.db, else\n"
      "~/.local/state/minion/ledger.db. `minion run` records a run only with --ledger PATH.\n"
      "Exit status: 0 ok, 1 task or ledger not found, 2 bad flags or an unreadable ledger.");
  auto* list = runs->add_subcommand("list", "List the tasks in the ledger, oldest first");
  list->add_option("--ledger", flags->ledger, "SQLite ledger written by `minion run --ledger`");
  list->add_flag("--json", flags->json, "Print a JSON array");
  auto* show = runs->add_subcommand(
      "show", "Show one task: plan, subtask outputs, errors, attempts, trace id");
  show->add_option("task_id", flags->task_id, "The task id (from `minion runs list`)")->required();
  show->add_option("--ledger", flags->ledger, "SQLite ledger written by `minion run --ledger`");
  show->add_flag("--json", flags->json, "Print a JSON object");
  return Command{runs, [flags, list] { return list->parsed() ? List(*flags) : Show(*flags); }};
}

}  // namespace minion::cli
