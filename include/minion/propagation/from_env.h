#pragma once
// Propagators chosen by name, as OTEL_PROPAGATORS does it: a comma-separated, case-insensitive
// list of tracecontext, baggage, b3 (single header), b3multi, jaeger, or none. Unknown names are
// reported on stderr and skipped, as the OpenTelemetry specification requires; duplicates are
// used once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/env.h"
#include "minion/common/status.h"
#include "minion/trace/propagation.h"

namespace minion::propagation {

inline constexpr std::string_view kDefaultPropagators = "tracecontext,baggage";

// Builds a CompositePropagator for `comma_list`. "none" alone gives a propagator that does
// nothing; "none" together with other names is an InvalidArgument error. An empty list means
// the default. Each warning is written to stderr and, when `warnings` is given, appended to it.
Result<std::unique_ptr<trace::TextMapPropagator>> MakePropagator(
    std::string_view comma_list, std::vector<std::string>* warnings = nullptr);

// MakePropagator(getenv("OTEL_PROPAGATORS")), with unset or empty meaning the default.
// `lookup` reads the variable (default: the process environment).
Result<std::unique_ptr<trace::TextMapPropagator>> MakePropagatorFromEnv(
    std::vector<std::string>* warnings = nullptr, const env::Lookup& lookup = env::Get);

// tracecontext + baggage, built once on first use and never destroyed before exit.
const trace::TextMapPropagator& DefaultPropagator();

}  // namespace minion::propagation
