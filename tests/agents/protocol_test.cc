#include "minion/agents/in_memory_protocol.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <vector>

#include "agents/trace_fixture.h"

namespace minion::agents {
namespace {

using testing::TraceFixture;

// A gate a handler waits on until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

InMemoryProtocolOptions Opts(std::size_t threads, std::shared_ptr<observability::Tracer> tracer = nullptr) {
  InMemoryProtocolOptions o;
  o.threads = threads;
  o.tracer = std::move(tracer);
  return o;
}

SubscribeOptions Sub(std::vector<MessageType> types, std::size_t capacity = 0, std::size_t concurrency = 1) {
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
  TraceFixture tracing;
  InMemoryProtocol protocol(Opts(2, tracing.tracer()));
  std::promise<std::pair<trace::Context, Message>> got;
  ASSERT_TRUE(protocol.Subscribe("b", {}, [&](const trace::Context& ctx, Message m) {
    got.set_value({ctx, std::move(m)});
  }).ok());
  auto [parent_ctx, parent] = tracing.tracer()->StartSpan(trace::Context(), "parent",
                                                         observability::Component::kMultiAgent);
  ASSERT_TRUE(protocol.Send(parent_ctx, Make("a", "b", MessageType::kTask, {{"x", 1}})).ok());
  auto [ctx, message] = got.get_future().get();
  parent.End();

  EXPECT_EQ(message.content["x"], 1);
  ASSERT_TRUE(message.headers.count("traceparent"));
  auto spans = tracing.Spans();
  auto sends = TraceFixture::Named(spans, "protocol.send");
  ASSERT_EQ(sends.size(), 1u);
  const auto& send = *sends[0];
  EXPECT_EQ(send.kind, trace::SpanKind::kProducer);
  EXPECT_EQ(TraceFixture::Str(send, "operation"), "send");
  EXPECT_EQ(TraceFixture::Str(send, "multiagent.message.type"), "task");
  EXPECT_EQ(TraceFixture::Str(send, "multiagent.message.id"), message.id);
  EXPECT_EQ(send.parent_span_id, parent_ctx.span_context().span_id());
  // The receiver's context is the send span, as written in the header.
  EXPECT_EQ(ctx.span_context().span_id(), send.span_id);
  EXPECT_EQ(ctx.span_context().trace_id(), send.trace_id);
  EXPECT_TRUE(ctx.span_context().IsRemote());
  EXPECT_NE(message.headers.at("traceparent").find(send.span_id.ToHex()), std::string::npos);
}

TEST(InMemoryProtocolTest, RejectsUnknownAgentAndUnacceptedType) {
  InMemoryProtocol protocol(Opts(1));
  ASSERT_TRUE(protocol.Subscribe("w", Sub({MessageType::kTask}), [](const trace::Context&, Message) {}).ok());
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
  TraceFixture tracing;
  InMemoryProtocol protocol(Opts(2, tracing.tracer()));
  Gate gate;
  std::latch entered(1);
  std::atomic<int> handled{0};
  std::latch all_handled(3);
  ASSERT_TRUE(protocol.Subscribe("slow", Sub({}, 2, 1),
                                 [&](const trace::Context&, Message) {
                                   if (handled.fetch_add(1) == 0) {
                                     entered.count_down();
                                     gate.Wait();
                                   }
                                   all_handled.count_down();
                                 }).ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  entered.wait();  // the first message is out of the mailbox and in the handler
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "slow", MessageType::kEvent)).ok());
  Status full = protocol.Send({}, Make("a", "slow", MessageType::kEvent));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("mailbox of agent 'slow' is full"), std::string::npos);
  EXPECT_EQ(protocol.stats().rejected_full, 1u);
  gate.Open();
  all_handled.wait();
  EXPECT_EQ(handled.load(), 3);

  auto spans = tracing.Spans();
  int errors = 0;
  for (const auto* s : TraceFixture::Named(spans, "protocol.send")) {
    if (s->status == trace::SpanStatusCode::kError) {
      ++errors;
      EXPECT_TRUE(TraceFixture::HasExceptionEvent(*s));
    }
  }
  EXPECT_EQ(errors, 1);
}

TEST(InMemoryProtocolTest, SingleConcurrencyDeliversInSendOrder) {
  InMemoryProtocol protocol(Opts(4));
  std::vector<int> seen;
  std::mutex mu;
  std::latch done(200);
  ASSERT_TRUE(protocol.Subscribe("ordered", {}, [&](const trace::Context&, Message m) {
    std::lock_guard lock(mu);
    seen.push_back(m.content.get<int>());
    done.count_down();
  }).ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(protocol.Send({}, Make("a", "ordered", MessageType::kEvent, i)).ok());
  done.wait();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(seen[i], i);
}

TEST(InMemoryProtocolTest, BroadcastReachesGroupExceptSender) {
  InMemoryProtocol protocol(Opts(2));
  std::latch got(2);
  std::atomic<int> to_sender{0};
  for (std::string id : {"g1", "g2", "g3"}) {
    ASSERT_TRUE(protocol.Subscribe(id, {}, [&, id](const trace::Context&, Message) {
      if (id == "g1") to_sender++;
      got.count_down();
    }).ok());
    ASSERT_TRUE(protocol.JoinGroup(id, "team").ok());
  }
  ASSERT_TRUE(protocol.Broadcast({}, "team", Make("g1", "", MessageType::kInform)).ok());
  got.wait();
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
  EXPECT_EQ(protocol.Send({}, Make("mallory", "x", MessageType::kEvent)).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(protocol.Send({}, Make("alice", "x", MessageType::kEvent)).ok());
  protocol.access_policy().Allow("alice", "y");
  EXPECT_TRUE(protocol.Send({}, Make("alice", "y", MessageType::kEvent)).ok());
  Status s = protocol.Send({}, Make("bob", "y", MessageType::kEvent));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("allow list"), std::string::npos);
}

TEST(InMemoryProtocolTest, ShutdownDeliversQueuedMessagesThenRejects) {
  InMemoryProtocol protocol(Opts(1));
  Gate gate;
  std::latch entered(1);
  std::atomic<int> handled{0};
  ASSERT_TRUE(protocol.Subscribe("w", {}, [&](const trace::Context&, Message) {
    if (handled.fetch_add(1) == 0) {
      entered.count_down();
      gate.Wait();
    }
  }).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(protocol.Send({}, Make("a", "w", MessageType::kEvent)).ok());
  entered.wait();
  auto shutdown = std::async(std::launch::async, [&] { return protocol.Shutdown(std::chrono::seconds(30)); });
  gate.Open();
  EXPECT_TRUE(shutdown.get().ok());
  EXPECT_EQ(handled.load(), 5);
  EXPECT_EQ(protocol.Send({}, Make("a", "w", MessageType::kEvent)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(protocol.Shutdown().ok());  // idempotent
}

TEST(InMemoryProtocolTest, UnsubscribeFromOwnHandlerDoesNotDeadlock) {
  InMemoryProtocol protocol(Opts(1));
  std::promise<Status> result;
  ASSERT_TRUE(protocol.Subscribe("self", {}, [&](const trace::Context&, Message) {
    result.set_value(protocol.Unsubscribe("self"));
  }).ok());
  ASSERT_TRUE(protocol.Send({}, Make("a", "self", MessageType::kEvent)).ok());
  EXPECT_TRUE(result.get_future().get().ok());
  EXPECT_EQ(protocol.Send({}, Make("a", "self", MessageType::kEvent)).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace minion::agents
