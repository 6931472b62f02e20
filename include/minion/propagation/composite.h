#pragma once
// Runs several propagators as one: Inject calls each in order, Extract feeds each one's result
// into the next (so a later propagator wins when two carry a span context), Fields is the union.
// Thread-safe when its parts are (all of minion's are).

#include <memory>
#include <string>
#include <vector>

#include "minion/trace/propagation.h"

namespace minion::propagation {

class CompositePropagator final : public trace::TextMapPropagator {
 public:
  explicit CompositePropagator(std::vector<std::unique_ptr<trace::TextMapPropagator>> parts)
      : parts_(std::move(parts)) {}

  void Inject(const trace::Context& context, trace::TextMapCarrier& carrier) const override;
  trace::Context Extract(const trace::TextMapCarrier& carrier,
                         const trace::Context& context) const override;
  std::vector<std::string> Fields() const override;

  std::size_t size() const { return parts_.size(); }

 private:
  std::vector<std::unique_ptr<trace::TextMapPropagator>> parts_;
};

}  // namespace minion::propagation
