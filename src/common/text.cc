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
    if (eq == std::string_view::npos) return InvalidArgumentError("\"" + std::string(item) + "\" is not key=value");
    MINION_ASSIGN_OR_RETURN(std::string key, PercentDecode(Trim(item.substr(0, eq))));
    MINION_ASSIGN_OR_RETURN(std::string value, PercentDecode(Trim(item.substr(eq + 1))));
    if (key.empty()) return InvalidArgumentError("\"" + std::string(item) + "\" has an empty key");
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace minion::text
