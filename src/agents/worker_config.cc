#include "minion/agents/worker_config.h"

#include <algorithm>
#include <map>
#include <set>

#include "bounded_yaml.h"
#include "minion/agents/external_worker.h"
#include "minion/common/json.h"

namespace minion::agents {
namespace {

using nlohmann::json;

constexpr const char* kKnownKeys =
    "name, kind, command, capabilities, provider, model, tools, concurrency, priority, timeout_ms";
constexpr const char* kKinds = "coder, analyst, researcher, writer, reviewer";
constexpr const char* kProviders = "offline, openai, ollama, vllm, llamacpp";
constexpr std::size_t kMaxNameBytes = 64;
constexpr std::size_t kMaxListItems = 256;  // capabilities, tools, command arguments
constexpr std::size_t kMaxStringBytes = 4096;

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::optional<BuiltinKind> KindNamed(std::string_view name) {
  for (BuiltinKind kind : kAllBuiltinKinds) {
    if (BuiltinRole(kind) == name) return kind;
  }
  return std::nullopt;
}

// One entry's fields, with the place ("workers.yaml: workers[1] (coder-1)") in every error.
class EntryReader {
 public:
  EntryReader(const json& entry, std::string where) : entry_(entry), where_(std::move(where)) {}

  void Named(const std::string& name) { where_ += " (" + name + ")"; }
  Status Error(const std::string& field, const std::string& problem) const {
    return InvalidArgumentError(where_ + ": '" + field + "' " + problem);
  }
  const json* Find(const char* key) const {
    auto it = entry_.find(key);
    return it == entry_.end() ? nullptr : &*it;
  }
  Result<std::optional<std::string>> String(const char* key) const {
    const json* v = Find(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return Error(key, std::string("must be a string, not ") + v->type_name());
    const auto& s = v->get_ref<const std::string&>();
    if (s.empty()) return Error(key, "is empty");
    if (s.size() > kMaxStringBytes)
      return Error(key, "is longer than " + std::to_string(kMaxStringBytes) + " bytes");
    return std::optional<std::string>(s);
  }
  Result<std::optional<std::vector<std::string>>> StringList(const char* key,
                                                             bool allow_empty) const {
    const json* v = Find(key);
    if (v == nullptr) return std::optional<std::vector<std::string>>();
    if (!v->is_array())
      return Error(key, std::string("must be a list of strings, not ") + v->type_name());
    if (v->empty() && !allow_empty) return Error(key, "is empty");
    if (v->size() > kMaxListItems)
      return Error(key, "has more than " + std::to_string(kMaxListItems) + " items");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& item = (*v)[i];
      if (!item.is_string()) {
        return Error(key, "[" + std::to_string(i) + "] must be a string, not " + item.type_name() +
                              " (in YAML, quote numbers and booleans: \"1\")");
      }
      const auto& s = item.get_ref<const std::string&>();
      if (s.empty()) return Error(key, "[" + std::to_string(i) + "] is empty");
      if (s.size() > kMaxStringBytes) {
        return Error(key, "[" + std::to_string(i) + "] is longer than " +
                              std::to_string(kMaxStringBytes) + " bytes");
      }
      out.push_back(s);
    }
    return std::optional<std::vector<std::string>>(std::move(out));
  }
  Result<std::optional<std::int64_t>> Integer(const char* key, std::int64_t low,
                                              std::int64_t high) const {
    const json* v = Find(key);
    if (v == nullptr) return std::optional<std::int64_t>();
    if (!v->is_number_integer() || v->get<std::int64_t>() < low || v->get<std::int64_t>() > high) {
      return Error(
          key, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
    }
    return std::optional<std::int64_t>(v->get<std::int64_t>());
  }

 private:
  const json& entry_;
  std::string where_;
};

Result<WorkerSpec> ParseEntry(const json& entry, const std::string& where,
                              const std::filesystem::path& base_dir) {
  if (!entry.is_object())
    return InvalidArgumentError(where + " must be a mapping, not " + entry.type_name());
  EntryReader r(entry, where);
  WorkerSpec spec;
  MINION_ASSIGN_OR_RETURN(auto name, r.String("name"));
  if (name) {
    if (!ValidName(*name)) return r.Error("name", "must be 1 to 64 characters of [A-Za-z0-9._-]");
    spec.name = *name;
    r.Named(spec.name);
  }
  static const std::set<std::string> kKnown = {"name",     "kind",      "command", "capabilities",
                                               "provider", "model",     "tools",   "concurrency",
                                               "priority", "timeout_ms"};
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (kKnown.count(it.key()) == 0) {
      return InvalidArgumentError(r.Error(it.key(), "is not a known key").message() +
                                  " (known: " + kKnownKeys + ")");
    }
  }
  MINION_ASSIGN_OR_RETURN(auto kind, r.String("kind"));
  MINION_ASSIGN_OR_RETURN(auto command, r.StringList("command", /*allow_empty=*/false));
  if (kind && command)
    return r.Error("command", "and 'kind' are both given; a worker is one or the other");
  if (!kind && !command) {
    return InvalidArgumentError(r.Error("kind", "is missing").message() + " (give 'kind' (" +
                                kKinds + ") or 'command' for an external program)");
  }
  if (kind) {
    spec.kind = KindNamed(*kind);
    if (!spec.kind) return r.Error("kind", "\"" + *kind + "\" is unknown; use one of " + kKinds);
  } else {
    spec.command = std::move(*command);
    // ./notes.sh in a file means next to the file, whatever the caller's working directory;
    // a bare name is looked up in PATH as usual.
    std::filesystem::path program(spec.command[0]);
    if (spec.command[0].find('/') != std::string::npos && program.is_relative() &&
        !base_dir.empty()) {
      spec.command[0] = (base_dir / program).lexically_normal().string();
    }
  }
  MINION_ASSIGN_OR_RETURN(auto capabilities, r.StringList("capabilities", /*allow_empty=*/false));
  if (capabilities) {
    std::set<std::string> seen;
    for (const auto& c : *capabilities) {
      if (!seen.insert(c).second) return r.Error("capabilities", "lists \"" + c + "\" twice");
    }
    spec.capabilities = std::move(*capabilities);
  } else if (spec.kind) {
    spec.capabilities = BuiltinCapabilities(*spec.kind);
  } else {
    return r.Error("capabilities", "is missing (a command worker must say what it answers)");
  }
  MINION_ASSIGN_OR_RETURN(auto provider, r.String("provider"));
  MINION_ASSIGN_OR_RETURN(auto model, r.String("model"));
  MINION_ASSIGN_OR_RETURN(auto tools, r.StringList("tools", /*allow_empty=*/true));
  MINION_ASSIGN_OR_RETURN(auto timeout, r.Integer("timeout_ms", 1, 24LL * 3600 * 1000));
  if (!spec.kind) {
    // A command worker never calls a model or a tool itself: these would be silently ignored.
    if (provider) return r.Error("provider", "applies to a 'kind' worker, not to a 'command' one");
    if (model) return r.Error("model", "applies to a 'kind' worker, not to a 'command' one");
    if (tools) return r.Error("tools", "applies to a 'kind' worker, not to a 'command' one");
    if (timeout) spec.timeout = std::chrono::milliseconds(*timeout);
  } else if (timeout) {
    return r.Error(
        "timeout_ms",
        "applies to a 'command' worker (a kind's model call is bounded by --timeout-ms)");
  }
  if (provider) {
    static const std::set<std::string> kKnownProviders = {"offline", "openai", "ollama", "vllm",
                                                          "llamacpp"};
    if (kKnownProviders.count(*provider) == 0) {
      return r.Error("provider", "\"" + *provider + "\" is unknown; use one of " + kProviders);
    }
    spec.provider = *provider;
  }
  if (model) spec.model = *model;
  if (tools) {
    std::set<std::string> seen;
    for (const auto& t : *tools) {
      if (!seen.insert(t).second) return r.Error("tools", "lists \"" + t + "\" twice");
    }
    spec.tools = std::move(*tools);
  }
  MINION_ASSIGN_OR_RETURN(auto concurrency, r.Integer("concurrency", 1, kMaxWorkerConcurrency));
  if (concurrency) spec.concurrency = static_cast<int>(*concurrency);
  MINION_ASSIGN_OR_RETURN(auto priority, r.Integer("priority", 1, 10));
  if (priority) spec.priority = static_cast<int>(*priority);
  return spec;
}

Result<std::vector<WorkerSpec>> ParseDocument(const json& doc, const std::string& source,
                                              const std::filesystem::path& base_dir) {
  if (!doc.is_object()) {
    return InvalidArgumentError(source + ": expected a mapping with a 'workers' list, not " +
                                doc.type_name());
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "workers") {
      return InvalidArgumentError(source + ": unknown top-level key '" + it.key() +
                                  "' (only 'workers')");
    }
  }
  auto list = doc.find("workers");
  if (list == doc.end() || !list->is_array()) {
    return InvalidArgumentError(source + ": 'workers' must be a list of workers");
  }
  if (list->empty())
    return InvalidArgumentError(source + ": 'workers' is empty; declare at least one worker");
  if (list->size() > kMaxConfiguredWorkers) {
    return InvalidArgumentError(source + ": " + std::to_string(list->size()) +
                                " workers, more than the " + std::to_string(kMaxConfiguredWorkers) +
                                " allowed");
  }
  std::vector<WorkerSpec> specs;
  for (std::size_t i = 0; i < list->size(); ++i) {
    MINION_ASSIGN_OR_RETURN(
        WorkerSpec spec,
        ParseEntry((*list)[i], source + ": workers[" + std::to_string(i) + "]", base_dir));
    specs.push_back(std::move(spec));
  }
  // Default names after every explicit one is known, so "coder-1" given by hand is not taken
  // again by an unnamed coder; then duplicates are errors.
  std::set<std::string> names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name.empty()) continue;
    if (!names.insert(specs[i].name).second) {
      return InvalidArgumentError(source + ": workers[" + std::to_string(i) + "]: the name \"" +
                                  specs[i].name +
                                  "\" is used by an earlier worker; names must be unique");
    }
  }
  std::map<std::string, int> counters;
  for (auto& spec : specs) {
    if (!spec.name.empty()) continue;
    const std::string stem = spec.kind ? std::string(BuiltinRole(*spec.kind)) : "external";
    do {
      spec.name = stem + "-" + std::to_string(++counters[stem]);
    } while (names.count(spec.name) != 0);
    names.insert(spec.name);
  }
  return specs;
}

}  // namespace

Result<std::vector<WorkerSpec>> ParseWorkersYaml(std::string_view text, std::string_view source,
                                                 const std::filesystem::path& base_dir) {
  const std::string label(source.empty() ? "workers file" : source);
  MINION_ASSIGN_OR_RETURN(json doc, internal::YamlToJson(text, label));
  return ParseDocument(doc, label, base_dir);
}

Result<std::vector<WorkerSpec>> ParseWorkersJson(std::string_view text, std::string_view source,
                                                 const std::filesystem::path& base_dir) {
  const std::string label(source.empty() ? "workers file" : source);
  MINION_ASSIGN_OR_RETURN(json doc, ParseJson(text, label));
  return ParseDocument(doc, label, base_dir);
}

Result<std::vector<WorkerSpec>> LoadWorkersFile(const std::filesystem::path& path) {
  MINION_ASSIGN_OR_RETURN(std::string text, internal::ReadBoundedFile(path, kMaxWorkersFileBytes));
  std::error_code ec;
  const std::filesystem::path base = std::filesystem::absolute(path, ec).parent_path();
  const std::string ext = path.extension().string();
  const bool is_json =
      ext == ".json" || (ext != ".yaml" && ext != ".yml" && internal::LooksLikeJson(text));
  return is_json ? ParseWorkersJson(text, path.string(), base)
                 : ParseWorkersYaml(text, path.string(), base);
}

std::vector<std::string> AvailableToolNames(const WorkerTools* tools) {
  std::vector<std::string> names;
  if (tools == nullptr) return names;
  if (!tools->workspace_base.empty()) names.insert(names.end(), {"write_file", "read_file"});
  names.push_back("calculator");
  if (tools->storage) names.insert(names.end(), {"storage_insert", "storage_get", "storage_query"});
  for (const auto& tool : tools->extra) names.push_back(tool->Name());
  return names;
}

Result<std::vector<std::shared_ptr<Worker>>> BuildConfiguredWorkers(
    const std::vector<WorkerSpec>& specs, const WorkerBuildContext& context) {
  const std::vector<std::string> available = AvailableToolNames(context.tools.get());
  std::string available_list;
  for (const auto& n : available) available_list += (available_list.empty() ? "" : ", ") + n;
  std::vector<std::shared_ptr<Worker>> workers;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const WorkerSpec& spec = specs[i];
    const std::string where =
        context.source + ": workers[" + std::to_string(i) + "] (" + spec.name + ")";
    WorkerOptions options = context.options;
    options.max_concurrency = static_cast<std::size_t>(spec.concurrency);
    WorkerMetadata metadata;
    metadata.agent_id = spec.name;
    metadata.capabilities = spec.capabilities;
    metadata.priority = spec.priority;
    metadata.group = "workers";
    if (!spec.kind) {
      ExternalCommandOptions command;
      command.argv = spec.command;
      command.timeout = spec.timeout;
      command.own_process_group = true;  // a script's own children stop with it
      metadata.role = "external";
      workers.push_back(std::make_shared<Worker>(
          std::move(metadata), MakeExternalCommandHandler(std::move(command)), options));
      continue;
    }
    std::shared_ptr<const WorkerTools> tools = context.tools;
    if (spec.tools) {
      if (!context.tools && !spec.tools->empty()) {
        return InvalidArgumentError(where + ": 'tools' lists " + spec.tools->front() +
                                    " but this run offers no tools (--no-tools)");
      }
      for (const auto& name : *spec.tools) {
        if (std::find(available.begin(), available.end(), name) == available.end()) {
          return InvalidArgumentError(
              where + ": 'tools' names \"" + name + "\", which this run does not offer (" +
              (available_list.empty() ? "none" : available_list) +
              "; http_get needs --http-allow, external tools --tools-file)");
        }
      }
      if (spec.tools->empty()) {
        tools = nullptr;  // model only: no loop, no empty tool list sent to the model
      } else {
        auto restricted = std::make_shared<WorkerTools>(*context.tools);
        restricted->only = *spec.tools;
        tools = std::move(restricted);
      }
    }
    std::shared_ptr<llm::Provider> provider = context.default_provider;
    if (!spec.provider.empty() || !spec.model.empty()) {
      if (!context.make_provider)
        return FailedPreconditionError(where + ": no way to make its provider here");
      auto made = context.make_provider(spec.provider, spec.model);
      if (!made.ok()) return made.status().WithContext(where);
      provider = std::move(made).value();
    }
    metadata.role = std::string(BuiltinRole(*spec.kind));
    workers.push_back(std::make_shared<Worker>(
        std::move(metadata), MakeLlmTaskHandler(*spec.kind, std::move(provider), std::move(tools)),
        options));
  }
  return workers;
}

}  // namespace minion::agents
