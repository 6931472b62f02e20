#include "minion/propagation/composite.h"

#include <algorithm>

namespace minion::propagation {

void CompositePropagator::Inject(const trace::Context& context,
                                 trace::TextMapCarrier& carrier) const {
  for (const auto& part : parts_) part->Inject(context, carrier);
}

trace::Context CompositePropagator::Extract(const trace::TextMapCarrier& carrier,
                                            const trace::Context& context) const {
  trace::Context result = context;
  for (const auto& part : parts_) result = part->Extract(carrier, result);
  return result;
}

std::vector<std::string> CompositePropagator::Fields() const {
  std::vector<std::string> fields;
  for (const auto& part : parts_) {
    for (auto& field : part->Fields()) {
      if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
        fields.push_back(std::move(field));
      }
    }
  }
  return fields;
}

}  // namespace minion::propagation
