#include "minion/trace/attribute.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

namespace minion::trace {
namespace {

// Truncates to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view Truncate(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

template <typename T>
T& Ensure(AttributeValue& out) {
  if (auto* p = std::get_if<T>(&out)) return *p;
  return out.emplace<T>();
}

}  // namespace

AttributeValueView::AttributeValueView(const AttributeValue& v) : v_(false) {
  std::visit(
      [this](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          v_ = std::string_view(x);
        else if constexpr (std::is_same_v<T, std::vector<bool>>)
          v_ = &x;
        else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
          v_ = std::span<const std::int64_t>(x);
        else if constexpr (std::is_same_v<T, std::vector<double>>)
          v_ = std::span<const double>(x);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          v_ = std::span<const std::string>(x);
        else
          v_ = x;
      },
      v);
}

AttributeType TypeOf(const AttributeValue& v) { return static_cast<AttributeType>(v.index()); }

void AssignAttributeValue(AttributeValue& out, const AttributeValueView& view,
                          std::size_t max_length) {
  // A switch on the index rather than std::visit: this runs for every attribute of every span,
  // and the scalar and string cases (nearly all of them) stay branch-predictable and inline.
  const auto& v = view.storage();
  switch (v.index()) {
    case 0:
      out = *std::get_if<0>(&v);
      return;
    case 1:
      if (auto* p = std::get_if<std::int64_t>(&out))
        *p = *std::get_if<1>(&v);
      else
        out = *std::get_if<1>(&v);
      return;
    case 2:
      out = *std::get_if<2>(&v);
      return;
    case 3: {
      const std::string_view sv = Truncate(*std::get_if<3>(&v), max_length);
      std::string& s = Ensure<std::string>(out);
      AssignString(s, sv);
      return;
    }
    case 4:
      Ensure<std::vector<bool>>(out) = **std::get_if<4>(&v);
      return;
    case 5: {
      auto x = *std::get_if<5>(&v);
      Ensure<std::vector<std::int64_t>>(out).assign(x.begin(), x.end());
      return;
    }
    case 6: {
      auto x = *std::get_if<6>(&v);
      Ensure<std::vector<double>>(out).assign(x.begin(), x.end());
      return;
    }
    case 7: {
      auto x = *std::get_if<7>(&v);
      auto& vec = Ensure<std::vector<std::string>>(out);
      vec.resize(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) vec[i].assign(Truncate(x[i], max_length));
      return;
    }
    case 8: {
      auto x = *std::get_if<8>(&v);
      auto& vec = Ensure<std::vector<std::string>>(out);
      vec.resize(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) vec[i].assign(Truncate(x[i], max_length));
      return;
    }
  }
}

std::string AttributeValueToString(const AttributeValue& v) {
  auto scalar = [](const auto& x) -> std::string {
    using T = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<T, bool>)
      return x ? "true" : "false";
    else if constexpr (std::is_same_v<T, std::int64_t>)
      return std::to_string(x);
    else if constexpr (std::is_same_v<T, double>) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", x);
      return buf;
    } else
      return std::string(x);
  };
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<bool>> ||
                      std::is_same_v<T, std::vector<std::int64_t>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          std::string s = "[";
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) s += ", ";
            if constexpr (std::is_same_v<T, std::vector<bool>>)
              s += x[i] ? "true" : "false";
            else
              s += scalar(x[i]);
          }
          return s + "]";
        } else {
          return scalar(x);
        }
      },
      v);
}

bool AttributeList::Set(std::string_view key, const AttributeValueView& value,
                        std::uint32_t max_count, std::size_t max_value_length) {
  if (key.empty()) return false;  // the specification forbids empty keys
  for (std::size_t i = 0; i < size_; ++i) {
    if (slots_[i].key == key) {
      AssignAttributeValue(slots_[i].value, value, max_value_length);
      return true;
    }
  }
  if (size_ >= max_count) {
    ++dropped_;
    return false;
  }
  if (size_ == slots_.size()) {
    if (slots_.empty()) slots_.reserve(8);
    slots_.emplace_back();
  }
  Attribute& slot = slots_[size_++];
  // A recycled record usually gets the same keys in the same order as last time: when the
  // slot already holds this key, the copy is skipped.
  if (slot.key.size() != key.size() || std::memcmp(slot.key.data(), key.data(), key.size()) != 0)
    AssignString(slot.key, key);
  AssignAttributeValue(slot.value, value, max_value_length);
  return true;
}

const AttributeValue* AttributeList::Find(std::string_view key) const {
  for (std::size_t i = 0; i < size_; ++i)
    if (slots_[i].key == key) return &slots_[i].value;
  return nullptr;
}

void AttributeList::CopyFrom(const AttributeList& other) {
  slots_.assign(other.begin(), other.end());
  size_ = other.size_;
  dropped_ = other.dropped_;
}

}  // namespace minion::trace
