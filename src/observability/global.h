#pragma once
#include <memory>

#include "minion/common/status.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::observability {
// Makes `provider` the global one (shutting down the previous); null restores the no-op.
Status InstallProvider(std::shared_ptr<sdk::TracerProvider> provider);
}  // namespace minion::observability
