#include "minion/resilience/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace minion::resilience {
namespace {

Status CheckKeys(const YAML::Node& node, const std::string& where,
                 const std::set<std::string>& allowed) {
  if (!node.IsMap()) return InvalidArgumentError(where + ": expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return InvalidArgumentError(where + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<double> Number(const YAML::Node& node, const std::string& where) {
  try {
    return node.as<double>();
  } catch (const YAML::Exception&) {
    return InvalidArgumentError(where + ": expected a number, got '" + node.as<std::string>("?") +
                                "'");
  }
}

Result<std::chrono::nanoseconds> Duration(const YAML::Node& node, const std::string& where) {
  auto d = ParseDuration(node.as<std::string>(""));
  if (!d.ok()) return d.status().WithContext(where);
  return d;
}

Status ParseBreaker(const YAML::Node& node, const std::string& where,
                    std::optional<CircuitBreakerOptions>& out) {
  if (node.IsScalar()) {
    const std::string v = node.as<std::string>();
    if (v == "off" || v == "false") {
      out.reset();
      return Status::Ok();
    }
    return InvalidArgumentError(where + ": expected a mapping or 'off', got '" + v + "'");
  }
  MINION_RETURN_IF_ERROR(CheckKeys(
      node, where,
      {"window_size", "minimum_calls", "failure_rate_threshold", "consecutive_failures",
       "slow_call_duration", "slow_call_rate_threshold", "open_duration", "half_open_max_calls"}));
  CircuitBreakerOptions o = out.value_or(CircuitBreakerOptions{});
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string at = where + "." + key;
    if (key == "slow_call_duration" || key == "open_duration") {
      MINION_ASSIGN_OR_RETURN(auto d, Duration(kv.second, at));
      (key == "open_duration" ? o.open_duration : o.slow_call_duration) = d;
      continue;
    }
    MINION_ASSIGN_OR_RETURN(double v, Number(kv.second, at));
    const bool integral = v >= 0 && std::floor(v) == v;
    if (key == "failure_rate_threshold") {
      o.failure_rate_threshold = v;
    } else if (key == "slow_call_rate_threshold") {
      o.slow_call_rate_threshold = v;
    } else if (!integral) {
      return InvalidArgumentError(at + ": expected a non-negative integer");
    } else if (key == "window_size") {
      o.window_size = static_cast<std::size_t>(v);
    } else if (key == "minimum_calls") {
      o.minimum_calls = static_cast<std::size_t>(v);
    } else if (key == "consecutive_failures") {
      o.consecutive_failures = static_cast<int>(v);
    } else if (key == "half_open_max_calls") {
      o.half_open_max_calls = static_cast<int>(v);
    }
  }
  if (Status s = o.Validate(); !s.ok()) return s.WithContext(where);
  out = o;
  return Status::Ok();
}

Status ParsePolicy(const YAML::Node& node, const std::string& where, PolicyConfig& out) {
  MINION_RETURN_IF_ERROR(CheckKeys(node, where, {"circuit_breaker", "rate_limiter", "bulkhead"}));
  if (node["circuit_breaker"])
    MINION_RETURN_IF_ERROR(
        ParseBreaker(node["circuit_breaker"], where + ".circuit_breaker", out.circuit_breaker));
  if (const YAML::Node rl = node["rate_limiter"]) {
    const std::string at = where + ".rate_limiter";
    MINION_RETURN_IF_ERROR(CheckKeys(rl, at, {"rate_per_second", "burst"}));
    RateLimiterOptions o;
    if (rl["rate_per_second"]) {
      MINION_ASSIGN_OR_RETURN(o.rate_per_second,
                              Number(rl["rate_per_second"], at + ".rate_per_second"));
    }
    o.burst = o.rate_per_second;
    if (rl["burst"]) {
      MINION_ASSIGN_OR_RETURN(o.burst, Number(rl["burst"], at + ".burst"));
    }
    if (!(o.rate_per_second > 0))
      return InvalidArgumentError(at + ".rate_per_second: must be positive");
    if (!(o.burst >= 1)) return InvalidArgumentError(at + ".burst: must be at least 1");
    out.rate_limiter = o;
  }
  if (const YAML::Node b = node["bulkhead"]) {
    const std::string at = where + ".bulkhead";
    MINION_RETURN_IF_ERROR(CheckKeys(b, at, {"max_concurrent"}));
    if (!b["max_concurrent"]) return InvalidArgumentError(at + ": max_concurrent is required");
    MINION_ASSIGN_OR_RETURN(double v, Number(b["max_concurrent"], at + ".max_concurrent"));
    if (!(v >= 1) || std::floor(v) != v)
      return InvalidArgumentError(at + ".max_concurrent: must be an integer >= 1");
    out.bulkhead_max_concurrent = static_cast<std::size_t>(v);
  }
  return Status::Ok();
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return InvalidArgumentError("'" + text + "' is not a duration (e.g. 250ms, 30s, 2m)");
  double value = 0;
  try {
    value = std::stod(text.substr(0, i));
  } catch (...) {
    return InvalidArgumentError("'" + text + "' is not a duration (e.g. 250ms, 30s, 2m)");
  }
  const std::string unit = text.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return InvalidArgumentError("'" + text + "': unknown unit '" + unit + "' (want ms, s, m or h)");
  const double ns = value * scale;
  if (!(ns < 1e18)) return InvalidArgumentError("'" + text + "' is too long");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

Result<ResilienceConfig> ResilienceConfig::Parse(const std::string& yaml,
                                                 const std::string& source) {
  ResilienceConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": not valid YAML: " + e.what());
  }
  if (!root || root.IsNull()) return config;
  try {
    MINION_RETURN_IF_ERROR(CheckKeys(root, source, {"llm", "tools", "workers"}));
    if (root["llm"]) MINION_RETURN_IF_ERROR(ParsePolicy(root["llm"], source + ": llm", config.llm));
    if (root["tools"])
      MINION_RETURN_IF_ERROR(ParsePolicy(root["tools"], source + ": tools", config.tools));
    if (root["workers"])
      MINION_RETURN_IF_ERROR(ParsePolicy(root["workers"], source + ": workers", config.workers));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source + ": " + e.what());
  }
  return config;
}

Result<ResilienceConfig> ResilienceConfig::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot read resilience config '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

}  // namespace minion::resilience
