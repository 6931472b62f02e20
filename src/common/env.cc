#include "minion/common/env.h"

#include "minion/common/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace minion::env {
namespace {
using text::Trim;
std::string Lower(std::string_view s) { return text::AsciiLower(s); }
}  // namespace

std::optional<std::string> Get(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

Result<bool> ParseBool(std::string_view text) {
  const std::string t = Lower(Trim(text));
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return InvalidArgumentError("'" + std::string(text) + "' is not a boolean (want true or false)");
}

Result<std::int64_t> ParseInt(std::string_view text) {
  text = Trim(text);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 0)
    return InvalidArgumentError("'" + std::string(text) + "' is not a non-negative integer");
  return v;
}

Result<double> ParseDouble(std::string_view text) {
  const std::string t(Trim(text));
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size())
    return InvalidArgumentError("'" + std::string(text) + "' is not a number");
  return v;
}

void Warn(std::string_view message) {
  // Values quoted in a warning may be URLs with credentials, or very long.
  const std::string shown = text::Truncate(text::RedactUrls(message));
  std::fprintf(stderr, "minion: warning: %.*s\n", static_cast<int>(shown.size()), shown.data());
}

std::int64_t IntOr(std::string_view name, std::int64_t fallback, const Lookup& lookup) {
  auto v = lookup(name);
  if (!v) return fallback;
  auto parsed = ParseInt(*v);
  if (parsed.ok()) return *parsed;
  Warn(std::string(name) + ": " + parsed.status().message() + "; using " +
       std::to_string(fallback));
  return fallback;
}

bool BoolOr(std::string_view name, bool fallback, const Lookup& lookup) {
  auto v = lookup(name);
  if (!v) return fallback;
  auto parsed = ParseBool(*v);
  if (parsed.ok()) return *parsed;
  Warn(std::string(name) + ": " + parsed.status().message() + "; using " +
       (fallback ? "true" : "false"));
  return fallback;
}

double DoubleOr(std::string_view name, double fallback, const Lookup& lookup) {
  auto v = lookup(name);
  if (!v) return fallback;
  auto parsed = ParseDouble(*v);
  if (parsed.ok()) return *parsed;
  Warn(std::string(name) + ": " + parsed.status().message() + "; using " +
       std::to_string(fallback));
  return fallback;
}

}  // namespace minion::env
