#include "minion/exporters/stdout_exporter.h"

#include "minion/common/text.h"
#include "minion/observability/attributes.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace minion::exporters {
namespace {

std::string FormatDuration(UnixNanos start, UnixNanos end) {
  const double ns = end > start ? static_cast<double>(end - start) : 0.0;
  char buf[32];
  if (ns >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fs", ns / 1e9);
  else if (ns >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fms", ns / 1e6);
  else if (ns >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fµs", ns / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0fns", ns);
  return buf;
}

std::string ComponentOf(const trace::SpanData& s) {
  if (const auto* v = s.attributes.Find(observability::kAttrComponent))
    return trace::AttributeValueToString(*v);
  return {};
}

void Render(const std::vector<const trace::SpanData*>& spans, std::size_t index,
            const std::unordered_map<std::size_t, std::vector<std::size_t>>& children,
            const std::string& prefix, bool last, std::string& out) {
  const trace::SpanData& s = *spans[index];
  out += prefix;
  out += last ? "└─ " : "├─ ";
  // Names, attribute values and events carry task names and model text: escaped so they
  // cannot drive the terminal or break the tree's lines.
  out += text::EscapeControl(s.name);
  const std::string component = ComponentOf(s);
  if (!component.empty()) out += " [" + text::EscapeControl(component) + "]";
  out += " ";
  out += trace::SpanKindName(s.kind);
  out += " ";
  out += FormatDuration(s.start_time, s.end_time);
  if (s.status != trace::SpanStatusCode::kUnset) {
    out += " ";
    out += trace::SpanStatusCodeName(s.status);
    if (!s.status_description.empty())
      out += " (" + text::EscapeControl(s.status_description) + ")";
  }
  out += "\n";
  const std::string inner = prefix + (last ? "   " : "│  ");
  auto it = children.find(index);
  const bool has_children = it != children.end() && !it->second.empty();
  const std::string attr_prefix = inner + (has_children ? "│  " : "   ");
  for (const auto& a : s.attributes) {
    if (a.key == observability::kAttrComponent) continue;
    out += attr_prefix + "· " + text::EscapeControl(a.key) + ": " +
           text::EscapeControl(trace::AttributeValueToString(a.value)) + "\n";
  }
  for (const auto& e : s.events) {
    out += attr_prefix + "* event " + text::EscapeControl(e.name);
    for (const auto& a : e.attributes) {
      out += " " + text::EscapeControl(a.key) + "=" +
             text::EscapeControl(trace::AttributeValueToString(a.value));
    }
    out += "\n";
  }
  if (!has_children) return;
  for (std::size_t i = 0; i < it->second.size(); ++i)
    Render(spans, it->second[i], children, inner, i + 1 == it->second.size(), out);
}

}  // namespace

std::string FormatTraceTree(const std::vector<trace::SpanData>& input) {
  std::map<trace::TraceId, std::vector<const trace::SpanData*>> by_trace;
  for (const auto& s : input) by_trace[s.trace_id].push_back(&s);
  std::string out;
  for (auto& [trace_id, spans] : by_trace) {
    std::sort(spans.begin(), spans.end(),
              [](auto* a, auto* b) { return a->start_time < b->start_time; });
    std::unordered_map<trace::SpanId, std::size_t, trace::IdHash> index_of;
    for (std::size_t i = 0; i < spans.size(); ++i) index_of[spans[i]->span_id] = i;
    std::unordered_map<std::size_t, std::vector<std::size_t>> children;
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < spans.size(); ++i) {
      auto parent = index_of.find(spans[i]->parent_span_id);
      if (spans[i]->HasParent() && parent != index_of.end())
        children[parent->second].push_back(i);
      else
        roots.push_back(i);
    }
    out += "trace " + trace_id.ToHex() + " (" + std::to_string(spans.size()) + " spans)\n";
    for (std::size_t i = 0; i < roots.size(); ++i) {
      const trace::SpanData& r = *spans[roots[i]];
      if (r.HasParent())
        out += (r.parent_is_remote ? "(remote parent " : "(parent not exported ") +
               r.parent_span_id.ToHex() + ")\n";
      Render(spans, roots[i], children, "", i + 1 == roots.size(), out);
    }
  }
  return out;
}

std::string FormatSpanJson(const trace::SpanData& s) {
  auto value = [](const trace::AttributeValue& v) -> nlohmann::json {
    return std::visit([](const auto& x) -> nlohmann::json { return nlohmann::json(x); }, v);
  };
  auto attrs = [&](const trace::AttributeList& list) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& a : list) j[a.key] = value(a.value);
    return j;
  };
  nlohmann::json j;
  j["name"] = s.name;
  j["trace_id"] = s.trace_id.ToHex();
  j["span_id"] = s.span_id.ToHex();
  if (s.HasParent()) j["parent_span_id"] = s.parent_span_id.ToHex();
  j["kind"] = trace::SpanKindName(s.kind);
  j["start_time_unix_nano"] = s.start_time;
  j["end_time_unix_nano"] = s.end_time;
  j["status"] = {{"code", trace::SpanStatusCodeName(s.status)}};
  if (!s.status_description.empty()) j["status"]["message"] = s.status_description;
  j["attributes"] = attrs(s.attributes);
  if (!s.events.empty()) {
    auto& events = j["events"] = nlohmann::json::array();
    for (const auto& e : s.events)
      events.push_back(
          {{"name", e.name}, {"time_unix_nano", e.time}, {"attributes", attrs(e.attributes)}});
  }
  if (!s.links.empty()) {
    auto& links = j["links"] = nlohmann::json::array();
    for (const auto& l : s.links)
      links.push_back({{"trace_id", l.context.trace_id().ToHex()},
                       {"span_id", l.context.span_id().ToHex()},
                       {"attributes", attrs(l.attributes)}});
  }
  if (s.resource) j["resource"] = attrs(s.resource->attributes);
  if (s.scope) j["scope"] = {{"name", s.scope->name}, {"version", s.scope->version}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StdoutSpanExporter::StdoutSpanExporter(std::ostream& out, StdoutFormat format)
    : out_(out), format_(format) {}
StdoutSpanExporter::StdoutSpanExporter() : StdoutSpanExporter(std::cout) {}

sdk::ExportResult StdoutSpanExporter::Export(std::span<const trace::SpanDataPtr> spans,
                                             std::chrono::milliseconds) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return sdk::ExportResult::kFailure;
  if (format_ == StdoutFormat::kJsonLines) {
    for (const auto& s : spans) out_ << FormatSpanJson(*s) << '\n';
    out_.flush();
    return sdk::ExportResult::kSuccess;
  }
  std::vector<trace::TraceId> complete;
  for (const auto& s : spans) {
    pending_[s->trace_id].push_back(*s);
    if (!s->HasParent() || s->parent_is_remote) complete.push_back(s->trace_id);
  }
  for (const auto& id : complete) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    out_ << FormatTraceTree(it->second);
    pending_.erase(it);
  }
  // Bound memory if roots never arrive (sampled-out parents elsewhere, crashes).
  if (pending_.size() > 1024) PrintPendingLocked();
  out_.flush();
  return sdk::ExportResult::kSuccess;
}

void StdoutSpanExporter::PrintPendingLocked() {
  for (auto& [id, spans] : pending_) out_ << FormatTraceTree(spans);
  pending_.clear();
}

Status StdoutSpanExporter::ForceFlush(std::chrono::milliseconds) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  PrintPendingLocked();
  out_.flush();
  return Status::Ok();
}

Status StdoutSpanExporter::Shutdown(std::chrono::milliseconds) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return Status::Ok();
  PrintPendingLocked();
  out_.flush();
  shut_down_ = true;
  return Status::Ok();
}

}  // namespace minion::exporters
