// The Protocol conformance suite against the in-process transport.
#include "agents/protocol_conformance.h"

#include "minion/agents/in_memory_protocol.h"

namespace minion::agents::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Transports, ProtocolConformanceTest,
    ::testing::Values(ProtocolUnderTest{
        "InMemory",
        [](std::shared_ptr<trace::Tracer> tracer) -> std::unique_ptr<Protocol> {
          InMemoryProtocolOptions o;
          o.tracer = std::move(tracer);
          return std::make_unique<InMemoryProtocol>(o);
        }}),
    ProtocolName);

}  // namespace
}  // namespace minion::agents::testing
