#include "minion/propagation/carriers.h"

#include <cstdlib>
#include <set>

#include "propagation/text_util.h"

extern char** environ;  // POSIX; declared by no standard C++ header.

namespace minion::propagation {

// --- MapCarrier / UnorderedMapCarrier ---------------------------------------------------------
template <typename MapType>
std::optional<std::string_view> BasicMapCarrier<MapType>::Get(std::string_view key) const {
  // The maps are not transparent; header names fit the small-string buffer, so this key copy
  // does not allocate.
  auto it = map_->find(std::string(key));
  if (it == map_->end()) return std::nullopt;
  return std::string_view(it->second);
}

template <typename MapType>
void BasicMapCarrier<MapType>::Set(std::string_view key, std::string_view value) {
  if (mutable_map_ == nullptr) return;
  std::string k(key);
  auto it = mutable_map_->find(k);
  // assign() reuses the existing value's buffer: re-injecting into a reused map never allocates.
  if (it != mutable_map_->end()) {
    it->second.assign(value);
  } else {
    mutable_map_->emplace(std::move(k), std::string(value));
  }
}

template <typename MapType>
std::vector<std::string> BasicMapCarrier<MapType>::Keys() const {
  std::vector<std::string> keys;
  keys.reserve(map_->size());
  for (const auto& [k, v] : *map_) keys.push_back(k);
  return keys;
}

template class BasicMapCarrier<std::map<std::string, std::string>>;
template class BasicMapCarrier<std::unordered_map<std::string, std::string>>;

// --- HttpHeaderCarrier ------------------------------------------------------------------------
namespace {

template <typename Container>
std::optional<std::string_view> HeaderGet(const Container& headers, std::string_view key,
                                          std::list<std::string>* joined) {
  const std::string* first = nullptr;
  std::string combined;
  bool repeated = false;
  for (const auto& [name, value] : headers) {
    if (!internal::EqualsIgnoreCase(name, key)) continue;
    if (first == nullptr) {
      first = &value;
    } else {
      if (!repeated) combined = *first;
      repeated = true;
      combined.push_back(',');
      combined.append(value);
    }
  }
  if (first == nullptr) return std::nullopt;
  if (!repeated) return std::string_view(*first);
  joined->push_back(std::move(combined));
  return std::string_view(joined->back());
}

template <typename Container>
std::vector<std::string> HeaderKeys(const Container& headers) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& [name, value] : headers) {
    if (seen.insert(internal::ToLower(name)).second) keys.push_back(name);
  }
  return keys;
}

}  // namespace

std::optional<std::string_view> HttpHeaderCarrier::Get(std::string_view key) const {
  if (multimap_ != nullptr) return HeaderGet(*multimap_, key, &joined_);
  return HeaderGet(*pairs_, key, &joined_);
}

void HttpHeaderCarrier::Set(std::string_view key, std::string_view value) {
  if (mutable_multimap_ != nullptr) {
    for (auto it = mutable_multimap_->begin(); it != mutable_multimap_->end();) {
      it =
          internal::EqualsIgnoreCase(it->first, key) ? mutable_multimap_->erase(it) : std::next(it);
    }
    mutable_multimap_->emplace(std::string(key), std::string(value));
  } else if (mutable_pairs_ != nullptr) {
    std::erase_if(*mutable_pairs_,
                  [key](const auto& kv) { return internal::EqualsIgnoreCase(kv.first, key); });
    mutable_pairs_->emplace_back(std::string(key), std::string(value));
  }
}

std::vector<std::string> HttpHeaderCarrier::Keys() const {
  if (multimap_ != nullptr) return HeaderKeys(*multimap_);
  return HeaderKeys(*pairs_);
}

// --- EnvironmentCarrier -----------------------------------------------------------------------

std::string EnvironmentCarrier::ToVariableName(std::string_view key) {
  std::string name(key);
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      c = '_';
    }
  }
  return name;
}

std::optional<std::string_view> EnvironmentCarrier::Get(std::string_view key) const {
  const std::string name = ToVariableName(key);
  if (source_ != nullptr) {
    auto it = source_->find(name);
    if (it == source_->end()) return std::nullopt;
    return std::string_view(it->second);
  }
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

void EnvironmentCarrier::Set(std::string_view key, std::string_view value) {
  if (inject_into_ == nullptr) return;
  (*inject_into_)[ToVariableName(key)] = std::string(value);
}

std::vector<std::string> EnvironmentCarrier::Keys() const {
  std::vector<std::string> keys;
  if (source_ != nullptr) {
    for (const auto& [k, v] : *source_) keys.push_back(k);
    return keys;
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    keys.emplace_back(entry.substr(0, entry.find('=')));
  }
  return keys;
}

}  // namespace minion::propagation
