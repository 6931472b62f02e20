#pragma once
// Attribute values as the OpenTelemetry specification defines them: bool, int64, double,
// string, and homogeneous arrays of those.
//
// AttributeValueView is what the API takes (non-owning, no allocation to build one);
// AttributeValue is what a span stores. AttributeList stores key/value pairs in slots that are
// reused when a span record is recycled, so a warmed-up process sets attributes without
// allocating.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace minion::trace {

enum class AttributeType : std::uint8_t {
  kBool,
  kInt64,
  kDouble,
  kString,
  kBoolArray,
  kInt64Array,
  kDoubleArray,
  kStringArray,
};

using AttributeValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

class AttributeValueView {
 public:
  using Storage =
      std::variant<bool, std::int64_t, double, std::string_view, const std::vector<bool>*,
                   std::span<const std::int64_t>, std::span<const double>,
                   std::span<const std::string>, std::span<const std::string_view>>;

  AttributeValueView(bool v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  template <typename I,
            std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  AttributeValueView(I v) : v_(static_cast<std::int64_t>(v)) {}          // NOLINT
  AttributeValueView(double v) : v_(v) {}                                // NOLINT
  AttributeValueView(float v) : v_(static_cast<double>(v)) {}            // NOLINT
  AttributeValueView(std::string_view v) : v_(v) {}                      // NOLINT
  AttributeValueView(const char* v) : v_(std::string_view(v)) {}         // NOLINT: not a bool
  AttributeValueView(const std::string& v) : v_(std::string_view(v)) {}  // NOLINT
  AttributeValueView(const std::vector<bool>& v) : v_(&v) {}             // NOLINT
  AttributeValueView(std::span<const std::int64_t> v) : v_(v) {}         // NOLINT
  AttributeValueView(const std::vector<std::int64_t>& v)
      : v_(std::span<const std::int64_t>(v)) {}                                         // NOLINT
  AttributeValueView(std::span<const double> v) : v_(v) {}                              // NOLINT
  AttributeValueView(const std::vector<double>& v) : v_(std::span<const double>(v)) {}  // NOLINT
  AttributeValueView(std::span<const std::string> v) : v_(v) {}                         // NOLINT
  AttributeValueView(const std::vector<std::string>& v)
      : v_(std::span<const std::string>(v)) {}                        // NOLINT
  AttributeValueView(std::span<const std::string_view> v) : v_(v) {}  // NOLINT
  AttributeValueView(const AttributeValue& v);  // NOLINT: view of a stored value

  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

struct KeyValueView {
  std::string_view key;
  AttributeValueView value;
};

struct Attribute {
  std::string key;
  AttributeValue value;
};

AttributeType TypeOf(const AttributeValue& v);
// Copies `value` into `out` reusing its buffer. libstdc++'s assign() goes through the general
// _M_replace (aliasing checks, ~50 instructions); a resize to the same length is a no-op, which
// is the common case on a recycled span record.
inline void AssignString(std::string& out, std::string_view value) {
  out.resize(value.size());
  if (!value.empty()) std::char_traits<char>::copy(out.data(), value.data(), value.size());
}
// Copies `view` into `out`, truncating strings to `max_length` bytes (on a UTF-8 boundary).
void AssignAttributeValue(AttributeValue& out, const AttributeValueView& view,
                          std::size_t max_length = std::numeric_limits<std::size_t>::max());
// Human-readable rendering (strings unquoted, arrays as [a, b]); for the stdout exporter and logs.
std::string AttributeValueToString(const AttributeValue& v);

// An ordered set of attributes with unique keys. Setting an existing key replaces its value
// (specification); beyond `max_count` new keys are dropped and counted. Not thread-safe.
class AttributeList {
 public:
  static constexpr std::uint32_t kUnlimited = std::numeric_limits<std::uint32_t>::max();

  AttributeList() = default;
  AttributeList(std::initializer_list<KeyValueView> kvs) {
    for (auto& kv : kvs) Set(kv.key, kv.value);
  }

  // Returns false when the attribute was dropped because of `max_count`.
  bool Set(std::string_view key, const AttributeValueView& value,
           std::uint32_t max_count = kUnlimited,
           std::size_t max_value_length = std::numeric_limits<std::size_t>::max());
  const AttributeValue* Find(std::string_view key) const;
  // Keeps the slots' memory for reuse.
  void Clear() noexcept {
    size_ = 0;
    dropped_ = 0;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint32_t dropped() const noexcept { return dropped_; }
  const Attribute* begin() const noexcept { return slots_.data(); }
  const Attribute* end() const noexcept { return slots_.data() + size_; }
  const Attribute& operator[](std::size_t i) const { return slots_[i]; }

  AttributeList(const AttributeList& other) { CopyFrom(other); }
  AttributeList& operator=(const AttributeList& other) {
    if (this != &other) CopyFrom(other);
    return *this;
  }
  AttributeList(AttributeList&&) noexcept = default;
  AttributeList& operator=(AttributeList&&) noexcept = default;

 private:
  void CopyFrom(const AttributeList& other);

  std::vector<Attribute> slots_;  // [0, size_) are live; the rest are kept for reuse
  std::size_t size_ = 0;
  std::uint32_t dropped_ = 0;
};

}  // namespace minion::trace
