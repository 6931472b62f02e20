#include "storage/storage_span.h"

namespace minion::storage::internal {

observability::StartedSpan StartStorageOp(const std::shared_ptr<trace::Tracer>& tracer,
                                          const trace::Context& parent, std::string_view op,
                                          std::string_view system, std::string_view collection) {
  auto started =
      observability::StartStorageSpan(observability::TracerOrGlobal(tracer), parent, op, system);
  started.span.SetAttribute(observability::kAttrDbSystemName, system);
  started.span.SetAttribute(observability::kAttrDbOperationName, op);
  started.span.SetAttribute("db.collection.name", collection);
  return started;
}

Status CheckNames(std::string_view collection, std::string_view key, bool check_key) {
  if (collection.empty()) return InvalidArgumentError("storage collection name is empty");
  if (check_key && key.empty()) return InvalidArgumentError("storage key is empty");
  return Status::Ok();
}

void EndStorageSpan(trace::Span& span, const Status& status) {
  if (status.code() == StatusCode::kNotFound) {
    span.SetAttribute("db.response.found", false);
    observability::EndSpan(span);
    return;
  }
  if (!status.ok()) span.SetAttribute("error.type", StatusCodeName(status.code()));
  observability::EndSpan(span, status);
}

}  // namespace minion::storage::internal
