#pragma once
// Small ASCII helpers shared by the propagators (private to src/propagation).

#include <cstdint>
#include <string>
#include <string_view>

namespace minion::propagation::internal {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// RFC 7230 optional whitespace: spaces and horizontal tabs.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Value of a hex digit; `allow_upper` for formats (Jaeger) whose clients emit either case.
inline int HexValue(char c, bool allow_upper) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (allow_upper && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses up to 2*N hex digits right-aligned into N bytes (left-padding with zeros), as B3 and
// Jaeger do for short ids. False on an empty, too long or non-hex input.
template <std::size_t N>
bool ParsePaddedHex(std::string_view hex, std::uint8_t* out, bool allow_upper) {
  if (hex.empty() || hex.size() > 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) out[i] = 0;
  std::size_t nibble = 2 * N - hex.size();  // index of the first written nibble
  for (char c : hex) {
    const int v = HexValue(c, allow_upper);
    if (v < 0) return false;
    if (nibble % 2 == 0) {
      out[nibble / 2] = static_cast<std::uint8_t>(v << 4);
    } else {
      out[nibble / 2] = static_cast<std::uint8_t>(out[nibble / 2] | v);
    }
    ++nibble;
  }
  return true;
}

}  // namespace minion::propagation::internal
