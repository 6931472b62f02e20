#pragma once
// Reading configuration from environment variables, with the specification's rules: an empty
// value is the same as unset; an invalid value is reported and the default applies.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "minion/common/status.h"

namespace minion::env {

// The value, or nullopt when unset or empty.
std::optional<std::string> Get(std::string_view name);

// Reads one variable: what every FromEnv takes, so that tests hand in a map instead of changing
// the process environment. Get is the default.
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;
// Parses a boolean ("true"/"false", case-insensitive; also 1/0/yes/no).
Result<bool> ParseBool(std::string_view text);
// Parses a non-negative integer.
Result<std::int64_t> ParseInt(std::string_view text);
Result<double> ParseDouble(std::string_view text);

// Reads NAME as the given type; an invalid value prints a warning naming the variable and the
// fallback, and returns `fallback`.
std::int64_t IntOr(std::string_view name, std::int64_t fallback, const Lookup& lookup = Get);
bool BoolOr(std::string_view name, bool fallback, const Lookup& lookup = Get);
double DoubleOr(std::string_view name, double fallback, const Lookup& lookup = Get);

// Prints "minion: warning: ..." to stderr (the SDK's only diagnostic channel before logging is
// configured; the specification asks SDKs not to throw on bad configuration).
void Warn(std::string_view message);

}  // namespace minion::env
