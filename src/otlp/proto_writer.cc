#include "otlp/proto_writer.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <variant>

#include "minion/otlp/encoder.h"
#include "otlp/utf8.h"

namespace minion::otlp::internal {
namespace {

using trace::AttributeList;
using trace::AttributeValue;

constexpr std::uint32_t kWireVarint = 0;
constexpr std::uint32_t kWireFixed64 = 1;
constexpr std::uint32_t kWireLen = 2;
constexpr std::uint32_t kWireFixed32 = 5;

inline std::size_t VarintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// Field numbers here are all < 2048, so a tag takes one byte below 16 and two otherwise.
inline std::size_t TagSize(std::uint32_t field) { return field < 16 ? 1 : 2; }
inline std::size_t LenFieldSize(std::uint32_t field, std::size_t len) {
  return TagSize(field) + VarintSize(len) + len;
}

// Size of `s` once written (repaired when it is not valid UTF-8, which is rare).
inline std::size_t TextSize(std::string_view s) {
  return IsValidUtf8(s) ? s.size() : RepairUtf8(s).size();
}
inline std::size_t TextFieldSize(std::uint32_t field, std::string_view s) {
  return s.empty() ? 0 : LenFieldSize(field, TextSize(s));
}

class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  char* pos() const { return p_; }

  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Tag(std::uint32_t field, std::uint32_t wire) { Varint((field << 3) | wire); }
  void LenHeader(std::uint32_t field, std::size_t len) {
    Tag(field, kWireLen);
    Varint(len);
  }
  void Raw(const void* data, std::size_t n) {
    std::memcpy(p_, data, n);
    p_ += n;
  }
  void Fixed64(std::uint32_t field, std::uint64_t v) {
    Tag(field, kWireFixed64);
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  void Fixed32(std::uint32_t field, std::uint32_t v) {
    Tag(field, kWireFixed32);
    for (int i = 0; i < 4; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  void Bytes(std::uint32_t field, const void* data, std::size_t n) {
    LenHeader(field, n);
    Raw(data, n);
  }
  // Always written (oneof members and non-empty strings).
  void Text(std::uint32_t field, std::string_view s) {
    if (IsValidUtf8(s)) {
      Bytes(field, s.data(), s.size());
    } else {
      const std::string fixed = RepairUtf8(s);
      Bytes(field, fixed.data(), fixed.size());
    }
  }
  // proto3 implicit presence: empty strings are not written.
  void OptionalText(std::uint32_t field, std::string_view s) {
    if (!s.empty()) Text(field, s);
  }
  void OptionalVarint(std::uint32_t field, std::uint64_t v) {
    if (v != 0) {
      Tag(field, kWireVarint);
      Varint(v);
    }
  }

 private:
  char* p_;
};

// --- AnyValue / ArrayValue -------------------------------------------------------------------

// AnyValue fields: string 1, bool 2, int 3, double 4, array 5.
std::size_t ArrayElementsSize(const AttributeValue& v) {
  std::size_t n = 0;
  if (const auto* a = std::get_if<std::vector<bool>>(&v)) {
    n = a->size() * LenFieldSize(1, 2);
  } else if (const auto* a = std::get_if<std::vector<std::int64_t>>(&v)) {
    for (auto x : *a) n += LenFieldSize(1, 1 + VarintSize(static_cast<std::uint64_t>(x)));
  } else if (const auto* a = std::get_if<std::vector<double>>(&v)) {
    n = a->size() * LenFieldSize(1, 9);
  } else if (const auto* a = std::get_if<std::vector<std::string>>(&v)) {
    for (const auto& s : *a) n += LenFieldSize(1, LenFieldSize(1, TextSize(s)));
  }
  return n;
}

std::size_t AnyValueSize(const AttributeValue& v) {
  switch (v.index()) {
    case 0:
      return 2;
    case 1:
      return 1 + VarintSize(static_cast<std::uint64_t>(std::get<std::int64_t>(v)));
    case 2:
      return 9;
    case 3:
      return LenFieldSize(1, TextSize(std::get<std::string>(v)));
    default:
      return LenFieldSize(5, ArrayElementsSize(v));
  }
}

void WriteAnyValue(Writer& w, const AttributeValue& v) {
  switch (v.index()) {
    case 0:
      w.Tag(2, kWireVarint);
      w.Varint(std::get<bool>(v) ? 1 : 0);
      return;
    case 1:
      w.Tag(3, kWireVarint);
      w.Varint(static_cast<std::uint64_t>(std::get<std::int64_t>(v)));
      return;
    case 2: {
      std::uint64_t bits;
      const double d = std::get<double>(v);
      std::memcpy(&bits, &d, 8);
      w.Fixed64(4, bits);
      return;
    }
    case 3:
      w.Text(1, std::get<std::string>(v));
      return;
    default:
      break;
  }
  w.LenHeader(5, ArrayElementsSize(v));
  if (const auto* a = std::get_if<std::vector<bool>>(&v)) {
    for (bool x : *a) {
      w.LenHeader(1, 2);
      w.Tag(2, kWireVarint);
      w.Varint(x ? 1 : 0);
    }
  } else if (const auto* a = std::get_if<std::vector<std::int64_t>>(&v)) {
    for (auto x : *a) {
      w.LenHeader(1, 1 + VarintSize(static_cast<std::uint64_t>(x)));
      w.Tag(3, kWireVarint);
      w.Varint(static_cast<std::uint64_t>(x));
    }
  } else if (const auto* a = std::get_if<std::vector<double>>(&v)) {
    for (double x : *a) {
      std::uint64_t bits;
      std::memcpy(&bits, &x, 8);
      w.LenHeader(1, 9);
      w.Fixed64(4, bits);
    }
  } else if (const auto* a = std::get_if<std::vector<std::string>>(&v)) {
    for (const auto& s : *a) {
      w.LenHeader(1, LenFieldSize(1, TextSize(s)));
      w.Text(1, s);
    }
  }
}

// --- KeyValue lists --------------------------------------------------------------------------

inline std::size_t KeyValueSize(const trace::Attribute& a) {
  return TextFieldSize(1, a.key) + LenFieldSize(2, AnyValueSize(a.value));
}

std::size_t AttributesSize(std::uint32_t field, const AttributeList& attrs) {
  std::size_t n = 0;
  for (const auto& a : attrs) n += LenFieldSize(field, KeyValueSize(a));
  return n;
}

void WriteAttributes(Writer& w, std::uint32_t field, const AttributeList& attrs) {
  for (const auto& a : attrs) {
    w.LenHeader(field, KeyValueSize(a));
    w.OptionalText(1, a.key);
    w.LenHeader(2, AnyValueSize(a.value));
    WriteAnyValue(w, a.value);
  }
}

// --- Span ------------------------------------------------------------------------------------

std::string TraceStateHeader(const std::shared_ptr<const trace::TraceState>& ts) {
  return (ts && !ts->empty()) ? ts->ToHeader() : std::string();
}

std::size_t EventSize(const trace::SpanEvent& e) {
  return (e.time != 0 ? 9 : 0) + TextFieldSize(2, e.name) + AttributesSize(3, e.attributes) +
         (e.attributes.dropped() != 0 ? 1 + VarintSize(e.attributes.dropped()) : 0);
}

std::size_t LinkSize(const trace::SpanLink& l, std::size_t trace_state_size) {
  return LenFieldSize(1, 16) + LenFieldSize(2, 8) +
         (trace_state_size != 0 ? LenFieldSize(3, trace_state_size) : 0) +
         AttributesSize(4, l.attributes) +
         (l.attributes.dropped() != 0 ? 1 + VarintSize(l.attributes.dropped()) : 0) + 5;
}

std::size_t StatusSize(const trace::SpanData& s) {
  return TextFieldSize(2, s.status_description) +
         (s.status != trace::SpanStatusCode::kUnset ? 2 : 0);
}

// Everything that varies per span, computed once and reused by the write pass.
struct SpanPlan {
  std::size_t size = 0;
  std::string trace_state;
};

std::size_t SpanSize(const trace::SpanData& s, const std::string& trace_state) {
  std::size_t n = LenFieldSize(1, 16) + LenFieldSize(2, 8);
  n += TextFieldSize(3, trace_state);
  if (s.parent_span_id.IsValid()) n += LenFieldSize(4, 8);
  n += TextFieldSize(5, s.name);
  n += 2;  // kind: never 0 for a SpanKind
  if (s.start_time != 0) n += 9;
  if (s.end_time != 0) n += 9;
  n += AttributesSize(9, s.attributes);
  if (s.attributes.dropped() != 0) n += 1 + VarintSize(s.attributes.dropped());
  for (const auto& e : s.events) n += LenFieldSize(11, EventSize(e));
  if (s.dropped_events != 0) n += 1 + VarintSize(s.dropped_events);
  for (const auto& l : s.links) {
    n += LenFieldSize(13, LinkSize(l, TextSize(TraceStateHeader(l.context.trace_state_ptr()))));
  }
  if (s.dropped_links != 0) n += 1 + VarintSize(s.dropped_links);
  if (const std::size_t st = StatusSize(s); st != 0) n += LenFieldSize(15, st);
  n += 2 + 4;  // flags: field 16 needs a two-byte tag; never 0 (HAS_IS_REMOTE is always set)
  return n;
}

void WriteSpan(Writer& w, const trace::SpanData& s, const SpanPlan& plan) {
  w.Bytes(1, s.trace_id.data(), 16);
  w.Bytes(2, s.span_id.data(), 8);
  w.OptionalText(3, plan.trace_state);
  if (s.parent_span_id.IsValid()) w.Bytes(4, s.parent_span_id.data(), 8);
  w.OptionalText(5, s.name);
  w.Tag(6, kWireVarint);
  w.Varint(static_cast<std::uint64_t>(s.kind));
  if (s.start_time != 0) w.Fixed64(7, s.start_time);
  if (s.end_time != 0) w.Fixed64(8, s.end_time);
  WriteAttributes(w, 9, s.attributes);
  w.OptionalVarint(10, s.attributes.dropped());
  for (const auto& e : s.events) {
    w.LenHeader(11, EventSize(e));
    if (e.time != 0) w.Fixed64(1, e.time);
    w.OptionalText(2, e.name);
    WriteAttributes(w, 3, e.attributes);
    w.OptionalVarint(4, e.attributes.dropped());
  }
  w.OptionalVarint(12, s.dropped_events);
  for (const auto& l : s.links) {
    const std::string ts = TraceStateHeader(l.context.trace_state_ptr());
    w.LenHeader(13, LinkSize(l, TextSize(ts)));
    w.Bytes(1, l.context.trace_id().data(), 16);
    w.Bytes(2, l.context.span_id().data(), 8);
    w.OptionalText(3, ts);
    WriteAttributes(w, 4, l.attributes);
    w.OptionalVarint(5, l.attributes.dropped());
    w.Fixed32(6, SpanFlagsFor(l.context.trace_flags(), l.context.IsRemote()));
  }
  w.OptionalVarint(14, s.dropped_links);
  if (const std::size_t st = StatusSize(s); st != 0) {
    w.LenHeader(15, st);
    w.OptionalText(2, s.status_description);
    w.OptionalVarint(3, static_cast<std::uint64_t>(s.status));
  }
  w.Fixed32(16, SpanFlagsFor(s.flags, s.parent_is_remote));
}

// --- Resource / scope ------------------------------------------------------------------------

const trace::Resource& ResourceOrEmpty(const trace::Resource* r) {
  static const trace::Resource kEmpty;
  return r != nullptr ? *r : kEmpty;
}
const trace::InstrumentationScope& ScopeOrEmpty(const trace::InstrumentationScope* s) {
  static const trace::InstrumentationScope kEmpty;
  return s != nullptr ? *s : kEmpty;
}

std::size_t ResourceSize(const trace::Resource& r) {
  return AttributesSize(1, r.attributes) +
         (r.attributes.dropped() != 0 ? 1 + VarintSize(r.attributes.dropped()) : 0);
}

std::size_t ScopeSize(const trace::InstrumentationScope& s) {
  return TextFieldSize(1, s.name) + TextFieldSize(2, s.version) + AttributesSize(3, s.attributes) +
         (s.attributes.dropped() != 0 ? 1 + VarintSize(s.attributes.dropped()) : 0);
}

}  // namespace

Status WriteTraceRequest(const std::vector<ResourceGroup>& groups, std::string& out) {
  // Pass 1: sizes, bottom-up, remembering each span's plan and each group's body size.
  std::vector<SpanPlan> plans;
  std::vector<std::size_t> scope_sizes;
  std::vector<std::size_t> resource_sizes;
  std::size_t total = 0;
  for (const auto& rg : groups) {
    const trace::Resource& resource = ResourceOrEmpty(rg.resource);
    std::size_t rs_size = LenFieldSize(1, ResourceSize(resource));
    for (const auto& sg : rg.scopes) {
      const trace::InstrumentationScope& scope = ScopeOrEmpty(sg.scope);
      std::size_t ss_size = LenFieldSize(1, ScopeSize(scope));
      for (const trace::SpanData* span : sg.spans) {
        SpanPlan plan;
        plan.trace_state = TraceStateHeader(span->trace_state);
        plan.size = SpanSize(*span, plan.trace_state);
        ss_size += LenFieldSize(2, plan.size);
        plans.push_back(std::move(plan));
      }
      ss_size += TextFieldSize(3, scope.schema_url);
      scope_sizes.push_back(ss_size);
      rs_size += LenFieldSize(2, ss_size);
    }
    rs_size += TextFieldSize(3, resource.schema_url);
    resource_sizes.push_back(rs_size);
    total += LenFieldSize(1, rs_size);
  }
  if (total > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return ResourceExhaustedError("OTLP request of " + std::to_string(total) +
                                  " bytes exceeds protobuf's 2 GiB message limit");
  }

  // Pass 2: write into the exact space.
  const std::size_t start = out.size();
  out.resize(start + total);
  Writer w(out.data() + start);
  std::size_t plan_i = 0, scope_i = 0, resource_i = 0;
  for (const auto& rg : groups) {
    const trace::Resource& resource = ResourceOrEmpty(rg.resource);
    w.LenHeader(1, resource_sizes[resource_i++]);
    w.LenHeader(1, ResourceSize(resource));
    WriteAttributes(w, 1, resource.attributes);
    w.OptionalVarint(2, resource.attributes.dropped());
    for (const auto& sg : rg.scopes) {
      const trace::InstrumentationScope& scope = ScopeOrEmpty(sg.scope);
      w.LenHeader(2, scope_sizes[scope_i++]);
      w.LenHeader(1, ScopeSize(scope));
      w.OptionalText(1, scope.name);
      w.OptionalText(2, scope.version);
      WriteAttributes(w, 3, scope.attributes);
      w.OptionalVarint(4, scope.attributes.dropped());
      for (const trace::SpanData* span : sg.spans) {
        const SpanPlan& plan = plans[plan_i++];
        w.LenHeader(2, plan.size);
        WriteSpan(w, *span, plan);
      }
      w.OptionalText(3, scope.schema_url);
    }
    w.OptionalText(3, resource.schema_url);
  }
  if (w.pos() != out.data() + out.size()) {
    // A size/write mismatch is a bug here, never bad input; fail loudly rather than send junk.
    out.resize(start);
    return InternalError("OTLP protobuf writer size mismatch (bug)");
  }
  return Status::Ok();
}

}  // namespace minion::otlp::internal
