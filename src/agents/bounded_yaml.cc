#include "bounded_yaml.h"

#include <cstdint>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "minion/common/json.h"

namespace minion::agents::internal {
namespace {

using nlohmann::json;

struct Budget {
  std::size_t nodes = 0;
  std::size_t bytes = 0;
};

struct LimitExceeded {
  std::string what;
};

// Recursion is bounded by kMaxJsonDepth; the limits throw LimitExceeded, caught below.
json Convert(const YAML::Node& node, int depth, Budget& budget, const std::string& what) {
  if (depth > kMaxJsonDepth) {
    throw LimitExceeded{what + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
  }
  if (++budget.nodes > kMaxYamlNodes) {
    throw LimitExceeded{what + " expands to more than " + std::to_string(kMaxYamlNodes) +
                        " nodes (aliases are expanded; is it an alias bomb?)"};
  }
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(Convert(item, depth + 1, budget, what));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        // A key must be a scalar here; as<std::string> throws a YAML::Exception otherwise.
        std::string key = kv.first.as<std::string>();
        budget.bytes += key.size();
        obj[std::move(key)] = Convert(kv.second, depth + 1, budget, what);
      }
      return obj;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if ((budget.bytes += s.size()) > kMaxYamlBytes) {
        throw LimitExceeded{what + " expands to more than " + std::to_string(kMaxYamlBytes >> 20) +
                            " MiB of text (aliases are expanded)"};
      }
      if (node.Tag() != "!") {  // unquoted: try the plain-scalar types
        std::int64_t i;
        double d;
        bool b;
        if (YAML::convert<std::int64_t>::decode(node, i)) return i;
        if (YAML::convert<double>::decode(node, d)) return d;
        if (YAML::convert<bool>::decode(node, b)) return b;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

}  // namespace

Result<json> YamlToJson(std::string_view text, std::string_view what) {
  const std::string label(what);
  try {
    Budget budget;
    return Convert(YAML::Load(std::string(text)), 0, budget, label);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(label + " is not valid YAML: " + e.what());
  } catch (const LimitExceeded& e) {
    return InvalidArgumentError(e.what);
  }
}

Result<std::string> ReadBoundedFile(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  std::string text(max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    return InvalidArgumentError(path.string() + " is larger than " + std::to_string(max_bytes) +
                                " bytes");
  }
  return text;
}

bool LooksLikeJson(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace minion::agents::internal
