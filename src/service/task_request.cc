#include "task_request.h"

#include <nlohmann/json.hpp>

#include <set>

#include "minion/common/json.h"

namespace minion::service {

using nlohmann::json;

Result<agents::TaskRequest> ParseTaskRequest(const std::string& body, std::size_t max_depth) {
  if (body.empty())
    return InvalidArgumentError("request body is empty; want a JSON object with name and type");
  MINION_ASSIGN_OR_RETURN(json j, ParseJson(body, "request body", static_cast<int>(max_depth)));
  if (!j.is_object())
    return InvalidArgumentError("request body must be a JSON object, got " +
                                std::string(j.type_name()));
  static const std::set<std::string> kKnown = {"name", "type", "priority", "description", "input"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.count(key)) {
      // The key is the caller's: only its start goes into the message (a key may be megabytes).
      return InvalidArgumentError("unknown field '" + key.substr(0, 64) +
                                  "' (known: name, type, priority, description, input)");
    }
  }
  agents::TaskRequest r;
  for (const char* field : {"name", "type"}) {
    if (!j.contains(field))
      return InvalidArgumentError(std::string("missing field '") + field + "'");
    if (!j[field].is_string())
      return InvalidArgumentError(std::string("field '") + field + "' must be a string");
    if (j[field].get_ref<const std::string&>().empty()) {
      return InvalidArgumentError(std::string("field '") + field + "' must not be empty");
    }
  }
  r.name = j["name"];
  r.type = j["type"];
  if (j.contains("priority")) {
    if (!j["priority"].is_number_integer())
      return InvalidArgumentError("field 'priority' must be an integer from 1 to 10");
    const auto p = j["priority"].get<std::int64_t>();
    if (p < 1 || p > 10)
      return InvalidArgumentError("field 'priority' must be from 1 to 10, got " +
                                  std::to_string(p));
    r.priority = static_cast<int>(p);
  }
  if (j.contains("description")) {
    if (!j["description"].is_string())
      return InvalidArgumentError("field 'description' must be a string");
    r.description = j["description"];
  }
  if (j.contains("input")) r.input = std::move(j["input"]);
  return r;
}

}  // namespace minion::service
