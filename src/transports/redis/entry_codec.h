#pragma once
// How a Message is laid out as the fields of one stream entry, so `redis-cli XRANGE` shows it:
// id, type, from, to, in_reply_to, created_at, the trace headers as their own fields
// (traceparent, tracestate, baggage; other headers as "h.<name>"), metadata and content as JSON.

#include <string>
#include <vector>

#include "minion/agents/message.h"
#include "minion/common/status.h"

namespace minion::transports::redis {

// Field/value pairs in order. ResourceExhausted when they exceed `max_bytes` in total.
Result<std::vector<std::string>> EncodeEntry(const agents::Message& message, std::size_t max_bytes);
// `fields` as Redis returned them (field, value, field, value...). InvalidArgument naming what is
// wrong for anything that is not a message we wrote: oversize, missing id/type, bad JSON, JSON
// nested deeper than 64 levels.
Result<agents::Message> DecodeEntry(const std::vector<std::string>& fields, std::size_t max_bytes);

}  // namespace minion::transports::redis
