#include "minion/common/text.h"

#include <cctype>

namespace minion::text {
namespace {
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0)
      return InvalidArgumentError("bad %-escape in \"" + std::string(s) + "\"");
    out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
    i += 2;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(std::string_view list) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view item = Trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;  // tolerate "a=1,,b=2" and a trailing comma
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return InvalidArgumentError("\"" + std::string(item) + "\" is not key=value");
    MINION_ASSIGN_OR_RETURN(std::string key, PercentDecode(Trim(item.substr(0, eq))));
    MINION_ASSIGN_OR_RETURN(std::string value, PercentDecode(Trim(item.substr(eq + 1))));
    if (key.empty()) return InvalidArgumentError("\"" + std::string(item) + "\" has an empty key");
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string Truncate(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t cut = max_bytes;
  // Back up over UTF-8 continuation bytes so the kept part stays valid text.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out(s.substr(0, cut));
  out += "... (" + std::to_string(s.size() - cut) + " more bytes)";
  return out;
}

std::string RedactUrls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t scheme_end = s.find("://", pos);
    if (scheme_end == std::string_view::npos) break;
    const std::size_t authority = scheme_end + 3;
    out.append(s.substr(pos, authority - pos));
    // The authority ends at the first '/', '?', '#', whitespace or quote; userinfo is what
    // precedes its last '@'.
    std::size_t end = authority;
    while (end < s.size() && s[end] != '/' && s[end] != '?' && s[end] != '#' &&
           !std::isspace(static_cast<unsigned char>(s[end])) && s[end] != '"' && s[end] != '\'' &&
           s[end] != '>' && s[end] != ')') {
      ++end;
    }
    const std::string_view host_part = s.substr(authority, end - authority);
    const std::size_t at = host_part.rfind('@');
    if (at != std::string_view::npos) {
      out += "REDACTED@";
      out.append(host_part.substr(at + 1));
    } else {
      out.append(host_part);
    }
    pos = end;
  }
  if (pos < s.size()) out.append(s.substr(pos));
  return out;
}

std::string EscapeControl(std::string_view s, bool keep_newlines) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n' && keep_newlines) {
      out.push_back('\n');
    } else if (c == '\t' && keep_newlines) {
      out.push_back('\t');
    } else if (c < 0x20 || c == 0x7F) {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : "";
      if (c != '\n' && c != '\t' && c != '\r') {
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      // U+0080..U+009F (C1 controls, e.g. CSI): some terminals act on them too.
      out += "\\u00";
      const auto c1 = static_cast<unsigned char>(s[++i]);
      out.push_back(kHex[c1 >> 4]);
      out.push_back(kHex[c1 & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace minion::text
