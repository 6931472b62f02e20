#include "minion/propagation/from_env.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "minion/propagation/b3.h"
#include "minion/propagation/baggage.h"
#include "minion/propagation/composite.h"
#include "minion/propagation/jaeger.h"
#include "minion/propagation/trace_context.h"
#include "propagation/text_util.h"

namespace minion::propagation {
namespace {

void Warn(std::string message, std::vector<std::string>* warnings) {
  std::fprintf(stderr, "minion: %s\n", message.c_str());
  if (warnings != nullptr) warnings->push_back(std::move(message));
}

std::unique_ptr<trace::TextMapPropagator> MakeOne(std::string_view name) {
  if (name == "tracecontext") return std::make_unique<W3CTraceContextPropagator>();
  if (name == "baggage") return std::make_unique<W3CBaggagePropagator>();
  if (name == "b3") return std::make_unique<B3Propagator>(B3Propagator::Encoding::kSingleHeader);
  if (name == "b3multi")
    return std::make_unique<B3Propagator>(B3Propagator::Encoding::kMultiHeader);
  if (name == "jaeger") return std::make_unique<JaegerPropagator>();
  return nullptr;
}

}  // namespace

Result<std::unique_ptr<trace::TextMapPropagator>> MakePropagator(
    std::string_view comma_list, std::vector<std::string>* warnings) {
  // The specification treats an empty value like an unset one.
  if (internal::TrimOws(comma_list).empty()) comma_list = kDefaultPropagators;

  const std::string original(comma_list);
  std::vector<std::string> names;
  bool none = false;
  while (true) {
    const std::size_t comma = comma_list.find(',');
    // Enum values are case-insensitive per the OpenTelemetry environment specification.
    std::string name = internal::ToLower(internal::TrimOws(comma_list.substr(0, comma)));
    if (name == "none") {
      none = true;
    } else if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(std::move(name));
    }
    if (comma == std::string_view::npos) break;
    comma_list.remove_prefix(comma + 1);
  }
  if (none && !names.empty()) {
    return InvalidArgumentError(
        "OTEL_PROPAGATORS: \"none\" cannot be combined with other propagators (got \"" + original +
        "\")");
  }

  std::vector<std::unique_ptr<trace::TextMapPropagator>> parts;
  for (const std::string& name : names) {
    if (auto part = MakeOne(name)) {
      parts.push_back(std::move(part));
    } else if (name == "xray" || name == "ottrace") {
      Warn("OTEL_PROPAGATORS: propagator \"" + name + "\" is not supported by minion; skipped",
           warnings);
    } else {
      Warn("OTEL_PROPAGATORS: unknown propagator \"" + name +
               "\" skipped (known: tracecontext, baggage, b3, b3multi, jaeger, none)",
           warnings);
    }
  }
  return std::unique_ptr<trace::TextMapPropagator>(
      std::make_unique<CompositePropagator>(std::move(parts)));
}

Result<std::unique_ptr<trace::TextMapPropagator>> MakePropagatorFromEnv(
    std::vector<std::string>* warnings, const env::Lookup& lookup) {
  const std::optional<std::string> value = lookup("OTEL_PROPAGATORS");
  return MakePropagator(value ? std::string_view(*value) : std::string_view(), warnings);
}

const trace::TextMapPropagator& DefaultPropagator() {
  // Leaked on purpose: propagation may still run from other static destructors at exit.
  static const trace::TextMapPropagator* const kDefault = [] {
    std::vector<std::unique_ptr<trace::TextMapPropagator>> parts;
    parts.push_back(std::make_unique<W3CTraceContextPropagator>());
    parts.push_back(std::make_unique<W3CBaggagePropagator>());
    return new CompositePropagator(std::move(parts));
  }();
  return *kDefault;
}

}  // namespace minion::propagation
