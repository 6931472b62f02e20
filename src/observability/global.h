#pragma once
// Between the two halves of observability: setup.cc installs a provider, tracing.cc serves the
// global tracer from it without a lock.
#include <memory>

#include "minion/trace/tracer.h"

namespace minion::observability::internal {

// Makes `tracer` what GetTracer() returns; null: the global trace::TracerProvider's tracer.
void SetGlobalTracer(std::shared_ptr<trace::Tracer> tracer);

// The instrumentation scope of the global tracer.
inline constexpr std::string_view kInstrumentationName = "minion.multiagent";

}  // namespace minion::observability::internal
