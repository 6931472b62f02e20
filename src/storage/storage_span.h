#pragma once
// The `storage.<op>` span both backends open, and the argument checks they share.

#include <memory>
#include <string_view>

#include "minion/observability/tracing.h"
#include "minion/storage/storage.h"

namespace minion::storage::internal {

observability::StartedSpan StartStorageOp(const std::shared_ptr<trace::Tracer>& tracer,
                                          const trace::Context& parent, std::string_view op,
                                          std::string_view system, std::string_view collection);

// InvalidArgument when collection or (if `check_key`) key is empty.
Status CheckNames(std::string_view collection, std::string_view key, bool check_key = true);

// Ends the span with `status`; a NotFound from Get/Delete is an answer, not a failure, so it
// stays off the span's error status (it is still recorded as db.response.found=false).
void EndStorageSpan(trace::Span& span, const Status& status);

}  // namespace minion::storage::internal
