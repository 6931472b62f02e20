#include "minion/agents/in_memory_protocol.h"

#include <algorithm>

namespace minion::agents {
namespace {

// The mailbox whose handler the current thread is running; lets Unsubscribe and Shutdown called
// from inside a handler avoid waiting on themselves.
thread_local const void* tls_current_box = nullptr;
thread_local const void* tls_current_protocol = nullptr;

std::uint32_t TypeMask(const std::vector<MessageType>& types) {
  if (types.empty()) return ~0u;
  std::uint32_t mask = 0;
  for (auto t : types) mask |= 1u << static_cast<unsigned>(t);
  return mask;
}

}  // namespace

struct InMemoryProtocol::Mailbox {
  std::string agent_id;
  std::uint32_t type_mask = ~0u;
  std::size_t capacity = 0;
  std::size_t max_concurrency = 1;
  MessageHandler handler;

  std::mutex mu;
  std::condition_variable idle_cv;
  std::deque<Message> queue;  // guarded by mu
  std::size_t reserved = 0;   // guarded by mu; slots promised to senders finishing their span
  std::size_t active = 0;     // guarded by mu; delivery slots queued in ready_ or running
  std::size_t running = 0;    // guarded by mu
  bool closed = false;        // guarded by mu
};

InMemoryProtocol::InMemoryProtocol(InMemoryProtocolOptions options)
    : options_(std::move(options)),
      tracer_(options_.tracer ? options_.tracer
                              : std::make_shared<observability::Tracer>(observability::GetTracer())),
      propagator_(options_.propagator),
      clock_(options_.clock ? options_.clock : &SystemClock()) {
  std::size_t n = std::max<std::size_t>(1, options_.threads);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { RunPool(); });
}

InMemoryProtocol::~InMemoryProtocol() { (void)Shutdown(std::chrono::seconds(10)); }

std::shared_ptr<InMemoryProtocol::Mailbox> InMemoryProtocol::FindMailbox(
    std::string_view agent_id) const {
  std::shared_lock lock(registry_mu_);
  auto it = mailboxes_.find(std::string(agent_id));
  return it == mailboxes_.end() ? nullptr : it->second;
}

Status InMemoryProtocol::Subscribe(std::string_view agent_id, SubscribeOptions options,
                                   MessageHandler handler) {
  if (agent_id.empty()) return InvalidArgumentError("agent id must not be empty");
  if (!handler) return InvalidArgumentError("handler for agent '" + std::string(agent_id) + "' is empty");
  if (!accepting_.load(std::memory_order_acquire)) return UnavailableError("protocol is shut down");
  auto box = std::make_shared<Mailbox>();
  box->agent_id = std::string(agent_id);
  box->type_mask = TypeMask(options.types);
  box->capacity = options.mailbox_capacity ? options.mailbox_capacity : options_.default_mailbox_capacity;
  box->max_concurrency = std::max<std::size_t>(1, options.max_concurrency);
  box->handler = std::move(handler);
  std::unique_lock lock(registry_mu_);
  auto [it, inserted] = mailboxes_.emplace(box->agent_id, box);
  if (!inserted) return Status(StatusCode::kAlreadyExists, "agent '" + box->agent_id + "' is already subscribed");
  return Status::Ok();
}

Status InMemoryProtocol::Unsubscribe(std::string_view agent_id) {
  std::shared_ptr<Mailbox> box;
  {
    std::unique_lock lock(registry_mu_);
    auto it = mailboxes_.find(std::string(agent_id));
    if (it == mailboxes_.end()) return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
    box = std::move(it->second);
    mailboxes_.erase(it);
    for (auto& [name, members] : groups_) members.erase(std::string(agent_id));
  }
  std::unique_lock lock(box->mu);
  box->closed = true;
  box->queue.clear();
  std::size_t self = tls_current_box == box.get() ? 1 : 0;
  box->idle_cv.wait(lock, [&] { return box->running <= self; });
  return Status::Ok();
}

Status InMemoryProtocol::JoinGroup(std::string_view agent_id, std::string_view group) {
  std::unique_lock lock(registry_mu_);
  if (!mailboxes_.count(std::string(agent_id))) {
    return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
  }
  groups_[std::string(group)].insert(std::string(agent_id));
  return Status::Ok();
}

Status InMemoryProtocol::LeaveGroup(std::string_view agent_id, std::string_view group) {
  std::unique_lock lock(registry_mu_);
  auto it = groups_.find(std::string(group));
  if (it == groups_.end() || !it->second.erase(std::string(agent_id))) {
    return NotFoundError("agent '" + std::string(agent_id) + "' is not in group '" + std::string(group) + "'");
  }
  return Status::Ok();
}

Status InMemoryProtocol::Send(const trace::Context& parent, Message message) {
  if (message.id.empty()) message.id = NewMessageId();
  if (message.created_at == 0) message.created_at = clock_->Now();
  auto [context, span] = StartSendSpan(*tracer_, parent, &message, propagator_);
  std::shared_ptr<Mailbox> box;
  Status status = Reserve(message, &box);
  if (!status.ok()) {
    observability::EndSpan(span, status);
    return status;
  }
  // End the send span before the message becomes visible, so a handler (and whoever waits on
  // it) never observes a send span that is still open.
  span.End();
  std::lock_guard lock(box->mu);
  --box->reserved;
  if (box->closed) return NotFoundError("agent '" + message.to + "' unsubscribed");
  box->queue.push_back(std::move(message));
  if (box->active < box->max_concurrency) {
    ++box->active;
    Schedule(box);
  }
  sent_.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

Status InMemoryProtocol::Reserve(const Message& message, std::shared_ptr<Mailbox>* out) {
  if (!accepting_.load(std::memory_order_acquire)) return UnavailableError("protocol is shut down");
  MINION_RETURN_IF_ERROR(policy_.Check(message.from, message.to));
  auto box = FindMailbox(message.to);
  if (!box) return NotFoundError("no agent '" + message.to + "' is subscribed");
  if ((box->type_mask & (1u << static_cast<unsigned>(message.type))) == 0) {
    return NotFoundError("agent '" + message.to + "' does not accept '" +
                         std::string(MessageTypeName(message.type)) + "' messages");
  }
  std::lock_guard lock(box->mu);
  if (box->closed) return NotFoundError("agent '" + message.to + "' unsubscribed");
  if (box->queue.size() + box->reserved >= box->capacity) {
    rejected_full_.fetch_add(1, std::memory_order_relaxed);
    return ResourceExhaustedError("mailbox of agent '" + message.to + "' is full (" +
                                  std::to_string(box->capacity) + " messages waiting)");
  }
  ++box->reserved;
  *out = std::move(box);
  return Status::Ok();
}

void InMemoryProtocol::Schedule(std::shared_ptr<Mailbox> box) {
  {
    std::lock_guard pool_lock(pool_mu_);
    ready_.push_back(std::move(box));
  }
  pool_cv_.notify_one();
}

Status InMemoryProtocol::Broadcast(const trace::Context& parent, std::string_view group,
                                   Message message) {
  std::vector<std::string> members;
  {
    std::shared_lock lock(registry_mu_);
    auto it = groups_.find(std::string(group));
    if (it == groups_.end()) return NotFoundError("group '" + std::string(group) + "' has no members");
    members.assign(it->second.begin(), it->second.end());
  }
  Status first_error;
  for (const auto& member : members) {
    if (member == message.from) continue;
    Message copy = message;
    copy.id.clear();
    copy.headers.clear();
    copy.to = member;
    Status s = Send(parent, std::move(copy));
    if (!s.ok() && first_error.ok()) first_error = s.WithContext("broadcast to " + member);
  }
  return first_error;
}

void InMemoryProtocol::RunPool() {
  for (;;) {
    std::shared_ptr<Mailbox> box;
    bool drop = false;
    {
      std::unique_lock lock(pool_mu_);
      pool_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stopping and drained
      box = std::move(ready_.front());
      ready_.pop_front();
      if (ready_.empty()) drained_cv_.notify_all();
      drop = drain_deadline_passed_;
    }
    Message message;
    {
      std::lock_guard lock(box->mu);
      if (drop) box->queue.clear();
      if (box->closed || box->queue.empty()) {
        --box->active;
        box->idle_cv.notify_all();
        continue;
      }
      message = std::move(box->queue.front());
      box->queue.pop_front();
      ++box->running;
    }
    // The parent comes from the message headers: the same path a networked transport takes.
    trace::Context context = ExtractMessageContext(message, propagator_);
    tls_current_box = box.get();
    tls_current_protocol = this;
    box->handler(context, std::move(message));
    tls_current_box = nullptr;
    tls_current_protocol = nullptr;
    delivered_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(box->mu);
      --box->running;
      if (!box->closed && !box->queue.empty()) {
        Schedule(box);  // keeps this delivery slot
      } else {
        --box->active;
      }
      box->idle_cv.notify_all();
    }
  }
}

Status InMemoryProtocol::Shutdown(std::chrono::milliseconds timeout) {
  if (tls_current_protocol == this) {
    return FailedPreconditionError("Shutdown called from inside a message handler");
  }
  std::lock_guard shutdown_lock(shutdown_mu_);
  accepting_.store(false, std::memory_order_release);
  if (threads_.empty()) return Status::Ok();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool drained = true;
  {
    // Wait for queued deliveries; handlers may still be running, which join() below waits for.
    std::unique_lock lock(pool_mu_);
    stopping_ = true;
    pool_cv_.notify_all();
    drained = drained_cv_.wait_until(lock, deadline, [&] { return ready_.empty(); });
    if (!drained) drain_deadline_passed_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (!drained) return DeadlineExceededError("protocol shutdown dropped undelivered messages after the timeout");
  return Status::Ok();
}

InMemoryProtocol::Stats InMemoryProtocol::stats() const {
  return Stats{sent_.load(), delivered_.load(), rejected_full_.load()};
}

}  // namespace minion::agents
