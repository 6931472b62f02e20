#include "minion/trace/ids.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <random>

namespace minion::trace {
namespace internal {

void BytesToHex(const std::uint8_t* bytes, std::size_t n, char* out) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
}

namespace {
// -1 for anything but 0-9a-f: W3C ids are lower-case only.
constexpr std::int8_t HexValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<std::int8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::int8_t>(c - 'a' + 10);
  return -1;
}
}  // namespace

bool HexToBytes(std::string_view hex, std::uint8_t* out, std::size_t n) noexcept {
  if (hex.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int8_t hi = HexValue(hex[2 * i]);
    const std::int8_t lo = HexValue(hex[2 * i + 1]);
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace internal

namespace {

// xoshiro256** (Blackman & Vigna): fast, 256-bit state, good statistical quality. The state is
// a trivially constructible thread_local, seeded on first use: a thread_local with a
// constructor costs a TLS-init call on every access, which showed up in the per-span profile.
struct Xoshiro256 {
  std::uint64_t s[4];
  bool seeded;

  void Seed() noexcept {
    std::random_device rd;
    // Mix in time and a per-thread counter too: random_device may be deterministic on some
    // platforms, and two threads must never share a stream.
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t seed =
        (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (counter.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ULL);
    for (auto& word : s) word = SplitMix(seed);
    seeded = true;
  }

  std::uint64_t Next() noexcept {
    const std::uint64_t result = Rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }

  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t SplitMix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

constinit thread_local Xoshiro256 tls_rng{};

// A forked child inherits the forking thread's stream and would repeat its parent's ids:
// make it reseed.
void ReseedInChild() { tls_rng.seeded = false; }

Xoshiro256& ThreadRng() noexcept {
  Xoshiro256& rng = tls_rng;
  if (__builtin_expect(!rng.seeded, 0)) {
    static const bool registered = pthread_atfork(nullptr, nullptr, ReseedInChild) == 0;
    (void)registered;
    rng.Seed();
  }
  return rng;
}

std::uint64_t NonZero(Xoshiro256& rng) {
  std::uint64_t v;
  do {
    v = rng.Next();
  } while (v == 0);
  return v;
}

}  // namespace

TraceId RandomIdGenerator::GenerateTraceId() noexcept {
  auto& rng = ThreadRng();
  std::uint64_t parts[2] = {rng.Next(), NonZero(rng)};  // the second half alone is never zero
  return TraceId(reinterpret_cast<const std::uint8_t*>(parts));
}

SpanId RandomIdGenerator::GenerateSpanId() noexcept {
  std::uint64_t v = NonZero(ThreadRng());
  return SpanId(reinterpret_cast<const std::uint8_t*>(&v));
}

IdGenerator& DefaultIdGenerator() {
  static RandomIdGenerator* generator = new RandomIdGenerator();  // leaked: used at exit too
  return *generator;
}

}  // namespace minion::trace
