#pragma once
// W3C `tracestate`: an ordered list of at most 32 vendor key/value pairs. Immutable: every
// change returns a new TraceState, so one instance can be shared by many spans.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace minion::trace {

class TraceState {
 public:
  static constexpr std::size_t kMaxEntries = 32;

  TraceState() = default;

  // Parses a `tracestate` header. Per W3C, an invalid header (bad key or value, too many
  // entries, duplicate keys) yields nullopt and the caller drops the whole tracestate.
  static std::optional<TraceState> FromHeader(std::string_view header);
  std::string ToHeader() const;

  std::optional<std::string_view> Get(std::string_view key) const;
  // Returns a copy with `key` moved to the front with `value` (W3C mutation rules); nullopt if
  // the key or value is invalid.
  std::optional<TraceState> Set(std::string_view key, std::string_view value) const;
  TraceState Delete(std::string_view key) const;

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

  static bool IsValidKey(std::string_view key);
  static bool IsValidValue(std::string_view value);

  friend bool operator==(const TraceState& a, const TraceState& b) {
    return a.entries_ == b.entries_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace minion::trace
