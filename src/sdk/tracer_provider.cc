#include "minion/sdk/tracer_provider.h"

#include "minion/common/env.h"
#include "minion/sdk/resource.h"

namespace minion::sdk {

trace::SpanLimits SpanLimitsFromEnv(const env::Lookup& lookup) {
  trace::SpanLimits l;
  const auto general_count = env::IntOr("OTEL_ATTRIBUTE_COUNT_LIMIT", l.attribute_count, lookup);
  const auto general_length = env::IntOr("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", -1, lookup);
  l.attribute_count = static_cast<std::uint32_t>(
      env::IntOr("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", general_count, lookup));
  const auto length = env::IntOr("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", general_length, lookup);
  if (length >= 0) l.attribute_value_length = static_cast<std::size_t>(length);
  l.event_count =
      static_cast<std::uint32_t>(env::IntOr("OTEL_SPAN_EVENT_COUNT_LIMIT", l.event_count, lookup));
  l.link_count =
      static_cast<std::uint32_t>(env::IntOr("OTEL_SPAN_LINK_COUNT_LIMIT", l.link_count, lookup));
  l.attributes_per_event = static_cast<std::uint32_t>(
      env::IntOr("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", l.attributes_per_event, lookup));
  l.attributes_per_link = static_cast<std::uint32_t>(
      env::IntOr("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", l.attributes_per_link, lookup));
  return l;
}

// The Tracer handed out by TracerProvider. It is also the sink spans return to when they end.
class SdkTracer final : public trace::Tracer, public trace::SpanEndSink {
 public:
  SdkTracer(TracerProvider* provider, trace::InstrumentationScope scope)
      : provider_(provider), scope_(std::move(scope)) {}

  using trace::Tracer::StartSpan;

  trace::Span StartSpan(std::string_view name,
                        std::initializer_list<trace::KeyValueView> attributes,
                        const trace::SpanStartOptions& options) noexcept override {
    TracerProvider& p = *provider_;
    static const trace::Context kEmpty;
    const trace::Context* parent = options.parent;
    if (options.new_root) {
      parent = &kEmpty;
    } else if (parent == nullptr) {
      // No copy: nothing below attaches or detaches a context on this thread.
      parent = &trace::Context::CurrentRef();
    }
    const trace::SpanContext& parent_span = parent->span_context();
    const bool has_parent = parent_span.IsValid();
    const trace::TraceId trace_id =
        has_parent ? parent_span.trace_id() : p.id_generator_->GenerateTraceId();

    const std::span<const trace::KeyValueView> attribute_span(attributes.begin(),
                                                              attributes.size());
    SamplingResult sampling = p.sampler_->ShouldSample(*parent, trace_id, name, options.kind,
                                                       attribute_span, options.links);
    const bool sampled = sampling.decision == SamplingDecision::kRecordAndSample;
    const std::uint8_t flags = static_cast<std::uint8_t>(
        (has_parent ? parent_span.trace_flags().value() & ~trace::TraceFlags::kSampled : 0) |
        (sampled ? trace::TraceFlags::kSampled : 0));
    std::shared_ptr<const trace::TraceState> state =
        sampling.trace_state ? std::move(sampling.trace_state) : parent_span.trace_state_ptr();
    trace::SpanContext context(trace_id, p.id_generator_->GenerateSpanId(),
                               trace::TraceFlags(flags),
                               /*is_remote=*/false, std::move(state));

    if (sampling.decision == SamplingDecision::kDrop ||
        p.shut_down_.load(std::memory_order_relaxed))
      return trace::Span(std::move(context));

    trace::SpanDataPtr data = trace::AcquireSpanData();
    trace::SpanData& d = *data;
    d.trace_id = trace_id;
    d.span_id = context.span_id();
    if (has_parent) {
      d.parent_span_id = parent_span.span_id();
      d.parent_is_remote = parent_span.IsRemote();
    }
    d.flags = context.trace_flags();
    d.trace_state = context.trace_state_ptr();
    if (std::string_view(d.name) != name) trace::AssignString(d.name, name);
    d.kind = options.kind;
    d.start_time = options.start_time != 0 ? options.start_time : p.clock_->Now();
    d.resource = &p.resource_;
    d.scope = &scope_;
    d.limits = &p.limits_;
    d.sink = this;
    const trace::SpanLimits& limits = p.limits_;
    for (const auto& kv : attributes)
      d.attributes.Set(kv.key, kv.value, limits.attribute_count, limits.attribute_value_length);
    for (const auto& a : sampling.attributes)
      d.attributes.Set(a.key, trace::AttributeValueView(a.value), limits.attribute_count,
                       limits.attribute_value_length);
    for (const auto& link : options.links) {
      if (!link.IsValid()) continue;
      if (d.links.size() >= limits.link_count) {
        ++d.dropped_links;
        continue;
      }
      d.links.push_back(trace::SpanLink{link, {}});
    }
    if (p.processor_->WantsOnStart()) p.processor_->OnStart(d, *parent);
    return trace::Span(std::move(context), std::move(data));
  }

  void OnSpanEnd(trace::SpanData* span, UnixNanos end_time) noexcept override {
    trace::SpanDataPtr owned(span);
    owned->end_time = end_time != 0 ? end_time : provider_->clock_->Now();
    if (provider_->shut_down_.load(std::memory_order_relaxed)) return;
    provider_->processor_->OnEnd(std::move(owned));
  }

  UnixNanos Now() noexcept override { return provider_->clock_->Now(); }
  bool Enabled() const noexcept override {
    return !provider_->shut_down_.load(std::memory_order_relaxed);
  }
  const trace::InstrumentationScope& scope() const { return scope_; }

 private:
  TracerProvider* provider_;
  trace::InstrumentationScope scope_;
};

std::shared_ptr<TracerProvider> TracerProvider::Create(TracerProviderOptions options) {
  return std::shared_ptr<TracerProvider>(new TracerProvider(std::move(options)));
}

namespace {
std::unique_ptr<SpanProcessor> CombineProcessors(
    std::vector<std::unique_ptr<SpanProcessor>> processors) {
  if (processors.size() == 1) return std::move(processors.front());
  return std::make_unique<MultiSpanProcessor>(std::move(processors));
}
}  // namespace

TracerProvider::TracerProvider(TracerProviderOptions options)
    : resource_(options.merge_environment_resource
                    ? BuildResource(options.resource)
                    : MergeResources(DefaultResource(), options.resource)),
      sampler_(options.sampler ? std::move(options.sampler)
                               : MakeParentBasedSampler(MakeAlwaysOnSampler())),
      processor_(CombineProcessors(std::move(options.processors))),
      limits_(options.limits),
      id_generator_(options.id_generator ? options.id_generator : &trace::DefaultIdGenerator()),
      clock_(options.clock ? options.clock : &SystemClock()) {}

TracerProvider::~TracerProvider() { Shutdown(); }

std::shared_ptr<trace::Tracer> TracerProvider::GetTracer(std::string_view name,
                                                         std::string_view version,
                                                         std::string_view schema_url) {
  std::lock_guard<std::mutex> lock(tracers_mu_);
  for (const auto& t : tracers_) {
    const auto& scope = static_cast<SdkTracer&>(*t).scope();
    if (scope.name == name && scope.version == version && scope.schema_url == schema_url) return t;
  }
  trace::InstrumentationScope scope;
  scope.name = std::string(name);
  scope.version = std::string(version);
  scope.schema_url = std::string(schema_url);
  auto tracer = std::make_shared<SdkTracer>(this, std::move(scope));
  tracers_.push_back(tracer);
  return tracer;
}

bool TracerProvider::ForceFlush(std::chrono::microseconds timeout) noexcept {
  return processor_->ForceFlush(std::chrono::duration_cast<std::chrono::milliseconds>(timeout))
      .ok();
}

bool TracerProvider::Shutdown(std::chrono::microseconds timeout) noexcept {
  if (shut_down_.exchange(true)) return true;
  Status s = processor_->Shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  if (!s.ok()) env::Warn("TracerProvider shutdown: " + s.ToString());
  return s.ok();
}

}  // namespace minion::sdk
