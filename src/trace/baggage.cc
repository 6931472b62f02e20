#include "minion/trace/baggage.h"

namespace minion::trace {

Baggage Baggage::FromEntries(std::vector<Entry> entries) {
  Baggage out;
  out.entries_ = std::move(entries);
  return out;
}

std::optional<std::string_view> Baggage::Get(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.key == key) return std::string_view(entry.value);
  }
  return std::nullopt;
}

Baggage Baggage::Set(std::string_view key, std::string_view value,
                     std::string_view metadata) const {
  Baggage out = *this;
  for (auto& entry : out.entries_) {
    if (entry.key == key) {
      // Replacing in place keeps the order callers inserted, which is what goes on the wire.
      entry.value.assign(value);
      entry.metadata.assign(metadata);
      return out;
    }
  }
  out.entries_.push_back(Entry{std::string(key), std::string(value), std::string(metadata)});
  return out;
}

Baggage Baggage::Delete(std::string_view key) const {
  Baggage out;
  out.entries_.reserve(entries_.size());
  for (const auto& entry : entries_) {
    if (entry.key != key) out.entries_.push_back(entry);
  }
  return out;
}

}  // namespace minion::trace
