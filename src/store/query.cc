#include "minion/store/query.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace minion::store {
namespace {

std::optional<double> ToNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  const std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

AttributeCondition Make(std::string key, CompareOp op, std::string value) {
  AttributeCondition c;
  c.key = std::move(key);
  c.op = op;
  c.number = ToNumber(value);
  if (value == "true") c.boolean = true;
  if (value == "false") c.boolean = false;
  c.text = std::move(value);
  return c;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A JSON value like ">7" or ">= 7.5": a numeric comparison; anything else is literal text.
AttributeCondition FromJsonPair(std::string key, std::string value) {
  for (const auto& [prefix, op] : {std::pair<std::string_view, CompareOp>{">=", CompareOp::kGe},
                                   {"<=", CompareOp::kLe},
                                   {">", CompareOp::kGt},
                                   {"<", CompareOp::kLt}}) {
    if (value.rfind(prefix, 0) == 0) {
      auto rest = Trim(std::string_view(value).substr(prefix.size()));
      if (ToNumber(rest)) return Make(std::move(key), op, std::string(rest));
    }
  }
  return Make(std::move(key), CompareOp::kEq, std::move(value));
}

}  // namespace

Result<std::int64_t> ParseDuration(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return InvalidArgumentError("empty duration");
  if (text == "0") return std::int64_t{0};
  long double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    if (j == i)
      return InvalidArgumentError("bad duration \"" + std::string(text) +
                                  "\": want e.g. 10s, 250ms");
    const auto number = ToNumber(text.substr(i, j - i));
    if (!number) return InvalidArgumentError("bad duration \"" + std::string(text) + "\"");
    std::size_t k = j;
    while (k < text.size() && !std::isdigit(static_cast<unsigned char>(text[k])) && text[k] != '.')
      ++k;
    const std::string_view unit = text.substr(j, k - j);
    long double scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "µs" || unit == "μs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return InvalidArgumentError("bad duration unit \"" + std::string(unit) + "\" in \"" +
                                  std::string(text) + "\": use ns, us, ms, s, m or h");
    total += static_cast<long double>(*number) * scale;
    i = k;
  }
  if (total > 9.2e18L) return InvalidArgumentError("duration too large");
  return static_cast<std::int64_t>(total);
}

Result<std::int64_t> ParseTimeNanos(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return InvalidArgumentError("empty time");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc()) return InvalidArgumentError("time out of range");
    return v;
  }
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)
  auto bad = [&] {
    return InvalidArgumentError(
        "bad time \"" + std::string(text) +
        "\": want RFC 3339 (2026-11-29T17:00:00Z) or nanoseconds since the epoch");
  };
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int Y, M, D, h, m, s;
  if (!num(0, 4, Y) || text.size() < 20 || text[4] != '-' || !num(5, 2, M) || text[7] != '-' ||
      !num(8, 2, D) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !num(11, 2, h) ||
      text[13] != ':' || !num(14, 2, m) || text[16] != ':' || !num(17, 2, s)) {
    return bad();
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60) return bad();
  std::size_t i = 19;
  std::int64_t frac_ns = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::int64_t scale = 100'000'000;
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      frac_ns += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  std::int64_t offset_s = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh, om;
    if (!num(i + 1, 2, oh) || i + 3 >= text.size() || text[i + 3] != ':' || !num(i + 4, 2, om))
      return bad();
    offset_s = (oh * 3600 + om * 60) * (text[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return bad();
  }
  if (i != text.size()) return bad();
  // Days from civil (Howard Hinnant's algorithm).
  const int y = Y - (M <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days =
      static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  const std::int64_t secs = days * 86400 + h * 3600 + m * 60 + s - offset_s;
  return secs * 1'000'000'000 + frac_ns;
}

Result<AttributeCondition> ParseAttributeCondition(std::string_view text) {
  text = Trim(text);
  // The first operator character ends the key (keys are dotted names; they hold no = < >).
  const auto pos = text.find_first_of("=<>");
  if (pos == std::string_view::npos || pos == 0) {
    return InvalidArgumentError(
        "bad attribute condition \"" + std::string(text) +
        "\": want key=value, key>number, key>=number, key<number or key<=number");
  }
  std::string key(Trim(text.substr(0, pos)));
  CompareOp op = CompareOp::kEq;
  std::size_t value_at = pos + 1;
  if (text[pos] == '>' || text[pos] == '<') {
    const bool eq = pos + 1 < text.size() && text[pos + 1] == '=';
    op = text[pos] == '>' ? (eq ? CompareOp::kGe : CompareOp::kGt)
                          : (eq ? CompareOp::kLe : CompareOp::kLt);
    if (eq) ++value_at;
  }
  std::string_view value = Trim(text.substr(value_at));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  AttributeCondition c = Make(std::move(key), op, std::string(value));
  if (op != CompareOp::kEq && !c.number) {
    return InvalidArgumentError("attribute condition \"" + std::string(text) +
                                "\": " + "a comparison needs a number on its right side");
  }
  return c;
}

Result<std::vector<AttributeCondition>> ParseAttributeConditions(std::string_view text) {
  text = Trim(text);
  std::vector<AttributeCondition> out;
  if (text.empty()) return out;
  constexpr std::size_t kMaxConditions = 32;
  if (text.front() == '{') {
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return InvalidArgumentError("attribute conditions: not a JSON object of strings");
    }
    for (auto& [key, value] : json.items()) {
      if (out.size() >= kMaxConditions)
        return InvalidArgumentError("more than 32 attribute conditions");
      if (value.is_string()) {
        out.push_back(FromJsonPair(key, value.get<std::string>()));
      } else if (value.is_number() || value.is_boolean()) {
        out.push_back(FromJsonPair(key, value.dump()));
      } else {
        return InvalidArgumentError("attribute condition \"" + key + "\": value must be a string");
      }
    }
    return out;
  }
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    std::size_t j = i;
    bool quoted = false;
    while (j < text.size() && (quoted || !std::isspace(static_cast<unsigned char>(text[j])))) {
      if (text[j] == '"') quoted = !quoted;
      ++j;
    }
    if (out.size() >= kMaxConditions)
      return InvalidArgumentError("more than 32 attribute conditions");
    MINION_ASSIGN_OR_RETURN(auto c, ParseAttributeCondition(text.substr(i, j - i)));
    out.push_back(std::move(c));
    i = j;
  }
  return out;
}

bool MatchesOperationPattern(std::string_view pattern, std::string_view name) {
  // Iterative glob with '*' only: remember the last star and backtrack to it.
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace minion::store
