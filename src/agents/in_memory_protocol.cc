#include "minion/agents/in_memory_protocol.h"

#include <algorithm>
#include <cstddef>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

// Tells the core we are in a spin-wait (frees the sibling hyperthread, saves power).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A FIFO of messages in one growable ring. std::deque<Message> allocates a block for every two
// messages (a Message is 256 bytes, libstdc++ blocks are 512); the ring reuses its slots, so a
// mailbox in steady state allocates nothing per message. Slots are raw storage so that a message
// is move-constructed in and out (cheaper than move-assigning into a default-constructed slot).
// Not thread-safe (Mailbox::mu guards it).
class MessageRing {
 public:
  MessageRing() = default;
  MessageRing(const MessageRing&) = delete;
  MessageRing& operator=(const MessageRing&) = delete;
  ~MessageRing() { clear(); }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  void push_back(Message&& message) {
    if (size_ == capacity_) Grow();
    new (Slot((head_ + size_) & (capacity_ - 1))) Message(std::move(message));
    ++size_;
  }

  // Requires !empty().
  Message TakeFront() {
    Message* front = Slot(head_);
    Message message(std::move(*front));
    front->~Message();
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ == 0) {
      head_ = 0;
      // A burst into a big mailbox should not pin its peak memory for the agent's lifetime.
      if (capacity_ > kKeepSlots) Release();
    }
    return message;
  }

  void clear() {
    for (std::size_t i = 0; i < size_; ++i) Slot((head_ + i) & (capacity_ - 1))->~Message();
    head_ = size_ = 0;
    Release();
  }

 private:
  static constexpr std::size_t kKeepSlots = 128;  // ~32 KB of idle slots per mailbox
  struct alignas(Message) Storage {
    std::byte bytes[sizeof(Message)];
  };

  Message* Slot(std::size_t i) { return std::launder(reinterpret_cast<Message*>(slots_[i].bytes)); }

  void Grow() {
    std::size_t bigger = std::max<std::size_t>(8, capacity_ * 2);  // stays a power of 2
    auto fresh = std::make_unique<Storage[]>(bigger);
    for (std::size_t i = 0; i < size_; ++i) {
      Message* from = Slot((head_ + i) & (capacity_ - 1));
      new (fresh[i].bytes) Message(std::move(*from));
      from->~Message();
    }
    slots_ = std::move(fresh);
    capacity_ = bigger;
    head_ = 0;
  }

  void Release() {
    slots_.reset();
    capacity_ = 0;
  }

  std::unique_ptr<Storage[]> slots_;  // capacity_ slots, the live ones are [head_, head_ + size_)
  std::size_t capacity_ = 0;          // 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

std::int64_t ToNanos(std::chrono::nanoseconds d) { return std::max<std::int64_t>(0, d.count()); }

}  // namespace

struct InMemoryProtocol::Mailbox {
  std::string agent_id;
  std::uint32_t type_mask = ~0u;
  std::size_t capacity = 0;
  std::size_t max_concurrency = 1;
  MessageHandler handler;

  std::mutex mu;
  std::condition_variable idle_cv;
  MessageRing queue;         // guarded by mu
  std::size_t reserved = 0;  // guarded by mu; slots promised to senders finishing their span
  std::size_t active = 0;    // guarded by mu; delivery slots queued in ready_ or running
  std::size_t running = 0;   // guarded by mu
  bool closed = false;       // guarded by mu
};

InMemoryProtocol::InMemoryProtocol(InMemoryProtocolOptions options)
    : options_(std::move(options)),
      tracer_(options_.tracer),
      propagator_(options_.propagator),
      clock_(options_.clock ? options_.clock : &SystemClock()),
      spin_budget_ns_(ToNanos(options_.idle_spin_max)) {
  options_.idle_spin_min = std::min(options_.idle_spin_min, options_.idle_spin_max);
  std::size_t n = std::max<std::size_t>(1, options_.threads);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { RunPool(); });
}

InMemoryProtocol::~InMemoryProtocol() { (void)Shutdown(std::chrono::seconds(10)); }

std::shared_ptr<InMemoryProtocol::Mailbox> InMemoryProtocol::FindMailbox(
    std::string_view agent_id) const {
  std::shared_lock lock(registry_mu_);
  auto it = mailboxes_.find(agent_id);
  return it == mailboxes_.end() ? nullptr : it->second;
}

Status InMemoryProtocol::Subscribe(std::string_view agent_id, SubscribeOptions options,
                                   MessageHandler handler) {
  if (agent_id.empty()) return InvalidArgumentError("agent id must not be empty");
  if (!handler)
    return InvalidArgumentError("handler for agent '" + std::string(agent_id) + "' is empty");
  if (!accepting_.load(std::memory_order_acquire)) return UnavailableError("protocol is shut down");
  auto box = std::make_shared<Mailbox>();
  box->agent_id = std::string(agent_id);
  box->type_mask = TypeMask(options.types);
  box->capacity =
      options.mailbox_capacity ? options.mailbox_capacity : options_.default_mailbox_capacity;
  box->max_concurrency = std::max<std::size_t>(1, options.max_concurrency);
  box->handler = std::move(handler);
  std::unique_lock lock(registry_mu_);
  auto [it, inserted] = mailboxes_.emplace(box->agent_id, box);
  if (!inserted)
    return Status(StatusCode::kAlreadyExists,
                  "agent '" + box->agent_id + "' is already subscribed");
  return Status::Ok();
}

Status InMemoryProtocol::Unsubscribe(std::string_view agent_id) {
  std::shared_ptr<Mailbox> box;
  {
    std::unique_lock lock(registry_mu_);
    auto it = mailboxes_.find(agent_id);
    if (it == mailboxes_.end())
      return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
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
  if (!mailboxes_.count(agent_id)) {
    return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
  }
  groups_[std::string(group)].insert(std::string(agent_id));
  return Status::Ok();
}

Status InMemoryProtocol::LeaveGroup(std::string_view agent_id, std::string_view group) {
  std::unique_lock lock(registry_mu_);
  auto it = groups_.find(std::string(group));
  if (it == groups_.end() || !it->second.erase(std::string(agent_id))) {
    return NotFoundError("agent '" + std::string(agent_id) + "' is not in group '" +
                         std::string(group) + "'");
  }
  return Status::Ok();
}

Status InMemoryProtocol::Send(const trace::Context& parent, Message message) {
  // seq_cst pairs with Shutdown: either Shutdown sees this increment and waits for the send to
  // reach the pool, or this send sees accepting_ == false in Reserve.
  sends_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  struct InFlight {
    InMemoryProtocol* self;
    ~InFlight() {
      if (self->sends_in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          !self->accepting_.load(std::memory_order_seq_cst)) {
        self->sends_in_flight_.notify_all();
      }
    }
  } in_flight{this};

  if (message.id.empty()) message.id = NewMessageId();
  if (message.created_at == 0) message.created_at = clock_->Now();
  auto [context, span] =
      StartSendSpan(observability::TracerOrGlobal(tracer_), parent, &message, propagator_);
  std::shared_ptr<Mailbox> box;
  Status status = Reserve(message, &box);
  if (!status.ok()) {
    observability::EndSpan(span, status);
    return status;
  }
  // End the send span before the message becomes visible, so a handler (and whoever waits on
  // it) never observes a send span that is still open.
  span.End();
  bool schedule = false;
  {
    std::lock_guard lock(box->mu);
    --box->reserved;
    if (box->closed) return NotFoundError("agent '" + message.to + "' unsubscribed");
    box->queue.push_back(std::move(message));
    if (box->active < box->max_concurrency) {
      ++box->active;
      schedule = true;
    }
  }
  sent_.fetch_add(1, std::memory_order_relaxed);
  // Outside box->mu: the pool thread that takes the slot locks box->mu next, and should not
  // find this sender still holding it.
  if (schedule) Schedule(std::move(box), /*from_pool=*/false);
  return Status::Ok();
}

Status InMemoryProtocol::Reserve(const Message& message, std::shared_ptr<Mailbox>* out) {
  if (!accepting_.load(std::memory_order_seq_cst)) return UnavailableError("protocol is shut down");
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

void InMemoryProtocol::Schedule(std::shared_ptr<Mailbox> box, bool from_pool) {
  bool wake;
  {
    std::lock_guard pool_lock(pool_mu_);
    ready_.push_back(std::move(box));
    ready_size_.store(ready_.size(), std::memory_order_release);
    // A spinning thread will see ready_size_ change and re-check ready_ under pool_mu_ before it
    // sleeps, so it needs no wake-up (and waking a sleeper as well would only make the two race
    // for one entry). spinning_ and sleeping_ are read under the lock that their owners change
    // them under, so this decision cannot miss a thread on its way to sleep.
    wake = !from_pool && spinning_ == 0 && sleeping_ > 0;
  }
  if (wake) pool_cv_.notify_one();
}

Status InMemoryProtocol::Broadcast(const trace::Context& parent, std::string_view group,
                                   Message message) {
  std::vector<std::string> members;
  {
    std::shared_lock lock(registry_mu_);
    auto it = groups_.find(std::string(group));
    if (it == groups_.end())
      return NotFoundError("group '" + std::string(group) + "' has no members");
    members.reserve(it->second.size());
    for (const auto& member : it->second) {
      if (member != message.from) members.push_back(member);
    }
  }
  Status first_error;
  for (std::size_t i = 0; i < members.size(); ++i) {
    // The last recipient takes the original: one content copy fewer per broadcast.
    Message copy = i + 1 == members.size() ? std::move(message) : message;
    copy.id.clear();
    copy.headers.clear();
    copy.to = members[i];
    Status s = Send(parent, std::move(copy));
    if (!s.ok() && first_error.ok()) first_error = s.WithContext("broadcast to " + members[i]);
  }
  return first_error;
}

bool InMemoryProtocol::SpinForWork(std::chrono::nanoseconds budget) const {
  // Pause, not sched_yield: measured on a loaded 2-vCPU VM, a yield hands the core to another
  // process for a whole time slice while this thread still counts as spinning (so senders wake
  // nobody), which turned 6 us round trips into 1-2 ms ones. Only a budget far above the
  // useful range (tests use an hour) yields, so it cannot monopolise a core.
  constexpr unsigned kPausesPerClockCheck = 16;  // ~0.5 us between clock reads
  constexpr unsigned kPausesPerYield = 2048;     // ~50-100 us
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    // acquire pairs with the release store in Schedule; the entry itself is read under pool_mu_.
    if (ready_size_.load(std::memory_order_acquire) != 0) return true;
    if (stop_spin_.load(std::memory_order_relaxed)) return true;
    if (i % kPausesPerYield == 0) {
      std::this_thread::yield();
    } else {
      CpuRelax();
    }
    if (i % kPausesPerClockCheck == 0 && std::chrono::steady_clock::now() - start >= budget)
      return false;
  }
}

void InMemoryProtocol::AdaptSpin(std::chrono::nanoseconds gap) {
  // Work that arrived within idle_spin_max of going idle would have been (or was) caught by a
  // spin of twice that gap; work that came later teaches us that spinning is wasted here.
  const std::int64_t max = ToNanos(options_.idle_spin_max);
  const std::int64_t min = ToNanos(options_.idle_spin_min);
  const std::int64_t g = gap.count();
  std::int64_t budget = spin_budget_ns_.load(std::memory_order_relaxed);
  budget = g <= max ? std::clamp<std::int64_t>(2 * g, min, max) : std::max(min, budget / 2);
  // relaxed: a heuristic; a stale value only makes one spin longer or shorter.
  spin_budget_ns_.store(budget, std::memory_order_relaxed);
}

std::shared_ptr<InMemoryProtocol::Mailbox> InMemoryProtocol::NextReady(bool* drop) {
  std::unique_lock lock(pool_mu_);
  const bool spin_enabled = options_.idle_spin_max.count() > 0;
  std::chrono::steady_clock::time_point idle_since{};
  bool may_spin = true;  // once per idle period: a thread woken for nothing goes back to sleep
  bool spun = false;
  while (ready_.empty()) {
    if (stopping_) return nullptr;
    if (idle_since == std::chrono::steady_clock::time_point{} && spin_enabled) {
      idle_since = std::chrono::steady_clock::now();
    }
    if (may_spin && spin_enabled && spinning_ == 0) {
      may_spin = false;
      ++spinning_;
      lock.unlock();
      spun = SpinForWork(std::chrono::nanoseconds(spin_budget_ns_.load(std::memory_order_relaxed)));
      lock.lock();
      --spinning_;
      continue;
    }
    spun = false;
    ++sleeping_;
    parks_.fetch_add(1, std::memory_order_relaxed);
    pool_cv_.wait(lock);
    --sleeping_;
  }
  if (spun) spin_pickups_.fetch_add(1, std::memory_order_relaxed);
  if (idle_since != std::chrono::steady_clock::time_point{}) {
    AdaptSpin(std::chrono::steady_clock::now() - idle_since);
  }
  auto box = std::move(ready_.front());
  ready_.pop_front();
  ready_size_.store(ready_.size(), std::memory_order_release);
  if (ready_.empty()) {
    drained_cv_.notify_all();
  } else if (spinning_ == 0 && sleeping_ > 0) {
    // More slots are waiting than this thread can take: entries queued while a spinner was
    // active woke nobody, so pass the wake-up on (each woken thread does the same).
    pool_cv_.notify_one();
  }
  *drop = drain_deadline_passed_;
  return box;
}

void InMemoryProtocol::RunPool() {
  for (;;) {
    bool drop = false;
    std::shared_ptr<Mailbox> box = NextReady(&drop);
    if (!box) return;  // stopping and drained
    std::unique_lock box_lock(box->mu);
    if (drop) box->queue.clear();
    if (box->closed || box->queue.empty()) {
      --box->active;
      box->idle_cv.notify_all();
      continue;
    }
    Message message = box->queue.TakeFront();
    ++box->running;
    box_lock.unlock();
    // The parent comes from the message headers: the same path a networked transport takes.
    trace::Context context = ExtractMessageContext(message, propagator_);
    tls_current_box = box.get();
    tls_current_protocol = this;
    box->handler(context, std::move(message));
    tls_current_box = nullptr;
    tls_current_protocol = nullptr;
    delivered_.fetch_add(1, std::memory_order_relaxed);
    bool reschedule = false;
    {
      std::lock_guard lock(box->mu);
      --box->running;
      if (!box->closed && !box->queue.empty()) {
        reschedule = true;  // keeps this delivery slot
      } else {
        --box->active;
      }
      box->idle_cv.notify_all();
    }
    // This thread goes straight back to the ready queue, so the entry needs no wake-up; if other
    // entries are ahead of it, NextReady passes a wake-up on.
    if (reschedule) Schedule(std::move(box), /*from_pool=*/true);
  }
}

Status InMemoryProtocol::Shutdown(std::chrono::milliseconds timeout) {
  if (tls_current_protocol == this) {
    return FailedPreconditionError("Shutdown called from inside a message handler");
  }
  std::lock_guard shutdown_lock(shutdown_mu_);
  accepting_.store(false, std::memory_order_seq_cst);
  // Sends that passed the accepting_ check finish queueing before the pool may stop. They never
  // block (a full mailbox is an error, not a wait), so this wait is short.
  for (std::uint32_t n; (n = sends_in_flight_.load(std::memory_order_seq_cst)) != 0;) {
    sends_in_flight_.wait(n, std::memory_order_seq_cst);
  }
  if (threads_.empty()) return Status::Ok();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool drained = true;
  {
    // Wait for queued deliveries; handlers may still be running, which join() below waits for.
    std::unique_lock lock(pool_mu_);
    stopping_ = true;
    stop_spin_.store(true, std::memory_order_relaxed);
    pool_cv_.notify_all();
    drained = drained_cv_.wait_until(lock, deadline, [&] { return ready_.empty(); });
    if (!drained) drain_deadline_passed_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (!drained)
    return DeadlineExceededError(
        "protocol shutdown dropped undelivered messages after the timeout");
  return Status::Ok();
}

InMemoryProtocol::Stats InMemoryProtocol::stats() const {
  return Stats{sent_.load(), delivered_.load(), rejected_full_.load(), spin_pickups_.load(),
               parks_.load()};
}

}  // namespace minion::agents
