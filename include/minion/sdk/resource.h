#pragma once
// Building a Resource: defaults (telemetry.sdk.*, service.name=unknown_service:<exe>), what the
// code sets, and OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME, merged as the specification says
// (the environment wins over defaults; OTEL_SERVICE_NAME wins over everything for service.name).

#include <string>
#include <string_view>

#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/trace/span_data.h"

namespace minion::sdk {

inline constexpr std::string_view kSdkName = "minion";
inline constexpr std::string_view kSdkLanguage = "cpp";
std::string_view SdkVersion();

// The SDK's own attributes plus service.name = unknown_service:<executable name>.
trace::Resource DefaultResource();
// Attributes from OTEL_RESOURCE_ATTRIBUTES (key=value,... with %-encoding) and
// OTEL_SERVICE_NAME. A malformed OTEL_RESOURCE_ATTRIBUTES is reported and ignored whole.
Result<trace::Resource> ResourceFromEnv(const env::Lookup& lookup = env::Get);
// `updating` wins on conflicting keys.
trace::Resource MergeResources(const trace::Resource& base, const trace::Resource& updating);
// Default ← `code` ← environment: what TracerProvider uses.
trace::Resource BuildResource(const trace::Resource& code);

}  // namespace minion::sdk
