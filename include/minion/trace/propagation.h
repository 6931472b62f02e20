#pragma once
// Propagation plug-in points: a TextMapCarrier (HTTP headers, message headers, environment
// variables) and a TextMapPropagator that injects a Context into it or extracts one from it.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minion/trace/context.h"

namespace minion::trace {

class TextMapCarrier {
 public:
  virtual ~TextMapCarrier() = default;
  // The value for `key`, or nullopt. Key matching is the carrier's business (HTTP headers are
  // case-insensitive; a std::map carrier is exact).
  virtual std::optional<std::string_view> Get(std::string_view key) const = 0;
  virtual void Set(std::string_view key, std::string_view value) = 0;
  // Every key present (needed by propagators with key prefixes, such as Jaeger baggage).
  virtual std::vector<std::string> Keys() const { return {}; }
};

// Thread-safe, stateless after construction.
class TextMapPropagator {
 public:
  virtual ~TextMapPropagator() = default;
  virtual void Inject(const Context& context, TextMapCarrier& carrier) const = 0;
  // Returns `context` with what the carrier holds merged in; a malformed header leaves
  // `context` unchanged (a new trace starts) and never throws.
  virtual Context Extract(const TextMapCarrier& carrier, const Context& context) const = 0;
  virtual std::vector<std::string> Fields() const = 0;
};

}  // namespace minion::trace
