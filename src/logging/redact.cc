#include "minion/logging/redact.h"

#include <array>

namespace minion::logging {
namespace {

// Normalised: lower case, '-' read as '_'.
constexpr std::array<std::string_view, 9> kSecretWords = {"password",      "passwd",  "secret",
                                                          "token",         "api_key", "apikey",
                                                          "authorization", "cookie",  "credential"};

char Norm(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c + 32);
  return c == '-' ? '_' : c;
}
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool NormEqualsAt(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (Norm(text[pos + k]) != word[k]) return false;
  }
  return true;
}

// "bearer " / "basic " (any case) at pos, not inside a longer word: the end of the scheme and
// its following spaces, or npos.
std::size_t AuthSchemeEnd(std::string_view text, std::size_t pos) {
  if (pos > 0 && IsWordChar(text[pos - 1])) return std::string_view::npos;
  for (std::string_view scheme : {std::string_view("bearer"), std::string_view("basic")}) {
    if (NormEqualsAt(text, pos, scheme) && pos + scheme.size() < text.size() &&
        IsSpace(text[pos + scheme.size()])) {
      std::size_t k = pos + scheme.size();
      while (k < text.size() && IsSpace(text[k])) ++k;
      return k;
    }
  }
  return std::string_view::npos;
}

std::size_t TokenEnd(std::string_view text, std::size_t pos) {
  std::size_t k = pos;
  while (k < text.size()) {
    const char c = text[k];
    if (IsSpace(c) || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == ',' || c == ';' ||
        c == '&' || c == '}' || c == ')') {
      break;
    }
    ++k;
  }
  return k;
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  for (std::string_view word : kSecretWords) {
    if (key.size() >= word.size() && NormEqualsAt(key, key.size() - word.size(), word)) return true;
  }
  return false;
}

bool RedactSecretsTo(std::string_view text, std::string& out) {
  std::size_t copied = 0;
  bool any = false;
  auto replace = [&](std::size_t begin, std::size_t end) {
    if (!any) out.reserve(out.size() + text.size() + 16);
    out.append(text.data() + copied, begin - copied);
    out += kRedacted;
    copied = end;
    any = true;
  };

  std::size_t i = 0;
  while (i < text.size()) {
    // URL userinfo: "scheme://user:pass@host".
    if (text.compare(i, 3, "://") == 0) {
      std::size_t k = i + 3;
      while (k < text.size()) {
        const char c = text[k];
        if (c == '/' || c == '?' || c == '#' || c == '@' || IsSpace(c) || c == '\n' || c == '"' ||
            c == '\'' || c == '<' || c == '>')
          break;
        ++k;
      }
      if (k < text.size() && text[k] == '@' && k > i + 3) {
        replace(i + 3, k);
        i = k;
        continue;
      }
      i += 3;
      continue;
    }
    // "Bearer <token>" / "Basic <credentials>".
    if (const std::size_t v = AuthSchemeEnd(text, i); v != std::string_view::npos) {
      const std::size_t e = TokenEnd(text, v);
      if (e > v) {
        replace(v, e);
        i = e;
        continue;
      }
    }
    // key=value, key: value, "key": "value" for secret keys.
    bool matched = false;
    for (std::string_view word : kSecretWords) {
      if (!NormEqualsAt(text, i, word)) continue;
      std::size_t k = i + word.size();
      if (k < text.size() && IsWordChar(text[k])) continue;  // a longer word ("tokens")
      if (k < text.size() && (text[k] == '"' || text[k] == '\'')) ++k;
      while (k < text.size() && IsSpace(text[k])) ++k;
      if (k >= text.size() || (text[k] != '=' && text[k] != ':')) continue;
      ++k;
      while (k < text.size() && IsSpace(text[k])) ++k;
      if (k >= text.size()) continue;
      std::size_t begin = k;
      std::size_t end;
      if (text[k] == '"' || text[k] == '\'') {
        const char quote = text[k];
        begin = k + 1;
        end = begin;
        while (end < text.size() && text[end] != quote) end += (text[end] == '\\') ? 2 : 1;
        if (end > text.size()) end = text.size();
      } else {
        if (const std::size_t v = AuthSchemeEnd(text, k); v != std::string_view::npos) begin = v;
        end = TokenEnd(text, begin);
      }
      if (end > begin) {
        replace(begin, end);
        i = end;
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  if (!any) return false;
  out.append(text.data() + copied, text.size() - copied);
  return true;
}

std::string RedactSecrets(std::string_view text, bool* changed) {
  std::string out;
  const bool any = RedactSecretsTo(text, out);
  if (changed != nullptr) *changed = any;
  return any ? out : std::string(text);
}

}  // namespace minion::logging
