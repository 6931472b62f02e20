#pragma once
// Accumulates baggage entries (a later key replaces an earlier one in place) in linear time,
// then hands them to trace::Baggage::FromEntries. Private to src/propagation.

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "minion/trace/baggage.h"

namespace minion::propagation::internal {

class BaggageBuilder {
 public:
  BaggageBuilder() = default;
  explicit BaggageBuilder(const trace::Baggage& base) {
    for (const auto& entry : base.entries()) Set(entry.key, entry.value, entry.metadata);
  }

  void Set(std::string_view key, std::string_view value, std::string_view metadata) {
    auto [it, inserted] = index_.try_emplace(std::string(key), entries_.size());
    if (inserted) {
      entries_.push_back(
          trace::Baggage::Entry{std::string(key), std::string(value), std::string(metadata)});
    } else {
      entries_[it->second].value.assign(value);
      entries_[it->second].metadata.assign(metadata);
    }
  }

  std::size_t size() const { return entries_.size(); }
  trace::Baggage Build() && { return trace::Baggage::FromEntries(std::move(entries_)); }

 private:
  std::vector<trace::Baggage::Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace minion::propagation::internal
