// RedisStreamsProtocol: reclaiming idle entries, lost-attempt spans, dead letters.
#include "protocol_impl.h"

namespace minion::transports {
namespace {

// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV: group, entry id, deliveries, reason, maxlen.
// Copies the entry with where it came from, then acknowledges and deletes it, atomically.
constexpr const char* kDeadLetterScript = R"lua(
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
local f = {'dead.stream', KEYS[1], 'dead.entry', ARGV[2], 'dead.deliveries', ARGV[3], 'dead.reason', ARGV[4]}
if e[1] then for _, v in ipairs(e[1][2]) do table.insert(f, v) end end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(f))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
)lua";

}  // namespace

// Takes over entries idle longer than reclaim_idle (their consumer died or hung). Entries
// delivered more than max_deliveries times go to the dead-letter stream instead. Each
// reclaimed entry's lost attempt is recorded as a span (RecordLostAttempt).
Status RedisStreamsProtocol::Impl::Reclaim(Subscription& sub, const StreamSpec& spec,
                                           Connection& conn, std::size_t count,
                                           std::vector<Entry>* out) {
  // Who held the idle entries, and since when, before they change hands: XAUTOCLAIM does not
  // say. Nothing idle: no claim either.
  MINION_ASSIGN_OR_RETURN(Reply stale, conn.Command({"XPENDING", spec.key, options_.group, "IDLE",
                                                     std::to_string(options_.reclaim_idle.count()),
                                                     "-", "+", std::to_string(count + 64)}));
  if (stale.is_error()) return ReplyError("XPENDING " + spec.key, stale);
  if (!stale.is_array() || stale.elements.empty()) return Status::Ok();
  std::map<std::string, Held> before;
  for (const auto& p : stale.elements) {
    if (p.is_array() && p.elements.size() >= 4) {
      before[p.elements[0].str] =
          Held{p.elements[1].str, p.elements[2].integer, p.elements[3].integer};
    }
  }
  MINION_ASSIGN_OR_RETURN(
      Reply r, conn.Command({"XAUTOCLAIM", spec.key, options_.group, sub.consumer,
                             std::to_string(options_.reclaim_idle.count()), "0-0", "COUNT",
                             std::to_string(count)}));
  if (r.is_error()) return ReplyError("XAUTOCLAIM " + spec.key, r);
  if (!r.is_array() || r.elements.size() < 2 || !r.elements[1].is_array()) return Status::Ok();
  const auto& claimed = r.elements[1].elements;
  std::vector<std::string> ids;
  for (const auto& e : claimed) {
    if (e.is_array() && !e.elements.empty()) ids.push_back(e.elements[0].str);
  }
  if (ids.empty()) return Status::Ok();
  // Delivery counts (XAUTOCLAIM has just incremented them).
  MINION_ASSIGN_OR_RETURN(
      Reply pending, conn.Command({"XPENDING", spec.key, options_.group, ids.front(), ids.back(),
                                   std::to_string(ids.size() + 64), sub.consumer}));
  std::map<std::string, std::int64_t> counts;
  if (pending.is_array()) {
    for (const auto& p : pending.elements) {
      if (p.is_array() && p.elements.size() >= 4) counts[p.elements[0].str] = p.elements[3].integer;
    }
  }
  std::set<std::string> running_here;
  {
    std::lock_guard lock(sub.mu);
    if (auto it = sub.held.find(spec.key); it != sub.held.end()) running_here = it->second;
  }
  Reply keep;
  keep.type = Reply::Type::kArray;
  for (const auto& e : claimed) {
    if (!e.is_array() || e.elements.empty()) continue;
    const std::string& id = e.elements[0].str;
    std::int64_t n = counts.count(id) ? counts[id] : 2;
    // An entry this subscription is itself still running (it missed its touches) was not
    // lost; anything else was: its holder died or hung.
    if (auto b = before.find(id); b != before.end() && !running_here.count(id)) {
      RecordLostAttempt(sub, spec, e, b->second);
    }
    if (n > options_.max_deliveries) {
      DeadLetter(sub, spec, e, n);
    } else {
      keep.elements.push_back(e);
    }
  }
  Collect(keep, spec, 2, &counts, out);
  return Status::Ok();
}

// A consumer killed in the middle of a subtask never ends its worker span, so the trace
// would show the redelivery only as a count. The process that reclaims the entry records
// the lost attempt in its place: a `worker.<capability>` CONSUMER span with the same parent
// as a real attempt (the sender's span, from the entry's traceparent), starting at the
// attempt's last sign of life in the pending-entry list (its delivery, or a later keep-alive
// touch) and ending now, status ERROR. The holder is named by `multiagent.worker.id` (the
// agent id in its consumer name) and `messaging.client.id` (the consumer name itself).
void RedisStreamsProtocol::Impl::RecordLostAttempt(Subscription& sub, const StreamSpec& spec,
                                                   const Reply& raw, const Held& held) {
  trace::Tracer& tracer = observability::TracerOrGlobal(tracer_);
  if (!tracer.Enabled()) return;
  std::string id;
  std::vector<std::string> fields;
  if (!EntryOf(raw, &id, &fields)) return;
  auto parsed = redis::DecodeEntry(fields, options_.max_message_bytes);
  if (!parsed.ok()) return;  // not a message: nothing to attach a span to
  const Message& m = *parsed;
  std::string capability, task_id, subtask_name;
  std::int64_t attempt = 0;
  if (m.content.is_object()) {
    capability = m.content.value("capability", "");
    task_id = m.content.value("task_id", "");
    subtask_name = m.content.value("name", "");
    if (auto a = m.content.find("attempt"); a != m.content.end() && a->is_number_integer())
      attempt = a->get<std::int64_t>();
  }
  if (capability.empty()) return;  // not a subtask: no worker span would have existed
  const std::string worker_id = held.consumer.substr(held.consumer.rfind('/') + 1);
  const UnixNanos now = SystemClock().Now();
  const UnixNanos idle_ns =
      static_cast<UnixNanos>(std::max<std::int64_t>(0, held.idle_ms)) * 1'000'000;
  trace::Context parent = agents::ExtractMessageContext(m, options_.propagator);
  trace::SpanStartOptions o;
  o.kind = trace::SpanKind::kConsumer;
  o.parent = &parent;
  o.start_time = now > idle_ns ? now - idle_ns : now;
  const std::string name = "worker." + capability;
  trace::Span span = tracer.StartSpan(name,
                                      {{observability::kAttrWorkerID, worker_id},
                                       {observability::kAttrWorkerCapability, capability},
                                       {observability::kAttrTaskID, task_id},
                                       {observability::kAttrComponent, "worker"}},
                                      o);
  span.SetAttribute("multiagent.subtask.name", subtask_name);
  span.SetAttribute("multiagent.subtask.attempt", attempt);
  span.SetAttribute("messaging.system", "redis");
  span.SetAttribute("messaging.destination.name", spec.key);
  span.SetAttribute("messaging.operation.type", "process");
  span.SetAttribute("messaging.message.id", id);
  span.SetAttribute("messaging.consumer.group.name", options_.group);
  span.SetAttribute("messaging.client.id", held.consumer);
  span.SetAttribute("messaging.redis.message.delivery_count", held.deliveries);
  span.SetAttribute("minion.redis.reclaimed_by", sub.consumer);
  span.SetAttribute(observability::kAttrTailKeep, true);
  span.SetStatus(trace::SpanStatusCode::kError,
                 "worker died / delivery reclaimed: " + held.consumer +
                     " did not acknowledge entry " + id + " for " + std::to_string(held.idle_ms) +
                     " ms; reclaimed by " + sub.consumer);
  span.End(now);
  lost_attempts_.fetch_add(1, std::memory_order_relaxed);
}

void RedisStreamsProtocol::Impl::DeadLetter(Subscription& sub, const StreamSpec& spec,
                                            const Reply& raw, std::int64_t deliveries) {
  std::string id;
  std::vector<std::string> fields;
  if (!EntryOf(raw, &id, &fields)) return;
  std::string reason = "delivered " + std::to_string(deliveries) + " times (limit " +
                       std::to_string(options_.max_deliveries) + ") without being acknowledged";
  auto r = Script(kDeadLetterScript, &dead_sha_,
                  {spec.key, spec.dead_key, options_.group, id, std::to_string(deliveries), reason,
                   std::to_string(options_.default_capacity)},
                  2);
  if (!r.ok() || r->is_error()) {
    Log("dead-lettering " + id + " from " + spec.key +
        " failed: " + (r.ok() ? r->str : r.status().ToString()));
    return;
  }
  dead_lettered_.fetch_add(1, std::memory_order_relaxed);
  Log("entry " + id + " on " + spec.key + " moved to " + spec.dead_key + ": " + reason);
  // Tell the sender, so its subtask fails now with a reason instead of timing out.
  auto parsed = redis::DecodeEntry(fields, options_.max_message_bytes);
  if (!parsed.ok() || parsed->from.empty() || !parsed->in_reply_to.empty() ||
      parsed->type == MessageType::kError || parsed->type == MessageType::kResult) {
    return;
  }
  Message reply;
  reply.type = MessageType::kError;
  reply.from = sub.agent_id;
  reply.to = parsed->from;
  reply.in_reply_to = parsed->id;
  nlohmann::json content = {{"error", "message " + parsed->id + " was dead-lettered to " +
                                          spec.dead_key + " after it was " + reason},
                            {"code", std::string(StatusCodeName(StatusCode::kAborted))},
                            {"worker_id", sub.agent_id}};
  if (parsed->content.is_object()) {
    for (const char* k : {"subtask_id", "task_id"}) {
      if (auto it = parsed->content.find(k); it != parsed->content.end()) content[k] = *it;
    }
  }
  reply.content = std::move(content);
  trace::Context ctx = agents::ExtractMessageContext(*parsed, options_.propagator);
  Status s = SendInternal(ctx, std::move(reply));
  if (!s.ok()) Log("error reply for dead-lettered " + parsed->id + " not sent: " + s.ToString());
}

}  // namespace minion::transports
