#include "minion/common/retry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <random>

namespace minion::retry {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil
// algorithm, restated), so Retry-After dates need neither timegm nor the TZ environment.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool ParseUint(std::string_view s, unsigned& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), the form RFC 9110 requires senders to use.
std::optional<std::int64_t> ParseImfFixdateSeconds(std::string_view v) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
      v[19] != ':' || v[22] != ':' || v[25] != ' ' || v.substr(26) != "GMT") {
    return std::nullopt;
  }
  unsigned day, year, hh, mm, ss;
  if (!ParseUint(v.substr(5, 2), day) || !ParseUint(v.substr(12, 4), year) ||
      !ParseUint(v.substr(17, 2), hh) || !ParseUint(v.substr(20, 2), mm) ||
      !ParseUint(v.substr(23, 2), ss)) {
    return std::nullopt;
  }
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i) {
    if (v.substr(8, 3) == kMonths[i]) month = i + 1;
  }
  if (month == 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  return DaysFromCivil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

}  // namespace

double DefaultUniformRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::chrono::nanoseconds Backoff::Ceiling(int retry) const noexcept {
  const double base =
      static_cast<double>(initial.count()) * std::pow(multiplier, std::max(0, retry - 1));
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(std::min(base, static_cast<double>(max.count()))));
}

std::chrono::nanoseconds Backoff::Delay(int retry, double uniform) const noexcept {
  const double base =
      static_cast<double>(initial.count()) * std::pow(multiplier, std::max(0, retry - 1));
  const double ceiling = std::min(base, static_cast<double>(max.count()));
  const double factor = jitter_low + (jitter_high - jitter_low) * std::clamp(uniform, 0.0, 1.0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(0.0, ceiling * factor)));
}

std::chrono::nanoseconds Backoff::Delay(int retry, const UniformRandom& random) const {
  return Delay(retry, random ? random() : DefaultUniformRandom());
}

std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value, UnixNanos now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  std::uint64_t seconds = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (!value.empty() && ec == std::errc() && p == value.data() + value.size()) {
    // Clamp absurd values instead of overflowing; callers bound the wait anyway.
    seconds = std::min<std::uint64_t>(seconds, 365ull * 86400);
    return std::chrono::seconds(seconds);
  }
  const auto when = ParseImfFixdateSeconds(value);
  if (!when) return std::nullopt;
  const auto now_s = static_cast<std::int64_t>(now / 1'000'000'000ULL);
  // A date far in the future (year 4030) would overflow nanoseconds: the same clamp as above.
  return std::chrono::seconds(std::clamp<std::int64_t>(*when - now_s, 0, 365LL * 86400));
}

}  // namespace minion::retry
