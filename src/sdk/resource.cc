#include "minion/sdk/resource.h"

#include <fstream>
#include <string>

#include "minion/common/env.h"

#ifndef MINION_VERSION
#define MINION_VERSION "0.0.0"
#endif

namespace minion::sdk {
namespace {

std::string ExecutableName() {
  std::ifstream comm("/proc/self/comm");
  std::string name;
  if (comm && std::getline(comm, name) && !name.empty()) return name;
  return "unknown";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0)
      return InvalidArgumentError("bad percent-encoding in '" + std::string(s) + "'");
    out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

std::string_view SdkVersion() { return MINION_VERSION; }

trace::Resource DefaultResource() {
  trace::Resource r;
  r.attributes.Set("service.name", "unknown_service:" + ExecutableName());
  r.attributes.Set("telemetry.sdk.name", kSdkName);
  r.attributes.Set("telemetry.sdk.language", kSdkLanguage);
  r.attributes.Set("telemetry.sdk.version", SdkVersion());
  return r;
}

Result<trace::Resource> ResourceFromEnv() {
  trace::Resource r;
  if (auto attrs = env::Get("OTEL_RESOURCE_ATTRIBUTES")) {
    std::string_view rest = *attrs;
    trace::AttributeList parsed;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view item = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty()) continue;
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos || Trim(item.substr(0, eq)).empty())
        return InvalidArgumentError("OTEL_RESOURCE_ATTRIBUTES: '" + std::string(item) + "' is not key=value");
      auto key = PercentDecode(Trim(item.substr(0, eq)));
      auto value = PercentDecode(Trim(item.substr(eq + 1)));
      if (!key.ok()) return key.status().WithContext("OTEL_RESOURCE_ATTRIBUTES");
      if (!value.ok()) return value.status().WithContext("OTEL_RESOURCE_ATTRIBUTES");
      parsed.Set(*key, *value);
    }
    r.attributes = std::move(parsed);
  }
  if (auto name = env::Get("OTEL_SERVICE_NAME")) r.attributes.Set("service.name", *name);
  return r;
}

trace::Resource MergeResources(const trace::Resource& base, const trace::Resource& updating) {
  trace::Resource out = base;
  for (const auto& a : updating.attributes) out.attributes.Set(a.key, trace::AttributeValueView(a.value));
  // The specification: the updating schema URL wins when set; a conflict is the caller's error.
  if (!updating.schema_url.empty()) out.schema_url = updating.schema_url;
  return out;
}

trace::Resource BuildResource(const trace::Resource& code) {
  trace::Resource r = MergeResources(DefaultResource(), code);
  auto from_env = ResourceFromEnv();
  if (!from_env.ok()) {
    env::Warn(from_env.status().message() + "; ignoring OTEL_RESOURCE_ATTRIBUTES");
    if (auto name = env::Get("OTEL_SERVICE_NAME")) r.attributes.Set("service.name", *name);
    return r;
  }
  return MergeResources(r, *from_env);
}

}  // namespace minion::sdk
