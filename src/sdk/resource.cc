#include "minion/sdk/resource.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "minion/common/env.h"
#include "minion/common/text.h"
#include "minion/trace/ids.h"

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

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "unknown";
  return buf;
}

// One random id per process (a version-4 UUID from the SDK's random trace id), so two
// processes of the same service and host stay apart in a viewer.
const std::string& InstanceId() {
  static const std::string id = [] {
    std::string hex = trace::DefaultIdGenerator().GenerateTraceId().ToHex();
    hex[12] = '4';
    hex[16] = "89ab"[static_cast<unsigned char>(hex[16]) % 4];
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20);
  }();
  return id;
}

}  // namespace

std::string_view SdkVersion() { return MINION_VERSION; }

trace::Resource DefaultResource() {
  trace::Resource r;
  r.attributes.Set("service.name", "unknown_service:" + ExecutableName());
  r.attributes.Set("telemetry.sdk.name", kSdkName);
  r.attributes.Set("telemetry.sdk.language", kSdkLanguage);
  r.attributes.Set("telemetry.sdk.version", SdkVersion());
  // Which process produced a span: several workers of one service run side by side.
  r.attributes.Set("service.instance.id", InstanceId());
  r.attributes.Set("process.pid", static_cast<std::int64_t>(getpid()));
  r.attributes.Set("host.name", HostName());
  return r;
}

Result<trace::Resource> ResourceFromEnv(const env::Lookup& lookup) {
  trace::Resource r;
  if (auto attrs = lookup("OTEL_RESOURCE_ATTRIBUTES")) {
    auto parsed = text::ParseKeyValueList(*attrs);
    if (!parsed.ok()) return parsed.status().WithContext("OTEL_RESOURCE_ATTRIBUTES");
    for (const auto& [key, value] : *parsed) r.attributes.Set(key, value);
  }
  if (auto name = lookup("OTEL_SERVICE_NAME")) r.attributes.Set("service.name", *name);
  return r;
}

trace::Resource MergeResources(const trace::Resource& base, const trace::Resource& updating) {
  trace::Resource out = base;
  for (const auto& a : updating.attributes)
    out.attributes.Set(a.key, trace::AttributeValueView(a.value));
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
