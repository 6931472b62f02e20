#pragma once
// Trace and span identifiers (W3C Trace Context: 16 and 8 bytes, all-zero is invalid) and the
// IdGenerator plug-in point. Value types; safe to copy between threads.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace minion::trace {

namespace internal {
// Writes 2*n lower-case hex digits for `bytes` into `out`.
void BytesToHex(const std::uint8_t* bytes, std::size_t n, char* out) noexcept;
// Parses exactly 2*n lower-case hex digits; false on any other character (W3C forbids upper case).
bool HexToBytes(std::string_view hex, std::uint8_t* out, std::size_t n) noexcept;
}  // namespace internal

template <std::size_t N>
class IdBytes {
 public:
  static constexpr std::size_t kSize = N;
  constexpr IdBytes() = default;
  explicit IdBytes(const std::uint8_t* bytes) { std::memcpy(bytes_.data(), bytes, N); }

  bool IsValid() const noexcept {
    // Word-wise: a byte loop here was a fifth of an unsampled span's instructions.
    static_assert(N % 8 == 0);
    std::uint64_t any = 0;
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, bytes_.data() + i, 8);
      any |= word;
    }
    return any != 0;
  }
  const std::array<std::uint8_t, N>& bytes() const noexcept { return bytes_; }
  std::array<std::uint8_t, N>& mutable_bytes() noexcept { return bytes_; }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }

  // Lower-case hex, 2*N characters.
  std::string ToHex() const {
    std::string s(2 * N, '0');
    internal::BytesToHex(bytes_.data(), N, s.data());
    return s;
  }
  void WriteHex(char* out) const noexcept { internal::BytesToHex(bytes_.data(), N, out); }
  // Exactly 2*N lower-case hex digits; all-zero parses (callers decide validity).
  static std::optional<IdBytes> FromHex(std::string_view hex) noexcept {
    IdBytes id;
    if (!internal::HexToBytes(hex, id.bytes_.data(), N)) return std::nullopt;
    return id;
  }

  friend bool operator==(const IdBytes& a, const IdBytes& b) noexcept {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const IdBytes& a, const IdBytes& b) noexcept { return !(a == b); }
  friend bool operator<(const IdBytes& a, const IdBytes& b) noexcept { return a.bytes_ < b.bytes_; }

 private:
  std::array<std::uint8_t, N> bytes_{};
};

using TraceId = IdBytes<16>;
using SpanId = IdBytes<8>;

struct IdHash {
  template <std::size_t N>
  std::size_t operator()(const IdBytes<N>& id) const noexcept {
    std::uint64_t h;  // ids are random: the last 8 bytes are already a good hash
    std::memcpy(&h, id.data() + N - 8, 8);
    return static_cast<std::size_t>(h);
  }
};

// Produces ids for new traces and spans. Implementations must be thread-safe and must never
// return an all-zero id.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual TraceId GenerateTraceId() noexcept = 0;
  virtual SpanId GenerateSpanId() noexcept = 0;
};

// Thread-local xoshiro256** streams seeded from std::random_device: no lock, ~2 ns per id.
// Not cryptographic; ids only need to be unique and uniformly distributed.
class RandomIdGenerator final : public IdGenerator {
 public:
  TraceId GenerateTraceId() noexcept override;
  SpanId GenerateSpanId() noexcept override;
};

// The shared default generator (stateless apart from its thread-local streams).
IdGenerator& DefaultIdGenerator();

}  // namespace minion::trace
