#pragma once
// W3C Baggage propagator: the `baggage` header. Keys and values are percent-encoded on inject
// and decoded on extract; properties after ';' travel as the entry's metadata. Limits follow
// the W3C baggage specification as OpenTelemetry implements it: at most 180 entries, 4096 bytes
// per entry and 8192 bytes in total; entries beyond them are left out on inject and ignored on
// extract. Malformed entries are skipped, never fatal. Thread-safe and stateless.

#include <string>
#include <string_view>
#include <vector>

#include "minion/trace/baggage.h"
#include "minion/trace/propagation.h"

namespace minion::propagation {

class W3CBaggagePropagator final : public trace::TextMapPropagator {
 public:
  static constexpr const char* kBaggageHeader = "baggage";
  static constexpr std::size_t kMaxEntries = 180;
  static constexpr std::size_t kMaxEntryBytes = 4096;
  static constexpr std::size_t kMaxTotalBytes = 8192;

  // Injects nothing when the context's baggage is empty.
  void Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const override;
  // Replaces the context's baggage with the header's entries when it has at least one valid
  // entry; otherwise returns `context` unchanged.
  trace::Context Extract(const trace::TextMapCarrier& carrier,
                         const trace::Context& context) const override;
  std::vector<std::string> Fields() const override;

  // The header value for `baggage` (empty when there is nothing to send).
  static std::string Serialize(const trace::Baggage& baggage);
  // Parses a header value; malformed entries are skipped. Duplicate keys: the last one wins.
  static trace::Baggage Parse(std::string_view header);
};

namespace internal {
// Percent-encodes every byte outside the W3C baggage-octet set, plus '%' itself.
std::string PercentEncode(std::string_view s);
// Percent-encodes every byte that is not an RFC 7230 token character (keys must be tokens).
std::string PercentEncodeKey(std::string_view s);
// Decodes %XX sequences (either hex case); false on a malformed escape. '+' stays '+'.
bool PercentDecode(std::string_view s, std::string* out);
}  // namespace internal

}  // namespace minion::propagation
