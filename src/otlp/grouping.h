#pragma once
// Groups a batch by Resource then InstrumentationScope, keyed by the pointers SpanData carries
// (the TracerProvider owns one Resource and one scope object per Tracer, so identity is the
// right key and costs no string comparison). First-seen order is kept so output is stable.

#include <span>
#include <vector>

#include "minion/trace/span_data.h"

namespace minion::otlp::internal {

struct ScopeGroup {
  const trace::InstrumentationScope* scope;  // may be null: encoded as an empty scope
  std::vector<const trace::SpanData*> spans;
};

struct ResourceGroup {
  const trace::Resource* resource;  // may be null: encoded as an empty resource
  std::vector<ScopeGroup> scopes;
};

// Linear searches: a process has one resource and a handful of tracers, so this beats a map.
inline std::vector<ResourceGroup> GroupSpans(std::span<const trace::SpanDataPtr> spans) {
  std::vector<ResourceGroup> groups;
  ResourceGroup* last_resource = nullptr;
  ScopeGroup* last_scope = nullptr;
  for (const auto& span : spans) {
    if (!span) continue;
    if (last_scope == nullptr || last_resource->resource != span->resource ||
        last_scope->scope != span->scope) {
      last_resource = nullptr;
      for (auto& g : groups) {
        if (g.resource == span->resource) {
          last_resource = &g;
          break;
        }
      }
      if (last_resource == nullptr) {
        groups.push_back(ResourceGroup{span->resource, {}});
        last_resource = &groups.back();
      }
      last_scope = nullptr;
      for (auto& s : last_resource->scopes) {
        if (s.scope == span->scope) {
          last_scope = &s;
          break;
        }
      }
      if (last_scope == nullptr) {
        last_resource->scopes.push_back(ScopeGroup{span->scope, {}});
        last_scope = &last_resource->scopes.back();
      }
    }
    last_scope->spans.push_back(span.get());
  }
  return groups;
}

}  // namespace minion::otlp::internal
