// RedisStreamsProtocol: Send (one Lua script checks the recipient and appends).
#include "protocol_impl.h"

namespace minion::transports {
namespace {

// KEYS[1] stream, KEYS[2] its meta hash. ARGV[1] the message type's bit, ARGV[2..] the fields.
// Checks and appends atomically: the recipient exists (its meta hash), accepts the type, and has
// room (queue mode; fan-out streams are trimmed instead).
constexpr const char* kSendScript = R"lua(
local meta = redis.call('HMGET', KEYS[2], 'capacity', 'types', 'mode')
if not meta[1] then return redis.error_reply('MINION_NOTFOUND') end
local mask = tonumber(meta[2])
if mask ~= nil and math.floor(mask / (2 ^ tonumber(ARGV[1]))) % 2 == 0 then
  return redis.error_reply('MINION_TYPE')
end
local cap = tonumber(meta[1])
if meta[3] == 'fanout' then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', unpack(ARGV, 2))
end
if redis.call('XLEN', KEYS[1]) >= cap then return redis.error_reply('MINION_FULL') end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
)lua";

}  // namespace

Status RedisStreamsProtocol::Impl::Send(agents::AccessPolicy& policy, const trace::Context& parent,
                                        Message message) {
  // seq_cst pairs with Shutdown: either it sees this send in flight and waits for it before
  // draining, or this send sees accepting_ == false.
  sends_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  struct InFlight {
    Impl* self;
    ~InFlight() {
      if (self->sends_in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          !self->accepting_.load(std::memory_order_seq_cst)) {
        self->sends_in_flight_.notify_all();
      }
    }
  } in_flight{this};
  if (!accepting_.load(std::memory_order_seq_cst)) return UnavailableError("protocol is shut down");
  if (message.to.empty()) return InvalidArgumentError("message has no recipient");
  MINION_RETURN_IF_ERROR(policy.Check(message.from, message.to));
  if (message.id.empty()) message.id = agents::NewMessageId();
  if (message.created_at == 0) message.created_at = SystemClock().Now();
  const std::string key = KeyFor(message.to);
  auto started = agents::StartSendSpan(observability::TracerOrGlobal(tracer_), parent, &message,
                                       options_.propagator);
  auto& span = started.span;
  span.SetAttribute("messaging.system", "redis");
  span.SetAttribute("messaging.destination.name", key);
  span.SetAttribute("messaging.operation.type", "send");
  Status status = Append(key, message, &span);
  if (status.ok()) sent_.fetch_add(1, std::memory_order_relaxed);
  if (status.code() == StatusCode::kResourceExhausted)
    rejected_full_.fetch_add(1, std::memory_order_relaxed);
  observability::EndSpan(span, status);
  return status;
}

Status RedisStreamsProtocol::Impl::Append(const std::string& key, const Message& message,
                                          trace::Span* span) {
  MINION_ASSIGN_OR_RETURN(auto fields, redis::EncodeEntry(message, options_.max_message_bytes));
  std::vector<std::string> args = {key, MetaKey(key),
                                   std::to_string(static_cast<unsigned>(message.type))};
  args.insert(args.end(), std::make_move_iterator(fields.begin()),
              std::make_move_iterator(fields.end()));
  auto r = Script(kSendScript, &send_sha_, std::move(args), 2);
  if (!r.ok()) return r.status().WithContext("sending " + message.id + " to '" + message.to + "'");
  if (r->is_error()) {
    if (r->str.find("MINION_NOTFOUND") != std::string::npos) {
      return NotFoundError("agent '" + message.to + "' is not subscribed (no stream " + key + ")");
    }
    if (r->str.find("MINION_TYPE") != std::string::npos) {
      return NotFoundError("agent '" + message.to + "' does not accept " +
                           std::string(agents::MessageTypeName(message.type)) + " messages");
    }
    if (r->str.find("MINION_FULL") != std::string::npos) {
      return ResourceExhaustedError("stream " + key + " of agent '" + message.to + "' is full");
    }
    return UnavailableError("redis refused sending to " + key + ": " + r->str);
  }
  if (span) span->SetAttribute("messaging.message.id", r->str);
  return Status::Ok();
}

}  // namespace minion::transports
