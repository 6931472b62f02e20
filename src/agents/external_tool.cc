#include "minion/agents/external_tool.h"

#include <set>
#include <sstream>

#include "bounded_yaml.h"
#include "minion/agents/external_worker.h"
#include "minion/common/json.h"

namespace minion::agents {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTools = 64;
constexpr std::size_t kMaxFileBytes = 1u << 20;

class ExternalTool final : public tools::Tool {
 public:
  explicit ExternalTool(ExternalToolSpec spec) : spec_(std::move(spec)) {
    options_.argv = spec_.command;
    options_.timeout = spec_.timeout;
    options_.max_output_bytes = spec_.max_output_bytes;
    options_.own_process_group = true;
    options_.raw_stdout = true;
  }
  std::string Name() const override { return spec_.name; }
  std::string Description() const override { return spec_.description; }
  json InputSchema() const override { return spec_.parameters; }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    MINION_ASSIGN_OR_RETURN(json out, RunExternalCommand(ctx, options_, input));
    return json{{"output", std::move(out)}};
  }

 private:
  ExternalToolSpec spec_;
  ExternalCommandOptions options_;
};

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

Result<ExternalToolSpec> ParseOne(const json& entry, const std::string& where) {
  if (!entry.is_object()) return InvalidArgumentError(where + " is not an object");
  ExternalToolSpec spec;
  auto name = entry.find("name");
  if (name == entry.end() || !name->is_string() || !ValidName(name->get<std::string>())) {
    return InvalidArgumentError(where + ".name must be 1 to 64 characters of [A-Za-z0-9_-]");
  }
  spec.name = name->get<std::string>();
  const std::string at = where + " (" + spec.name + ")";
  // A misspelt optional key ("timeout") would otherwise be ignored without a word.
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    static const std::set<std::string> kKnown = {"name",       "description", "command",
                                                 "parameters", "timeout_ms",  "max_output_bytes"};
    if (kKnown.count(it.key()) == 0) {
      return InvalidArgumentError(
          at + ": unknown key '" + it.key() +
          "' (known: name, description, command, parameters, timeout_ms, max_output_bytes)");
    }
  }
  if (auto d = entry.find("description"); d != entry.end()) {
    if (!d->is_string()) return InvalidArgumentError(at + ".description must be a string");
    spec.description = d->get<std::string>();
  }
  auto command = entry.find("command");
  if (command == entry.end() || !command->is_array() || command->empty()) {
    return InvalidArgumentError(at +
                                ".command must be a non-empty array of strings (argv, no shell)");
  }
  for (const auto& arg : *command) {
    if (!arg.is_string())
      return InvalidArgumentError(
          at + ".command must hold only strings (in YAML, quote numbers: \"1\")");
    spec.command.push_back(arg.get<std::string>());
  }
  if (spec.command[0].empty()) return InvalidArgumentError(at + ".command[0] is empty");
  if (auto p = entry.find("parameters"); p != entry.end()) {
    if (!p->is_object() || p->value("type", "") != "object") {
      return InvalidArgumentError(at +
                                  ".parameters must be a JSON schema with \"type\": \"object\"");
    }
    spec.parameters = *p;
  }
  if (auto t = entry.find("timeout_ms"); t != entry.end()) {
    if (!t->is_number_integer() || t->get<std::int64_t>() <= 0) {
      return InvalidArgumentError(at + ".timeout_ms must be a positive integer");
    }
    spec.timeout = std::chrono::milliseconds(t->get<std::int64_t>());
  }
  if (auto m = entry.find("max_output_bytes"); m != entry.end()) {
    if (!m->is_number_integer() || m->get<std::int64_t>() <= 0) {
      return InvalidArgumentError(at + ".max_output_bytes must be a positive integer");
    }
    spec.max_output_bytes = static_cast<std::size_t>(m->get<std::int64_t>());
  }
  return spec;
}

}  // namespace

std::shared_ptr<tools::Tool> MakeExternalTool(ExternalToolSpec spec) {
  return std::make_shared<ExternalTool>(std::move(spec));
}

namespace {

Result<std::vector<ExternalToolSpec>> ParseExternalToolsDocument(const json& doc) {
  if (!doc.is_object() || !doc.contains("tools") || !doc["tools"].is_array()) {
    return InvalidArgumentError("external tools: expected {\"tools\": [...]}");
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "tools")
      return InvalidArgumentError("external tools: unknown top-level key '" + it.key() + "'");
  }
  const json& list = doc["tools"];
  if (list.size() > kMaxTools) {
    return InvalidArgumentError("external tools: " + std::to_string(list.size()) +
                                " tools, more than the " + std::to_string(kMaxTools) + " allowed");
  }
  std::vector<ExternalToolSpec> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    MINION_ASSIGN_OR_RETURN(ExternalToolSpec spec,
                            ParseOne(list[i], "tools[" + std::to_string(i) + "]"));
    if (!names.insert(spec.name).second) {
      return InvalidArgumentError("external tools: the name \"" + spec.name +
                                  "\" is declared twice");
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

Result<std::vector<ExternalToolSpec>> ParseExternalTools(std::string_view json_text) {
  MINION_ASSIGN_OR_RETURN(json doc, ParseJson(json_text, "external tools"));
  return ParseExternalToolsDocument(doc);
}

Result<std::vector<ExternalToolSpec>> ParseExternalToolsYaml(std::string_view yaml_text) {
  // The same bounded loader as workflows and worker files: an alias bomb is an error.
  MINION_ASSIGN_OR_RETURN(json doc, internal::YamlToJson(yaml_text, "external tools"));
  return ParseExternalToolsDocument(doc);
}

Result<std::vector<ExternalToolSpec>> LoadExternalTools(const std::filesystem::path& path) {
  MINION_ASSIGN_OR_RETURN(std::string text, internal::ReadBoundedFile(path, kMaxFileBytes));
  const std::string ext = path.extension().string();
  const bool yaml =
      ext == ".yaml" || ext == ".yml" || (ext != ".json" && !internal::LooksLikeJson(text));
  auto parsed = yaml ? ParseExternalToolsYaml(text) : ParseExternalTools(text);
  if (!parsed.ok()) return parsed.status().WithContext(path.string());
  return parsed;
}

}  // namespace minion::agents
