#pragma once
// Private hooks between the pieces of minion_logging.
#include <cstdint>

namespace minion::logging::internal {
// Adds to LoggingStats::suppressed (RateLimitedLogger).
void AddSuppressed(std::uint64_t n);
}  // namespace minion::logging::internal
