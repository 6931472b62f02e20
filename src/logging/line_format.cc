#include "logging/line_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "minion/logging/redact.h"

namespace minion::logging {
namespace internal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the byte there does not
// start one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (i + k >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return b >= lo && b <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (b0 == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool IsReservedKey(std::string_view key) {
  return key == "time" || key == "level" || key == "message" || key == "component" ||
         key == "trace_id" || key == "span_id" || key == "task_id" || key == "agent_id" ||
         key == "subtask";
}

void AppendDouble(std::string& out, double v, bool json) {
  if (!std::isfinite(v)) {
    out += json ? "null" : (std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

// Secrets are redacted before escaping, so the escaping sees the final text.
void AppendRedacted(std::string& out, std::string_view text, bool json) {
  std::string redacted;
  const std::string_view s = RedactSecretsTo(text, redacted) ? std::string_view(redacted) : text;
  if (json) {
    AppendJsonEscaped(out, s);
  } else {
    AppendTextEscaped(out, s);
  }
}

void AppendJsonMember(std::string& out, std::string_view key) {
  out += ",\"";
  AppendJsonEscaped(out, key);
  out += "\":";
}

void AppendFieldValue(std::string& out, const Field& f, bool json) {
  if (const auto* s = std::get_if<std::string_view>(&f.value)) {
    if (json) out += '"';
    if (IsSecretKey(f.key)) {
      out += kRedacted;
    } else if (json) {
      AppendRedacted(out, *s, true);
    } else {
      const bool quote = s->empty() || s->find_first_of(" \"=") != std::string_view::npos;
      if (quote) out += '"';
      AppendRedacted(out, *s, false);
      if (quote) out += '"';
    }
    if (json) out += '"';
  } else if (const auto* i = std::get_if<std::int64_t>(&f.value)) {
    AppendInt(out, *i);
  } else if (const auto* d = std::get_if<double>(&f.value)) {
    AppendDouble(out, *d, json);
  } else {
    out += std::get<bool>(f.value) ? "true" : "false";
  }
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Copy the run of plain ASCII at once.
      std::size_t j = i + 1;
      while (j < text.size()) {
        const auto d = static_cast<unsigned char>(text[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out.append(text.data() + i, j - i);
      i = j;
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
      }
      ++i;
    } else {
      const std::size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
    }
  }
}

void AppendTextEscaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
      }
      ++i;
    } else {
      const std::size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
    }
  }
}

void AppendRfc3339(std::string& out, UnixNanos t) {
  // gmtime_r is the costly part; each thread keeps the formatted second it saw last.
  thread_local std::uint64_t cached_second = ~0ULL;
  thread_local char cached[64];
  const std::uint64_t second = t / 1'000'000'000ULL;
  if (second != cached_second) {
    const auto tt = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  out.append(cached, 19);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06u", static_cast<unsigned>((t % 1'000'000'000ULL) / 1000));
  out.append(frac, 7);
  out += 'Z';
}

std::string FormatLine(const LineInput& in) {
  std::string out;
  out.reserve(160 + in.message.size());
  const bool json = in.format == Format::kJson;
  char trace_hex[32];
  char span_hex[16];
  const bool has_span = in.span != nullptr && in.span->IsValid();
  if (has_span) {
    in.span->trace_id().WriteHex(trace_hex);
    in.span->span_id().WriteHex(span_hex);
  }
  const LogContextFields empty;
  const LogContextFields& ctx = in.context ? *in.context : empty;

  if (json) {
    out += "{\"time\":\"";
    AppendRfc3339(out, in.time);
    out += "\",\"level\":\"";
    out += LevelName(in.level);
    out += "\",\"message\":\"";
    AppendRedacted(out, in.message, true);
    out += "\",\"component\":\"";
    AppendJsonEscaped(out, in.component);
    out += '"';
    if (has_span) {
      out += ",\"trace_id\":\"";
      out.append(trace_hex, 32);
      out += "\",\"span_id\":\"";
      out.append(span_hex, 16);
      out += '"';
    }
    auto ctx_field = [&](std::string_view key, const std::string& value) {
      if (value.empty()) return;
      AppendJsonMember(out, key);
      out += '"';
      AppendJsonEscaped(out, value);
      out += '"';
    };
    ctx_field("task_id", ctx.task_id);
    ctx_field("agent_id", ctx.agent_id);
    ctx_field("subtask", ctx.subtask);
    for (const Field& f : in.fields) {
      if (IsReservedKey(f.key)) {
        out += ",\"field.";
        AppendJsonEscaped(out, f.key);
        out += "\":";
      } else {
        AppendJsonMember(out, f.key);
      }
      AppendFieldValue(out, f, true);
    }
    out += '}';
    return out;
  }

  AppendRfc3339(out, in.time);
  out += ' ';
  const std::string_view level = LevelName(in.level);
  for (char c : level) out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  out.append(level.size() < 5 ? 6 - level.size() : 1, ' ');
  AppendTextEscaped(out, in.component);
  out += ": ";
  AppendRedacted(out, in.message, false);
  auto ctx_field = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out += ' ';
    out += key;
    out += '=';
    AppendTextEscaped(out, value);
  };
  ctx_field("task_id", ctx.task_id);
  ctx_field("agent_id", ctx.agent_id);
  ctx_field("subtask", ctx.subtask);
  for (const Field& f : in.fields) {
    out += ' ';
    AppendTextEscaped(out, f.key);
    out += '=';
    AppendFieldValue(out, f, false);
  }
  if (has_span) {
    out += " trace_id=";
    out.append(trace_hex, 32);
    out += " span_id=";
    out.append(span_hex, 16);
  }
  return out;
}

}  // namespace internal
}  // namespace minion::logging
