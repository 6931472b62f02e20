#pragma once
// The libprotobuf-message form of an OTLP trace request, for callers that need the generated
// type itself: tests compare the hand-written encoder against it, and the encode benchmark
// measures it (the gRPC exporter sends the hand-written encoding, which is 2-3x cheaper).
// Link minion_otlp_proto_message (build tree only: generated code stays out of the installed
// headers).

#include <span>

#include "minion/trace/span_data.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace minion::otlp {

using ExportTraceServiceRequest =
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportTraceServiceResponse =
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

// Fills `out` (cleared first) with `spans`, grouped by resource then scope. Serializing the
// result gives exactly the bytes SerializeTraceRequestProto produces.
void BuildTraceRequest(std::span<const trace::SpanDataPtr> spans, ExportTraceServiceRequest& out);

}  // namespace minion::otlp
