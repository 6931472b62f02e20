#include "minion/exporters/stdout_exporter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "minion/sdk/simple_span_processor.h"
#include "minion/sdk/tracer_provider.h"

namespace minion::exporters {
namespace {

struct Fixture {
  std::ostringstream out;
  std::shared_ptr<sdk::TracerProvider> provider;
  std::shared_ptr<trace::Tracer> tracer;
  explicit Fixture(StdoutFormat format) {
    sdk::TracerProviderOptions o;
    o.processors.push_back(std::make_unique<sdk::SimpleSpanProcessor>(
        std::make_unique<StdoutSpanExporter>(out, format)));
    o.merge_environment_resource = false;
    o.resource.attributes.Set("service.name", "stdout-test");
    provider = sdk::TracerProvider::Create(std::move(o));
    tracer = provider->GetTracer("t", "2.0");
  }
};

TEST(StdoutExporterTest, TreeIsPrintedWhenTheRootEndsWithChildrenNested) {
  Fixture f(StdoutFormat::kTree);
  trace::Span root =
      f.tracer->StartSpan("multiagent.task.code_generation",
                          {{"minion.component", "multiagent"}, {"multiagent.task.id", "abc-123"}});
  trace::Context ctx = trace::Context().WithSpan(root);
  trace::SpanStartOptions o;
  o.parent = &ctx;
  o.kind = trace::SpanKind::kProducer;
  trace::Span child = f.tracer->StartSpan("protocol.send", {{"minion.component", "protocol"}}, o);
  child.SetStatus(trace::SpanStatusCode::kError, "mailbox full");
  child.End();
  EXPECT_EQ(f.out.str(), "");  // the child alone is held until its root arrives
  root.End();
  const std::string tree = f.out.str();
  EXPECT_NE(tree.find("trace " + root.GetContext().trace_id().ToHex() + " (2 spans)"),
            std::string::npos)
      << tree;
  EXPECT_NE(tree.find("└─ multiagent.task.code_generation [multiagent] INTERNAL"),
            std::string::npos)
      << tree;
  EXPECT_NE(tree.find("   └─ protocol.send [protocol] PRODUCER"), std::string::npos) << tree;
  EXPECT_NE(tree.find("ERROR (mailbox full)"), std::string::npos) << tree;
  EXPECT_NE(tree.find("· multiagent.task.id: abc-123"), std::string::npos) << tree;
}

TEST(StdoutExporterTest, OrphansArePrintedOnFlush) {
  Fixture f(StdoutFormat::kTree);
  trace::Span root = f.tracer->StartSpan("root");
  trace::Context ctx = trace::Context().WithSpan(root);
  trace::SpanStartOptions o;
  o.parent = &ctx;
  f.tracer->StartSpan("child", o).End();
  f.provider->ForceFlush();
  EXPECT_NE(f.out.str().find("(parent not exported " + root.GetContext().span_id().ToHex() + ")"),
            std::string::npos)
      << f.out.str();
}

TEST(StdoutExporterTest, JsonLinesAreValidJsonWithAllFields) {
  Fixture f(StdoutFormat::kJsonLines);
  trace::Span span = f.tracer->StartSpan("op", {{"s", "v"}, {"i", 3}, {"b", true}, {"d", 2.5}});
  span.AddEvent("evt", {{"k", "x"}});
  span.SetStatus(trace::SpanStatusCode::kError, "bad");
  span.End();
  std::string line = f.out.str();
  ASSERT_FALSE(line.empty());
  ASSERT_EQ(line.back(), '\n');
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["name"], "op");
  EXPECT_EQ(j["trace_id"], span.GetContext().trace_id().ToHex());
  EXPECT_EQ(j["attributes"]["s"], "v");
  EXPECT_EQ(j["attributes"]["i"], 3);
  EXPECT_EQ(j["attributes"]["b"], true);
  EXPECT_EQ(j["attributes"]["d"], 2.5);
  EXPECT_EQ(j["status"]["code"], "ERROR");
  EXPECT_EQ(j["status"]["message"], "bad");
  EXPECT_EQ(j["events"][0]["name"], "evt");
  EXPECT_EQ(j["resource"]["service.name"], "stdout-test");
  EXPECT_EQ(j["scope"]["version"], "2.0");
}

}  // namespace
}  // namespace minion::exporters
