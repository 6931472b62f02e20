#include "minion/propagation/baggage.h"

#include <memory>

#include "propagation/baggage_builder.h"
#include "propagation/text_util.h"

namespace minion::propagation {
namespace internal {
namespace {

// W3C baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: printable ASCII except
// space, '"', ',', ';' and '\'. '%' is an octet too, but we escape it so decoding is lossless.
bool IsBaggageOctet(unsigned char c) {
  return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\' && c != '%';
}

}  // namespace

namespace {

// RFC 7230 token characters: what a baggage key (and a property key) may contain.
bool IsTokenChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case ',':
    case '/':
    case ':':
    case ';':
    case '<':
    case '=':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '{':
    case '}':
    case '"':
      return false;
    default:
      return true;
  }
}

template <typename Keep>
std::string Encode(std::string_view s, Keep keep) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (keep(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0x0f]);
    }
  }
  return out;
}

}  // namespace

std::string PercentEncode(std::string_view s) { return Encode(s, IsBaggageOctet); }

std::string PercentEncodeKey(std::string_view s) {
  return Encode(s, [](unsigned char c) { return IsTokenChar(c) && c != '%'; });
}

bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  out->reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = HexValue(s[i + 1], /*allow_upper=*/true);
    const int lo = HexValue(s[i + 2], /*allow_upper=*/true);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return true;
}

}  // namespace internal

namespace {

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!internal::IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Trims each ';'-separated property, drops empty ones; false if a property is malformed.
bool NormalizeProperties(std::string_view props, std::string* out) {
  out->clear();
  while (true) {
    const std::size_t semi = props.find(';');
    std::string_view prop = internal::TrimOws(props.substr(0, semi));
    if (!prop.empty()) {
      const std::size_t eq = prop.find('=');
      std::string_view key = internal::TrimOws(prop.substr(0, eq));
      if (!IsToken(key)) return false;
      if (!out->empty()) out->push_back(';');
      out->append(key);
      if (eq != std::string_view::npos) {
        out->push_back('=');
        out->append(internal::TrimOws(prop.substr(eq + 1)));
      }
    }
    if (semi == std::string_view::npos) return true;
    props.remove_prefix(semi + 1);
  }
}

}  // namespace

std::string W3CBaggagePropagator::Serialize(const trace::Baggage& baggage) {
  std::string header;
  std::size_t count = 0;
  for (const auto& entry : baggage.entries()) {
    if (count == kMaxEntries) break;
    if (entry.key.empty()) continue;
    std::string member = internal::PercentEncodeKey(entry.key);
    member.push_back('=');
    member.append(internal::PercentEncode(entry.value));
    if (!entry.metadata.empty()) {
      // Metadata is sent as given: it already is property syntax ("k=v;flag").
      member.push_back(';');
      member.append(entry.metadata);
    }
    if (member.size() > kMaxEntryBytes) continue;
    const std::size_t grown = header.size() + (header.empty() ? 0 : 1) + member.size();
    // Entries that would break the total are left out; smaller later ones may still fit.
    if (grown > kMaxTotalBytes) continue;
    if (!header.empty()) header.push_back(',');
    header.append(member);
    ++count;
  }
  return header;
}

trace::Baggage W3CBaggagePropagator::Parse(std::string_view header) {
  internal::BaggageBuilder baggage;
  if (header.size() > kMaxTotalBytes) return trace::Baggage();
  std::size_t count = 0;
  std::string key;
  std::string value;
  std::string metadata;
  while (count < kMaxEntries) {
    const std::size_t comma = header.find(',');
    std::string_view member = header.substr(0, comma);
    const std::size_t semi = member.find(';');
    std::string_view pair = member.substr(0, semi);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && member.size() <= kMaxEntryBytes) {
      std::string_view raw_key = internal::TrimOws(pair.substr(0, eq));
      std::string_view raw_value = internal::TrimOws(pair.substr(eq + 1));
      const bool ok = !raw_key.empty() && internal::PercentDecode(raw_key, &key) && !key.empty() &&
                      internal::PercentDecode(raw_value, &value) &&
                      (semi == std::string_view::npos ||
                       NormalizeProperties(member.substr(semi + 1), &metadata));
      if (ok) {
        if (semi == std::string_view::npos) metadata.clear();
        baggage.Set(key, value, metadata);
        ++count;
      }
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return std::move(baggage).Build();
}

void W3CBaggagePropagator::Inject(const trace::Context& context,
                                  trace::TextMapCarrier& carrier) const {
  const auto& baggage = context.baggage_ptr();
  if (baggage == nullptr || baggage->empty()) return;
  std::string header = Serialize(*baggage);
  if (!header.empty()) carrier.Set(kBaggageHeader, header);
}

trace::Context W3CBaggagePropagator::Extract(const trace::TextMapCarrier& carrier,
                                             const trace::Context& context) const {
  const auto header = carrier.Get(kBaggageHeader);
  if (!header || header->empty()) return context;
  trace::Baggage baggage = Parse(*header);
  if (baggage.empty()) return context;
  return context.WithBaggage(std::move(baggage));
}

std::vector<std::string> W3CBaggagePropagator::Fields() const { return {kBaggageHeader}; }

}  // namespace minion::propagation
