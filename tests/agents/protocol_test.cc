#include "minion/agents/in_memory_protocol.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "support/gate.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;

// A gate a handler waits on until the test opens it.

InMemoryProtocolOptions Opts(std::size_t threads, std::shared_ptr<trace::Tracer> tracer = nullptr) {
  InMemoryProtocolOptions o;
  o.threads = threads;
  o.tracer = std::move(tracer);
  return o;
}

SubscribeOptions Sub(std::vector<MessageType> types, std::size_t capacity = 0,
                     std::size_t concurrency = 1) {
  SubscribeOptions o;
  o.types = std::move(types);
  o.mailbox_capacity = capacity;
  o.max_concurrency = concurrency;
  return o;
}

Message Make(std::string from, std::string to, MessageType type, nlohmann::json content = {}) {
  Message m;
  m.from = std::move(from);
  m.to = std::move(to);
  m.type = type;
  m.content = std::move(content);
  return m;
}

TEST(InMemoryProtocolTest, HandlerGetsSendSpanContextFromHeaders) {
  TracingRig tracing;
  InMemoryProtocol protocol(Opts(2, tracing.tracer));
  std::promise<std::pair<trace::Context, Message>> got;
  ASSERT_TRUE(protocol
                  .Subscribe("b", {},
                             [&](const trace::Context& ctx, Message m) {
                               got.set_value({ctx, std::move(m)});
                             })
                  .ok());
  auto [parent_ctx, parent] = observability::StartSpan(*tracing.tracer, trace::Context(), "parent",
                                                       observability::Component::kMultiAgent);
  ASSERT_TRUE(protocol.Send(parent_ctx, Make("a", "b", MessageType::kTask, {{"x", 1}})).ok());
  auto [ctx, message] = got.get_future().get();
  parent.End();

  EXPECT_EQ(message.content["x"], 1);
  ASSERT_TRUE(message.headers.count("traceparent"));
  auto spans = tracing.Spans();
  auto sends = minion::testing::Named(spans, "protocol.send");
  ASSERT_EQ(sends.size(), 1u);
  const auto& send = *sends[0];
  EXPECT_EQ(send.kind, trace::SpanKind::kProducer);
  EXPECT_EQ(minion::testing::Str(send, "operation"), "send");
  EXPECT_EQ(minion::testing::Str(send, "multiagent.message.type"), "task");
  EXPECT_EQ(minion::testing::Str(send, "multiagent.message.id"), message.id);
  EXPECT_EQ(send.parent_span_id, parent_ctx.span_context().span_id());
  // The receiver's context is the send span, as written in the header.
  EXPECT_EQ(ctx.span_context().span_id(), send.span_id);
  EXPECT_EQ(ctx.span_context().trace_id(), send.trace_id);
  EXPECT_TRUE(ctx.span_context().IsRemote());
  EXPECT_NE(message.headers.at("traceparent").find(send.span_id.ToHex()), std::string::npos);
}

TEST(InMemoryProtocolTest, RejectsUnknownAgentAndUnacceptedType) {
  InMemoryProtocol protocol(Opts(1));
  ASSERT_TRUE(
      protocol.Subscribe("w", Sub({MessageType::kTask}), [](const trace::Context&, Message) {})
          .ok());
  Status unknown = protocol.Send({}, Make("a", "nobody", MessageType::kTask));
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("nobody"), std::string::npos);
  Status wrong_type = protocol.Send({}, Make("a", "w", MessageType::kQuery));
  EXPECT_EQ(wrong_type.code(), StatusCode::kNotFound);
  EXPECT_NE(wrong_type.message().find("'query'"), std::string::npos);
  EXPECT_EQ(protocol.Subscribe("w", {}, [](const trace::Context&, Message) {}).code(),
            StatusCode::kAlreadyExists);
}

TEST(InMemoryProtocolTest, FullMailboxIsResourceExhaustedAndSendSpanIsError) {
  TracingRig tracing;
  InMemoryProtocol protocol(Opts(2, tracing.tracer));
  minion::testing::Gate gate;
  minion::testing::Latch entered(1);
  std::atomic<int> handled{0};
  minion::testing::Latch all_handled(3);
  ASSERT_TRUE(protocol
                  .Subscribe("slow", Sub({}, 2, 1),
                             [&](const trace::Context&, Message) {
                               if (handled.fetch_add(1) == 0) {
                                 entered.CountDown();
                                 EXPECT_TRUE(gate.Wait());
                               }
                               all_handled.CountDown();
                             })
                  .ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  ASSERT_TRUE(entered.Wait());  // the first message is out of the mailbox and in the handler
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  Status full = protocol.Send({}, Make("a", "slow", MessageType::kEvent));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("mailbox of agent 'slow' is full"), std::string::npos);
  EXPECT_EQ(protocol.stats().rejected_full, 1u);
  gate.Open();
  ASSERT_TRUE(all_handled.Wait());
  EXPECT_EQ(handled.load(), 3);

  auto spans = tracing.Spans();
  int errors = 0;
  for (const auto* s : minion::testing::Named(spans, "protocol.send")) {
    if (s->status == trace::SpanStatusCode::kError) {
      ++errors;
      EXPECT_TRUE(minion::testing::HasExceptionEvent(*s));
    }
  }
  EXPECT_EQ(errors, 1);
}

TEST(InMemoryProtocolTest, SingleConcurrencyDeliversInSendOrder) {
  InMemoryProtocol protocol(Opts(4));
  std::vector<int> seen;
  std::mutex mu;
  minion::testing::Latch done(200);
  ASSERT_TRUE(protocol
                  .Subscribe("ordered", {},
                             [&](const trace::Context&, Message m) {
                               std::lock_guard lock(mu);
                               seen.push_back(m.content.get<int>());
                               done.CountDown();
                             })
                  .ok());
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(protocol.Send({}, Make("a", "ordered", MessageType::kEvent, i)).ok());
  ASSERT_TRUE(done.Wait());
  for (int i = 0; i < 200; ++i) ASSERT_EQ(seen[i], i);
}

TEST(InMemoryProtocolTest, BroadcastReachesGroupExceptSender) {
  InMemoryProtocol protocol(Opts(2));
  minion::testing::Latch got(2);
  std::atomic<int> to_sender{0};
  for (std::string id : {"g1", "g2", "g3"}) {
    ASSERT_TRUE(protocol
                    .Subscribe(id, {},
                               [&, id](const trace::Context&, Message) {
                                 if (id == "g1") to_sender++;
                                 got.CountDown();
                               })
                    .ok());
    ASSERT_TRUE(protocol.JoinGroup(id, "team").ok());
  }
  ASSERT_TRUE(protocol.Broadcast({}, "team", Make("g1", "", MessageType::kInform)).ok());
  ASSERT_TRUE(got.Wait());
  ASSERT_TRUE(protocol.Shutdown().ok());
  EXPECT_EQ(to_sender.load(), 0);
  EXPECT_EQ(protocol.stats().delivered, 2u);
  EXPECT_EQ(protocol.Broadcast({}, "nobody", Make("g1", "", MessageType::kInform)).code(),
            StatusCode::kNotFound);
}

TEST(InMemoryProtocolTest, AccessPolicyDeniesAndRestricts) {
  InMemoryProtocol protocol(Opts(1));
  for (std::string id : {"x", "y"}) {
    ASSERT_TRUE(protocol.Subscribe(id, {}, [](const trace::Context&, Message) {}).ok());
  }
  protocol.access_policy().Deny("mallory", "x");
  EXPECT_EQ(protocol.Send({}, Make("mallory", "x", MessageType::kEvent)).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(protocol.Send({}, Make("alice", "x", MessageType::kEvent)).ok());
  protocol.access_policy().Allow("alice", "y");
  EXPECT_TRUE(protocol.Send({}, Make("alice", "y", MessageType::kEvent)).ok());
  Status s = protocol.Send({}, Make("bob", "y", MessageType::kEvent));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("allow list"), std::string::npos);
}

TEST(InMemoryProtocolTest, ShutdownDeliversQueuedMessagesThenRejects) {
  InMemoryProtocol protocol(Opts(1));
  minion::testing::Gate gate;
  minion::testing::Latch entered(1);
  std::atomic<int> handled{0};
  ASSERT_TRUE(protocol
                  .Subscribe("w", {},
                             [&](const trace::Context&, Message) {
                               if (handled.fetch_add(1) == 0) {
                                 entered.CountDown();
                                 EXPECT_TRUE(gate.Wait());
                               }
                             })
                  .ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(protocol.Send({}, Make("a", "w", MessageType::kEvent)).ok());
  ASSERT_TRUE(entered.Wait());
  auto shutdown =
      std::async(std::launch::async, [&] { return protocol.Shutdown(std::chrono::seconds(30)); });
  gate.Open();
  EXPECT_TRUE(shutdown.get().ok());
  EXPECT_EQ(handled.load(), 5);
  EXPECT_EQ(protocol.Send({}, Make("a", "w", MessageType::kEvent)).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(protocol.Shutdown().ok());  // idempotent
}

TEST(InMemoryProtocolTest, UnsubscribeFromOwnHandlerDoesNotDeadlock) {
  InMemoryProtocol protocol(Opts(1));
  std::promise<Status> result;
  ASSERT_TRUE(protocol
                  .Subscribe("self", {},
                             [&](const trace::Context&, Message) {
                               result.set_value(protocol.Unsubscribe("self"));
                             })
                  .ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "self", MessageType::kEvent)).ok());
  EXPECT_TRUE(result.get_future().get().ok());
  EXPECT_EQ(protocol.Send({}, Make("a", "self", MessageType::kEvent)).code(),
            StatusCode::kNotFound);
}

// Pool configurations the delivery tests run under: idle threads always sleep on the condition
// variable (every send has to wake one), or spin for an hour, i.e. never sleep while the test
// runs (every send lands while a pool thread spins or is busy).
InMemoryProtocolOptions ParkingPool(std::size_t threads) {
  InMemoryProtocolOptions o = Opts(threads);
  o.idle_spin_max = std::chrono::nanoseconds(0);
  return o;
}
InMemoryProtocolOptions SpinningPool(std::size_t threads) {
  InMemoryProtocolOptions o = Opts(threads);
  o.idle_spin_max = o.idle_spin_min = std::chrono::hours(1);
  return o;
}

// Sends 300 messages to each of two agents, alternating between one-at-a-time (the next send
// waits until the previous message was handled, so the pool has gone idle in between) and
// bursts of 20, and checks each agent saw every message once, in send order.
void ExpectEveryMessageOnceInOrder(InMemoryProtocol& protocol) {
  constexpr int kPerAgent = 300;
  struct Seen {
    std::mutex mu;
    std::vector<int> values;
  };
  std::array<Seen, 2> seen;
  std::atomic<int> handled{0};
  for (int a = 0; a < 2; ++a) {
    ASSERT_TRUE(protocol
                    .Subscribe("agent" + std::to_string(a), Sub({}, 1024, 1),
                               [&, a](const trace::Context&, Message m) {
                                 {
                                   std::lock_guard lock(seen[a].mu);
                                   seen[a].values.push_back(m.content.get<int>());
                                 }
                                 handled.fetch_add(1, std::memory_order_release);
                                 handled.notify_all();
                               })
                    .ok());
  }
  auto wait_handled = [&](int n) {
    for (int v; (v = handled.load(std::memory_order_acquire)) < n;) handled.wait(v);
  };
  int sent = 0;
  for (int i = 0; i < kPerAgent;) {
    int burst = (i / 20) % 2 == 0 ? 1 : 20;
    for (int k = 0; k < burst && i < kPerAgent; ++k, ++i) {
      for (int a = 0; a < 2; ++a) {
        ASSERT_TRUE(
            protocol.Send({}, Make("t", "agent" + std::to_string(a), MessageType::kEvent, i)).ok());
        ++sent;
      }
    }
    wait_handled(sent);
  }
  ASSERT_TRUE(protocol.Shutdown().ok());
  EXPECT_EQ(handled.load(), 2 * kPerAgent);
  for (int a = 0; a < 2; ++a) {
    ASSERT_EQ(seen[a].values.size(), static_cast<std::size_t>(kPerAgent)) << "agent" << a;
    for (int i = 0; i < kPerAgent; ++i) ASSERT_EQ(seen[a].values[i], i) << "agent" << a;
  }
  EXPECT_EQ(protocol.stats().sent, static_cast<std::uint64_t>(2 * kPerAgent));
  EXPECT_EQ(protocol.stats().delivered, static_cast<std::uint64_t>(2 * kPerAgent));
}

TEST(InMemoryProtocolTest, ParkedPoolDeliversEveryMessageOnceInOrder) {
  InMemoryProtocol protocol(ParkingPool(2));
  ExpectEveryMessageOnceInOrder(protocol);
  EXPECT_EQ(protocol.stats().spin_pickups, 0u);  // spinning is off: every pickup was a wake-up
}

TEST(InMemoryProtocolTest, SpinningPoolDeliversEveryMessageOnceInOrder) {
  InMemoryProtocol protocol(SpinningPool(1));
  ExpectEveryMessageOnceInOrder(protocol);
  // The only pool thread never slept: every message was sent while it spun or was busy.
  EXPECT_EQ(protocol.stats().parks, 0u);
}

TEST(InMemoryProtocolTest, SpinningAndSleepingThreadsTogetherDeliverEveryMessageOnceInOrder) {
  InMemoryProtocol protocol(SpinningPool(3));  // one thread spins, the other two sleep
  ExpectEveryMessageOnceInOrder(protocol);
}

TEST(InMemoryProtocolTest, ShutdownStopsASpinningThread) {
  // With an hour-long spin budget, Shutdown only returns if it interrupts the spin.
  InMemoryProtocol protocol(SpinningPool(2));
  minion::testing::Latch handled(1);
  ASSERT_TRUE(
      protocol.Subscribe("w", {}, [&](const trace::Context&, Message) { handled.CountDown(); })
          .ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "w", MessageType::kEvent)).ok());
  ASSERT_TRUE(handled.Wait());
  auto shutdown =
      std::async(std::launch::async, [&] { return protocol.Shutdown(std::chrono::seconds(30)); });
  ASSERT_EQ(shutdown.wait_for(std::chrono::minutes(2)),
            std::future_status::ready);  // failure bound only
  EXPECT_TRUE(shutdown.get().ok());
  EXPECT_EQ(protocol.stats().delivered, 1u);
}

TEST(InMemoryProtocolTest, DestructorStopsASpinningPoolThatNeverHadWork) {
  auto protocol = std::make_unique<InMemoryProtocol>(SpinningPool(2));
  auto destroyed = std::async(std::launch::async, [&] { protocol.reset(); });
  ASSERT_EQ(destroyed.wait_for(std::chrono::minutes(2)),
            std::future_status::ready);  // failure bound only
}

TEST(InMemoryProtocolTest, ConcurrentAgentsAreHandledInParallelWhileOneThreadSpins) {
  // Two agents each block in their handler until both have started: this only completes if the
  // second message got its own thread, i.e. a send that found a spinner busy still woke a
  // sleeping thread (the spinner passes the wake-up on).
  InMemoryProtocol protocol(SpinningPool(2));
  minion::testing::Latch both_running(2);
  minion::testing::Latch done(2);
  for (std::string id : {"p", "q"}) {
    ASSERT_TRUE(protocol
                    .Subscribe(id, {},
                               [&](const trace::Context&, Message) {
                                 EXPECT_TRUE(both_running.ArriveAndWait());
                                 done.CountDown();
                               })
                    .ok());
  }
  ASSERT_TRUE(protocol.Send({}, Make("a", "p", MessageType::kEvent)).ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "q", MessageType::kEvent)).ok());
  ASSERT_TRUE(done.Wait());
  EXPECT_TRUE(protocol.Shutdown().ok());
}

TEST(InMemoryProtocolTest, MaxConcurrencyRunsThatManyHandlersAtOnceWithSpinningPool) {
  InMemoryProtocol protocol(SpinningPool(3));
  minion::testing::Latch three_running(3);
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  minion::testing::Latch done(6);
  ASSERT_TRUE(protocol
                  .Subscribe("wide", Sub({}, 16, 3),
                             [&](const trace::Context&, Message m) {
                               int now = running.fetch_add(1) + 1;
                               int prev = max_running.load();
                               while (prev < now && !max_running.compare_exchange_weak(prev, now)) {
                               }
                               if (m.content.get<int>() < 3) {
                                 EXPECT_TRUE(three_running.ArriveAndWait());
                               }
                               running.fetch_sub(1);
                               done.CountDown();
                             })
                  .ok());
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(protocol.Send({}, Make("a", "wide", MessageType::kEvent, i)).ok());
  ASSERT_TRUE(done.Wait());
  ASSERT_TRUE(protocol.Shutdown().ok());
  EXPECT_EQ(max_running.load(), 3);  // the first three met at the latch; never more than 3
}

TEST(InMemoryProtocolTest, BroadcastLastCopyKeepsContent) {
  InMemoryProtocol protocol(Opts(2));
  std::mutex mu;
  std::map<std::string, nlohmann::json> got;
  minion::testing::Latch all(3);
  for (std::string id : {"m1", "m2", "m3", "m4"}) {
    ASSERT_TRUE(protocol
                    .Subscribe(id, {},
                               [&, id](const trace::Context&, Message m) {
                                 {
                                   std::lock_guard lock(mu);
                                   got[id] = m.content;
                                 }
                                 all.CountDown();
                               })
                    .ok());
    ASSERT_TRUE(protocol.JoinGroup(id, "g").ok());
  }
  ASSERT_TRUE(protocol.Broadcast({}, "g", Make("m4", "", MessageType::kInform, {{"k", "v"}})).ok());
  ASSERT_TRUE(all.Wait());
  ASSERT_TRUE(protocol.Shutdown().ok());
  ASSERT_EQ(got.size(), 3u);
  for (const auto& [id, content] : got) EXPECT_EQ(content, (nlohmann::json{{"k", "v"}})) << id;
}

}  // namespace
}  // namespace minion::agents
