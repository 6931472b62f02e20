#pragma once
// W3C Baggage: user-defined key/value pairs that travel with a trace. Immutable; each change
// returns a new Baggage.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minion::trace {

class Baggage {
 public:
  struct Entry {
    std::string key;
    std::string value;
    std::string metadata;  // the ";"-separated properties, kept verbatim
  };

  Baggage() = default;
  // Takes entries whose keys are distinct, in order. Lets propagators build a parsed header in
  // linear time; chained Set() copies the whole list per entry (180 entries measured 400 us).
  static Baggage FromEntries(std::vector<Entry> entries);
  std::optional<std::string_view> Get(std::string_view key) const;
  Baggage Set(std::string_view key, std::string_view value, std::string_view metadata = {}) const;
  Baggage Delete(std::string_view key) const;
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace minion::trace
