#include "minion/agents/usage.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "minion/common/json.h"

namespace minion::agents {
namespace {

// Saturating: a peer's huge counts must not overflow into negative totals.
std::int64_t AddSat(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
    return std::numeric_limits<std::int64_t>::max();
  return a + b;
}

void MergeInto(ModelUsage& into, const ModelUsage& from) {
  if (into.provider.empty()) into.provider = from.provider;
  into.input_tokens = AddSat(into.input_tokens, from.input_tokens);
  into.output_tokens = AddSat(into.output_tokens, from.output_tokens);
  into.llm_calls = AddSat(into.llm_calls, from.llm_calls);
}

Result<std::int64_t> Count(const nlohmann::json& entry, const char* field, std::size_t index) {
  auto it = entry.find(field);
  if (it == entry.end()) return std::int64_t{0};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return InvalidArgumentError("usage[" + std::to_string(index) + "]." + field +
                                " must be a non-negative integer");
  }
  return it->get<std::int64_t>();
}

Result<double> Price(const nlohmann::json& entry, const std::string& model, const char* field) {
  auto it = entry.find(field);
  if (it == entry.end())
    return InvalidArgumentError("prices: model '" + model + "' has no " + field);
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
    return InvalidArgumentError("prices: model '" + model + "': " + field +
                                " must be a non-negative number (USD per million tokens)");
  }
  return it->get<double>();
}

}  // namespace

void Usage::Add(std::string_view provider, std::string_view model, std::int64_t input_tokens,
                std::int64_t output_tokens) {
  MergeInto(by_model[std::string(model)],
            ModelUsage{std::string(provider), std::max<std::int64_t>(0, input_tokens),
                       std::max<std::int64_t>(0, output_tokens), 1});
}

void Usage::Merge(const Usage& other) {
  for (const auto& [model, u] : other.by_model) MergeInto(by_model[model], u);
}

std::int64_t Usage::input_tokens() const {
  std::int64_t n = 0;
  for (const auto& [_, u] : by_model) n = AddSat(n, u.input_tokens);
  return n;
}
std::int64_t Usage::output_tokens() const {
  std::int64_t n = 0;
  for (const auto& [_, u] : by_model) n = AddSat(n, u.output_tokens);
  return n;
}
std::int64_t Usage::llm_calls() const {
  std::int64_t n = 0;
  for (const auto& [_, u] : by_model) n = AddSat(n, u.llm_calls);
  return n;
}

nlohmann::json EncodeUsage(const Usage& usage) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [model, u] : usage.by_model) {
    out.push_back({{"model", model},
                   {"provider", u.provider},
                   {"input_tokens", u.input_tokens},
                   {"output_tokens", u.output_tokens},
                   {"llm_calls", u.llm_calls}});
  }
  return out;
}

Result<Usage> DecodeUsage(const nlohmann::json& value) {
  if (!value.is_array()) return InvalidArgumentError("usage must be an array");
  if (value.size() > kMaxUsageModels) {
    return InvalidArgumentError("usage names " + std::to_string(value.size()) +
                                " models, more than " + std::to_string(kMaxUsageModels));
  }
  Usage usage;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& e = value[i];
    const std::string where = "usage[" + std::to_string(i) + "]";
    if (!e.is_object()) return InvalidArgumentError(where + " must be an object");
    auto model = e.find("model");
    if (model == e.end() || !model->is_string())
      return InvalidArgumentError(where + ".model must be a string");
    ModelUsage u;
    if (auto p = e.find("provider"); p != e.end()) {
      if (!p->is_string()) return InvalidArgumentError(where + ".provider must be a string");
      u.provider = p->get<std::string>();
    }
    MINION_ASSIGN_OR_RETURN(u.input_tokens, Count(e, "input_tokens", i));
    MINION_ASSIGN_OR_RETURN(u.output_tokens, Count(e, "output_tokens", i));
    MINION_ASSIGN_OR_RETURN(u.llm_calls, Count(e, "llm_calls", i));
    MergeInto(usage.by_model[model->get<std::string>()], u);
  }
  return usage;
}

void UsageMeter::Add(std::string_view provider, std::string_view model, std::int64_t input_tokens,
                     std::int64_t output_tokens) {
  std::lock_guard lock(mu_);
  usage_.Add(provider, model, input_tokens, output_tokens);
}

Usage UsageMeter::Snapshot() const {
  std::lock_guard lock(mu_);
  return usage_;
}

Result<PriceTable> PriceTable::Parse(std::string_view text) {
  if (text.size() > kMaxBytes) {
    return InvalidArgumentError("prices file is " + std::to_string(text.size()) +
                                " bytes, more than " + std::to_string(kMaxBytes));
  }
  MINION_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(text, "prices file"));
  if (!doc.is_object())
    return InvalidArgumentError("prices file must be a JSON object: model -> prices");
  PriceTable table;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;  // "_note", "_date": comments
    if (table.prices_.size() >= kMaxModels) {
      return InvalidArgumentError("prices file names more than " + std::to_string(kMaxModels) +
                                  " models");
    }
    if (!it.value().is_object()) {
      return InvalidArgumentError(
          "prices: model '" + it.key() +
          "' must map to {\"input_per_million\": ..., \"output_per_million\": ...}");
    }
    ModelPrice price;
    MINION_ASSIGN_OR_RETURN(price.input_per_million,
                            Price(it.value(), it.key(), "input_per_million"));
    MINION_ASSIGN_OR_RETURN(price.output_per_million,
                            Price(it.value(), it.key(), "output_per_million"));
    table.prices_[it.key()] = price;
  }
  return table;
}

Result<PriceTable> PriceTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open prices file '" + path + "'");
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto table = Parse(text);
  if (!table.ok()) return table.status().WithContext(path);
  return table;
}

const ModelPrice* PriceTable::Find(std::string_view model) const {
  auto it = prices_.find(model);
  return it == prices_.end() ? nullptr : &it->second;
}

Cost PriceTable::CostOf(const Usage& usage) const {
  Cost cost;
  double usd = 0;
  for (const auto& [model, u] : usage.by_model) {
    if (u.provider == "offline") continue;  // no model was called: free by definition
    const ModelPrice* price = Find(model);
    if (!price) {
      cost.unpriced_models.push_back(model);
      continue;
    }
    usd += (static_cast<double>(u.input_tokens) * price->input_per_million +
            static_cast<double>(u.output_tokens) * price->output_per_million) /
           1e6;
  }
  if (cost.unpriced_models.empty()) cost.usd = usd;
  return cost;
}

}  // namespace minion::agents
