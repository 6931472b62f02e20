#include "minion/llm/offline_provider.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "llm/genai_span.h"
#include "minion/common/json.h"

namespace minion::llm {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::uint64_t Fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// The task the user asked about: the last user message's first non-empty line, shortened.
std::string TaskLine(const ChatRequest& request) {
  std::string text;
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") {
      text = it->content;
      break;
    }
  }
  if (text.empty() && !request.messages.empty()) text = request.messages.back().content;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.size() > 120) line = line.substr(0, 117) + "...";
    return line;
  }
  return "(empty request)";
}

// The list after "capabilities:" in the prompt (planners name what their workers offer),
// comma-separated up to the end of the sentence or line.
std::vector<std::string> OfferedCapabilities(const std::string& lower_prompt) {
  std::vector<std::string> out;
  auto pos = lower_prompt.find("capabilities:");
  if (pos == std::string::npos) return out;
  pos += std::string_view("capabilities:").size();
  auto end = lower_prompt.find_first_of(".\n", pos);
  std::string list =
      lower_prompt.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  std::string item;
  auto flush = [&] {
    auto a = item.find_first_not_of(" \t\"'`[]");
    auto b = item.find_last_not_of(" \t\"'`[]");
    if (a != std::string::npos) {
      std::string cap = item.substr(a, b - a + 1);
      if (std::find(out.begin(), out.end(), cap) == out.end()) out.push_back(cap);
    }
    item.clear();
  };
  for (char c : list) {
    if (c == ',')
      flush();
    else
      item.push_back(c);
  }
  flush();
  return out;
}

// True when the user's text mentions `cap` or a long part of it ("analysis" of "data_analysis").
bool Mentions(const std::string& lower_text, const std::string& cap) {
  if (Contains(lower_text, cap)) return true;
  std::string part;
  std::vector<std::string> parts;
  for (char c : cap + "_") {
    if (c == '_' || c == '-' || c == ' ') {
      if (part.size() >= 4) parts.push_back(part);
      part.clear();
    } else {
      part.push_back(c);
    }
  }
  return std::any_of(parts.begin(), parts.end(),
                     [&](const std::string& p) { return Contains(lower_text, p); });
}

// Capabilities the prompt names, in the order it names them.
std::vector<std::string> MentionedCapabilities(const std::string& lower_prompt) {
  static const char* const kKnown[] = {
      "research", "analysis",      "planning", "code_generation", "coding",         "testing",
      "review",   "documentation", "writing",  "summarization",   "data_processing"};
  std::vector<std::pair<std::size_t, std::string>> found;
  for (const char* cap : kKnown) {
    auto pos = lower_prompt.find(cap);
    if (pos != std::string::npos) found.emplace_back(pos, cap);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [pos, cap] : found) {
    if (cap == "coding" && std::find(out.begin(), out.end(), "code_generation") != out.end())
      continue;
    out.push_back(cap == "coding" ? "code_generation" : cap);
  }
  return out;
}

// The capabilities a plan uses: those the prompt offers that the user's text calls for (all
// offered ones when it calls for none), else the well-known ones the prompt mentions.
std::vector<std::string> PlanCapabilities(const std::string& lower_prompt,
                                          const std::string& lower_user) {
  std::vector<std::string> offered = OfferedCapabilities(lower_prompt);
  if (offered.empty()) return MentionedCapabilities(lower_prompt);
  std::vector<std::string> relevant;
  for (const auto& cap : offered) {
    if (Mentions(lower_user, cap)) relevant.push_back(cap);
  }
  return relevant.empty() ? offered : relevant;
}

std::string PlanJson(const std::string& task, const std::string& lower_prompt,
                     const std::string& lower_user) {
  std::vector<std::string> caps = PlanCapabilities(lower_prompt, lower_user);
  if (caps.empty()) caps = {"analysis", "code_generation", "testing"};
  if (caps.size() > 5) caps.resize(5);
  json subtasks = json::array();
  for (std::size_t i = 0; i < caps.size(); ++i) {
    json st;
    st["id"] = "subtask-" + std::to_string(i + 1);
    st["name"] = caps[i] + ": " + task;
    st["description"] = "Perform " + caps[i] + " for: " + task;
    st["capability"] = caps[i];
    st["type"] = caps[i];
    st["priority"] = static_cast<int>(caps.size() - i) + 4;
    st["depends_on"] = i == 0 ? json::array() : json::array({"subtask-" + std::to_string(i)});
    subtasks.push_back(std::move(st));
  }
  json plan;
  plan["summary"] = "Offline plan for: " + task;
  plan["subtasks"] = std::move(subtasks);
  return DumpJson(plan, 2);  // the task name may be invalid UTF-8
}

std::string CodeSkeleton(const std::string& task, const std::string& lower_prompt) {
  std::ostringstream out;
  if (Contains(lower_prompt, "python")) {
    out << "# Offline skeleton (no model was called) for: " << task << "\n"
        << "def run(inputs: dict) -> dict:\n"
        << "    \"\"\"" << task << "\"\"\"\n"
        << "    # The offline provider echoes; a configured model writes the real body.\n"
        << "    return {\"task\": " << std::quoted(task) << ", \"inputs\": inputs}\n";
  } else {
    out << "// Offline skeleton (no model was called) for: " << task << "\n"
        << "#include <string>\n\n"
        << "namespace generated {\n\n"
        << "// " << task << "\n"
        << "std::string Run(const std::string& input) {\n"
        << "  // The offline provider echoes; a configured model writes the real body.\n"
        << "  return std::string(" << std::quoted(task) << ") + \": \" + input;\n"
        << "}\n\n"
        << "}  // namespace generated\n";
  }
  return out.str();
}

// The most frequent longer words of the prompt, as a stand-in for "key terms".
std::vector<std::string> KeyTerms(const std::string& lower_prompt, std::size_t n) {
  std::map<std::string, int> counts;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 5) ++counts[word];
    word.clear();
  };
  for (char c : lower_prompt) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  std::vector<std::pair<int, std::string>> ranked;
  for (auto& [w, c] : counts) ranked.emplace_back(-c, w);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && i < n; ++i) out.push_back(ranked[i].second);
  return out;
}

std::string Analysis(const std::string& task, const std::string& lower_prompt, std::int64_t words) {
  std::ostringstream out;
  out << "Offline analysis (no model was called) of: " << task << "\n"
      << "- The request has " << words << " words.\n"
      << "- Key terms:";
  for (const auto& t : KeyTerms(lower_prompt, 5)) out << " " << t;
  out << "\n- Suggested next step: break the work into smaller, testable pieces.\n";
  return out.str();
}

std::string TestPlan(const std::string& task) {
  return "Offline test plan (no model was called) for: " + task +
         "\n1. Cover the expected path.\n2. Cover invalid input.\n3. Cover the limits.\n";
}

std::string Summary(const std::string& task) {
  return "Offline response (no model was called) to: " + task + "\n";
}

// Keeps the first `max_words` words of `text`.
std::string TruncateWords(const std::string& text, int max_words) {
  int seen = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool space = std::isspace(static_cast<unsigned char>(text[i])) != 0;
    if (!space && !in_word) {
      if (seen == max_words) return text.substr(0, i);
      ++seen;
    }
    in_word = !space;
  }
  return text;
}

bool Offered(const ChatRequest& request, std::string_view name) {
  return std::any_of(request.tools.begin(), request.tools.end(),
                     [&](const ToolSpec& t) { return t.name == name; });
}

// A file name for the task: its words joined by '_', lower-case ASCII, at most 40 bytes. The
// built-in workers' "Task: " label is not part of the name.
std::string Slug(std::string_view task) {
  if (task.rfind("Task: ", 0) == 0) task.remove_prefix(6);
  std::string out;
  for (char c : task) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "generated" : out;
}

// The reply (parsed `tool` message) to the call named `name`, if the conversation has one.
std::optional<json> ReplyTo(const ChatRequest& request, std::string_view name) {
  std::string id;
  for (const auto& m : request.messages) {
    for (const auto& call : m.tool_calls) {
      if (call.name == name) id = call.id;
    }
    if (!id.empty() && m.role == "tool" && m.tool_call_id == id) {
      auto parsed = ParseJson(m.content, "tool reply");
      return parsed.ok() ? std::move(parsed).value() : json{{"error", "unreadable reply"}};
    }
  }
  return std::nullopt;
}

// The offline coder's script when tools are offered: write the generated code with write_file,
// then record the artifact with storage_insert, then answer. Each step runs once: the
// conversation so far (the replies to earlier calls) says which step is next.
std::optional<ToolCall> NextCoderToolCall(const ChatRequest& request, const std::string& task,
                                          const std::string& lower) {
  if (!Offered(request, "write_file")) return std::nullopt;
  const bool python = Contains(lower, "python");
  const std::string path = "generated/" + Slug(task) + (python ? ".py" : ".cc");
  auto wrote = ReplyTo(request, "write_file");
  if (!wrote) {
    return ToolCall{"offline-call-1", "write_file",
                    DumpJson(json{{"path", path}, {"content", CodeSkeleton(task, lower)}})};
  }
  if (wrote->contains("error") || !Offered(request, "storage_insert") ||
      ReplyTo(request, "storage_insert")) {
    return std::nullopt;
  }
  json record{{"path", wrote->value("path", path)},
              {"bytes", wrote->value("bytes_written", 0)},
              {"language", python ? "python" : "c++"},
              {"task", task}};
  return ToolCall{
      "offline-call-2", "storage_insert",
      DumpJson(json{
          {"collection", "artifacts"}, {"key", wrote->value("path", path)}, {"value", record}})};
}

}  // namespace

std::int64_t CountOfflineTokens(std::string_view text) {
  std::int64_t count = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++count;
    in_word = !space;
  }
  return count;
}

Result<ChatResponse> OfflineProvider::Chat(const trace::Context& parent,
                                           const ChatRequest& request) {
  const std::string model = request.model.empty() ? options_.model : request.model;
  auto started = observability::StartLlmSpan(observability::TracerOrGlobal(options_.tracer), parent,
                                             "offline", model, "chat");
  trace::Span& span = started.span;
  internal::SetRequestAttributes(span, "offline", model, request);
  if (request.messages.empty()) {
    Status status = InvalidArgumentError("chat request has no messages");
    span.SetAttribute("error.type", "invalid_request");
    observability::EndSpan(span, status);
    return status;
  }
  if (request.stop.stop_requested()) {  // the answer is instant, so only a stop before it counts
    Status status = CancelledError("offline chat cancelled before it started");
    span.SetAttribute("error.type", "cancelled");
    observability::EndSpan(span, status);
    return status;
  }

  std::string prompt;
  std::int64_t input_tokens = 0;
  std::uint64_t hash = Fnv1a(model);
  for (const auto& m : request.messages) {
    prompt += m.content;
    prompt += '\n';
    input_tokens += CountOfflineTokens(m.content);
    hash = Fnv1a(m.role, Fnv1a(m.content, hash));
  }
  const std::string lower = Lower(prompt);
  const std::string task = TaskLine(request);

  ChatResponse response;
  response.model = model;
  response.finish_reason = "stop";
  const bool wants_plan =
      request.json_response ||
      (Contains(lower, "json") && (Contains(lower, "subtask") || Contains(lower, "plan")));
  if (wants_plan) {
    std::string user_text;
    for (const auto& m : request.messages) {
      if (m.role == "user") user_text += m.content + "\n";
    }
    response.content = PlanJson(task, lower, Lower(user_text));
  } else {
    const bool is_code =
        Contains(lower, "code") || Contains(lower, "implement") || Contains(lower, "function");
    std::optional<ToolCall> call;
    if (is_code && !request.tools.empty()) call = NextCoderToolCall(request, task, lower);
    if (call) {
      response.finish_reason = "tool_calls";
      response.tool_calls.push_back(std::move(*call));
    } else if (is_code) {
      response.content = CodeSkeleton(task, lower);
      if (auto wrote = ReplyTo(request, "write_file"); wrote && wrote->contains("path")) {
        response.content +=
            "\nSaved as " + wrote->value("path", std::string()) + " in the workspace.\n";
      }
    } else if (Contains(lower, "analy") || Contains(lower, "review") ||
               Contains(lower, "research")) {
      response.content = Analysis(task, lower, input_tokens);
    } else if (Contains(lower, "test")) {
      response.content = TestPlan(task);
    } else {
      response.content = Summary(task);
    }
    if (request.max_tokens > 0 && CountOfflineTokens(response.content) > request.max_tokens) {
      response.content = TruncateWords(response.content, request.max_tokens);
      response.finish_reason = "length";
    }
  }
  char id[32];
  std::snprintf(id, sizeof id, "offline-%016llx", static_cast<unsigned long long>(hash));
  response.response_id = id;
  response.input_tokens = input_tokens;
  response.output_tokens = CountOfflineTokens(response.content);
  for (const auto& call : response.tool_calls)
    response.output_tokens += CountOfflineTokens(call.arguments);
  internal::SetResponseAttributes(span, response);
  observability::EndSpan(span);
  return response;
}

}  // namespace minion::llm
