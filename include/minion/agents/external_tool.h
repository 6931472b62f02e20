#pragma once
// External tools: programs declared in a JSON or YAML file that a model may call like any built-in
// tool. The tool's arguments (already checked against its declared schema by the
// ToolRegistry) go to the program's stdin as JSON, its stdout comes back as {"output": text};
// the caller's trace context is in its environment (TRACEPARENT/TRACESTATE). The program runs
// without a shell in a process group of its own; at the timeout the whole group is killed, and
// stdout beyond max_output_bytes ends it too. A non-zero exit is an error carrying the end of
// stderr. This reuses RunExternalCommand (external_worker.h), the one child-process runner.
//
// The file:
//   {"tools": [{"name": "word_count",                       // [A-Za-z0-9_-], at most 64 bytes
//               "description": "Counts the words of a text",
//               "command": ["wc", "-w"],                     // argv; no shell
//               "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
//                              "required": ["text"]},        // JSON schema of the arguments
//               "timeout_ms": 5000,                          // optional, default 10000
//               "max_output_bytes": 65536}]}                 // optional, default 1 MiB
// The same declarations in YAML (LoadExternalTools picks YAML for .yaml/.yml, or when the text
// does not start with '{' or '['):
//   tools:
//     - name: word_count
//       description: Counts the words of a text
//       command: [wc, -w]
//       parameters: {type: object, properties: {text: {type: string}}, required: [text]}
//       timeout_ms: 5000
// Unknown keys are errors (a misspelt "timeout" is not silently ignored).
// Thread-safe: every call runs its own child.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/common/status.h"
#include "minion/tools/tool.h"

namespace minion::agents {

struct ExternalToolSpec {
  std::string name;
  std::string description;
  std::vector<std::string> command;
  nlohmann::json parameters = nlohmann::json{{"type", "object"}};
  std::chrono::milliseconds timeout{10000};
  std::size_t max_output_bytes = 1u << 20;
};

std::shared_ptr<tools::Tool> MakeExternalTool(ExternalToolSpec spec);

// Parses the declarations. InvalidArgument naming the entry and field for anything missing or
// malformed (no name, a name that is not [A-Za-z0-9_-]{1,64}, an empty command, a schema that
// is not an object with "type":"object", a non-positive timeout, duplicate names), and for
// more than 64 tools.
Result<std::vector<ExternalToolSpec>> ParseExternalTools(std::string_view json_text);
// The same from YAML, through the agents' bounded YAML loader (an alias bomb, more than 100,000
// nodes after expansion, is InvalidArgument).
Result<std::vector<ExternalToolSpec>> ParseExternalToolsYaml(std::string_view yaml_text);
// Reads `path` (at most 1 MiB) and parses it: YAML for .yaml/.yml, JSON for .json, otherwise
// JSON when the first non-blank byte is '{' or '[' and YAML else; errors name the file.
Result<std::vector<ExternalToolSpec>> LoadExternalTools(const std::filesystem::path& path);

}  // namespace minion::agents
