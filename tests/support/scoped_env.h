#pragma once
// Environment changes a test makes, undone when the ScopedEnv goes out of scope (also when an
// ASSERT returns early), so no test leaks variables into the next. Prefer handing a FromEnv an
// injected lookup (MapLookup below); ScopedEnv is for code that reads the process environment
// itself. Not thread-safe: the environment is process-wide, so use it before starting threads.

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "minion/common/env.h"

namespace minion::testing {

class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_) {
      if (old)
        ::setenv(name.c_str(), old->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

  void Set(std::string_view name, std::string_view value) {
    Save(name);
    ::setenv(std::string(name).c_str(), std::string(value).c_str(), 1);
  }
  void Unset(std::string_view name) {
    Save(name);
    ::unsetenv(std::string(name).c_str());
  }

 private:
  void Save(std::string_view name) {
    std::string key(name);
    if (saved_.count(key)) return;  // keep the value from before the first change
    const char* v = std::getenv(key.c_str());
    saved_.emplace(std::move(key), v ? std::optional<std::string>(v) : std::nullopt);
  }

  std::map<std::string, std::optional<std::string>> saved_;
};

// An env::Lookup over a fixed map, with env::Get's rule that an empty value counts as unset.
inline env::Lookup MapLookup(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

}  // namespace minion::testing
