#pragma once
// Ready-made TextMapCarriers over the containers that carry context in practice: plain string
// maps (message headers), HTTP header lists (case-insensitive names, repeated headers) and
// process environment variables (TRACEPARENT/TRACESTATE/BAGGAGE for child processes).
//
// A carrier borrows its container: the container must outlive the carrier. Carriers are not
// thread-safe; use one per request/message.

#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "minion/trace/propagation.h"

namespace minion::propagation {

// Exact-key carrier over a string-to-string map (std::map or std::unordered_map). Built from a
// const map it is read-only (Set does nothing).
template <typename MapType>
class BasicMapCarrier final : public trace::TextMapCarrier {
 public:
  using Map = MapType;
  explicit BasicMapCarrier(Map& map) : map_(&map), mutable_map_(&map) {}
  explicit BasicMapCarrier(const Map& map) : map_(&map), mutable_map_(nullptr) {}

  std::optional<std::string_view> Get(std::string_view key) const override;
  void Set(std::string_view key, std::string_view value) override;
  std::vector<std::string> Keys() const override;

 private:
  const Map* map_;
  Map* mutable_map_;
};

// Defined in carriers.cc for these two maps.
extern template class BasicMapCarrier<std::map<std::string, std::string>>;
extern template class BasicMapCarrier<std::unordered_map<std::string, std::string>>;
using MapCarrier = BasicMapCarrier<std::map<std::string, std::string>>;
using UnorderedMapCarrier = BasicMapCarrier<std::unordered_map<std::string, std::string>>;

// HTTP headers: names compare case-insensitively (RFC 9110). When a header occurs several
// times, Get returns the values joined with "," as RFC 9110 section 5.3 allows; that joined
// string lives in the carrier until it is destroyed. Set replaces every occurrence of the name.
// Built from a const container it is read-only.
class HttpHeaderCarrier final : public trace::TextMapCarrier {
 public:
  using Multimap = std::multimap<std::string, std::string>;
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  explicit HttpHeaderCarrier(Multimap& headers)
      : multimap_(&headers), mutable_multimap_(&headers) {}
  explicit HttpHeaderCarrier(const Multimap& headers) : multimap_(&headers) {}
  explicit HttpHeaderCarrier(Pairs& headers) : pairs_(&headers), mutable_pairs_(&headers) {}
  explicit HttpHeaderCarrier(const Pairs& headers) : pairs_(&headers) {}

  std::optional<std::string_view> Get(std::string_view key) const override;
  void Set(std::string_view key, std::string_view value) override;
  // Names as they appear (original case), each once.
  std::vector<std::string> Keys() const override;

 private:
  const Multimap* multimap_ = nullptr;
  Multimap* mutable_multimap_ = nullptr;
  const Pairs* pairs_ = nullptr;
  Pairs* mutable_pairs_ = nullptr;
  // Joined values of repeated headers; a list so earlier views stay valid.
  mutable std::list<std::string> joined_;
};

// Environment variables as a carrier (the OpenTelemetry "environment variables as context
// propagation carriers" convention): a key is looked up upper-cased with every character
// outside [A-Z0-9_] replaced by '_' (traceparent -> TRACEPARENT, uber-trace-id ->
// UBER_TRACE_ID). Reads either the process environment or a given map; Set writes into
// `inject_into`, meant as the extra environment of a child process (it never calls setenv,
// which is not thread-safe). Reading the process environment races with setenv in other
// threads, as getenv always does.
class EnvironmentCarrier final : public trace::TextMapCarrier {
 public:
  using Map = std::map<std::string, std::string>;
  // Reads the process environment.
  explicit EnvironmentCarrier(Map* inject_into = nullptr) : inject_into_(inject_into) {}
  // Reads `source` (for example a child's environment being prepared, or a test's).
  explicit EnvironmentCarrier(const Map& source, Map* inject_into = nullptr)
      : source_(&source), inject_into_(inject_into) {}

  std::optional<std::string_view> Get(std::string_view key) const override;
  void Set(std::string_view key, std::string_view value) override;
  // The (upper-case) variable names available to read.
  std::vector<std::string> Keys() const override;

  // traceparent -> TRACEPARENT.
  static std::string ToVariableName(std::string_view key);

 private:
  const Map* source_ = nullptr;
  Map* inject_into_ = nullptr;
};

}  // namespace minion::propagation
