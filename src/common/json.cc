#include "minion/common/json.h"

namespace minion {

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what, int max_depth) {
  bool too_deep = false;
  // The callback sees each event with its depth; refusing an opening bracket past the limit
  // discards that subtree, so nothing deep is ever built, and the parse fails below.
  nlohmann::json::parser_callback_t limit = [&](int depth, nlohmann::json::parse_event_t event,
                                                nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth >= max_depth) {
      too_deep = true;
      return false;
    }
    return !too_deep;
  };
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), limit,
                                               /*allow_exceptions=*/false);
  if (too_deep) {
    return InvalidArgumentError(std::string(what) + " nests deeper than " +
                                std::to_string(max_depth) + " levels of arrays/objects");
  }
  if (value.is_discarded()) return InvalidArgumentError(std::string(what) + " is not valid JSON");
  return value;
}

bool JsonNestsDeeperThan(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace minion
