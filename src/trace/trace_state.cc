#include "minion/trace/trace_state.h"

#include <algorithm>

namespace minion::trace {
namespace {

// The W3C grammar's key characters after the first: lcalpha / DIGIT / "_" / "-" / "*" / "/".
bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Optional whitespace (OWS) is SP / HTAB in RFC 7230, which tracestate's list grammar uses.
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllKeyChars(std::string_view s) { return std::all_of(s.begin(), s.end(), IsKeyChar); }

}  // namespace

bool TraceState::IsValidKey(std::string_view key) {
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) {
    // simple-key = lcalpha 0*255( keychar )
    return !key.empty() && key.size() <= 256 && IsLower(key[0]) && AllKeyChars(key.substr(1));
  }
  // multi-tenant-key = tenant-id "@" system-id
  std::string_view tenant = key.substr(0, at);
  std::string_view system = key.substr(at + 1);
  // tenant-id = ( lcalpha / DIGIT ) 0*240( keychar )
  if (tenant.empty() || tenant.size() > 241 || !(IsLower(tenant[0]) || IsDigit(tenant[0])) ||
      !AllKeyChars(tenant.substr(1))) {
    return false;
  }
  // system-id = lcalpha 0*13( keychar ); a second '@' fails AllKeyChars.
  return !system.empty() && system.size() <= 14 && IsLower(system[0]) &&
         AllKeyChars(system.substr(1));
}

bool TraceState::IsValidValue(std::string_view value) {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ',' and '='.
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::optional<TraceState> TraceState::FromHeader(std::string_view header) {
  TraceState state;
  while (true) {
    const std::size_t comma = header.find(',');
    std::string_view member = TrimOws(header.substr(0, comma));
    // W3C allows empty and whitespace-only list members; they are skipped, not counted.
    if (!member.empty()) {
      const std::size_t eq = member.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      std::string_view key = member.substr(0, eq);
      std::string_view value = member.substr(eq + 1);
      if (!IsValidKey(key) || !IsValidValue(value)) return std::nullopt;
      if (state.entries_.size() == kMaxEntries) return std::nullopt;
      for (const auto& [k, v] : state.entries_) {
        if (k == key) return std::nullopt;
      }
      state.entries_.emplace_back(std::string(key), std::string(value));
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return state;
}

std::string TraceState::ToHeader() const {
  std::size_t size = 0;
  for (const auto& [k, v] : entries_) size += k.size() + v.size() + 2;
  std::string out;
  out.reserve(size);
  for (const auto& [k, v] : entries_) {
    if (!out.empty()) out.push_back(',');
    out.append(k).push_back('=');
    out.append(v);
  }
  return out;
}

std::optional<std::string_view> TraceState::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<TraceState> TraceState::Set(std::string_view key, std::string_view value) const {
  if (!IsValidKey(key) || !IsValidValue(value)) return std::nullopt;
  TraceState out;
  out.entries_.reserve(std::min(entries_.size() + 1, kMaxEntries));
  out.entries_.emplace_back(std::string(key), std::string(value));
  for (const auto& entry : entries_) {
    if (entry.first == key) continue;
    // W3C: when the list would exceed 32 members, the right-most member is dropped.
    if (out.entries_.size() == kMaxEntries) break;
    out.entries_.push_back(entry);
  }
  return out;
}

TraceState TraceState::Delete(std::string_view key) const {
  TraceState out;
  out.entries_.reserve(entries_.size());
  for (const auto& entry : entries_) {
    if (entry.first != key) out.entries_.push_back(entry);
  }
  return out;
}

}  // namespace minion::trace
