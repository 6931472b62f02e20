#pragma once
// Token usage and cost of LLM calls, rolled up per subtask and per task.
//
// Each LLM span carries its own call's gen_ai.usage.* (the GenAI convention). The roll-ups here
// go on worker and task spans under minion.usage.* instead: a backend that sums gen_ai.usage.*
// over a trace would otherwise count every token twice or three times (docs/usage.md).
//
// Usage is kept per model, not as one total, because cost is a per-model price times tokens and
// the price table lives with whoever presents the result (`minion run --prices`), not with the
// worker that made the call (possibly in another process).

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/common/status.h"

namespace minion::agents {

// A reply naming more models than this is refused (a peer controls the list).
inline constexpr std::size_t kMaxUsageModels = 64;

struct ModelUsage {
  std::string provider;  // "openai", "offline", ... (gen_ai.provider.name of the calls)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t llm_calls = 0;
};

struct Usage {
  std::map<std::string, ModelUsage> by_model;  // model name -> usage

  void Add(std::string_view provider, std::string_view model, std::int64_t input_tokens,
           std::int64_t output_tokens);
  void Merge(const Usage& other);
  bool empty() const { return by_model.empty(); }
  std::int64_t input_tokens() const;
  std::int64_t output_tokens() const;
  std::int64_t llm_calls() const;
};

// Wire form (inside a worker's reply): [{"model", "provider", "input_tokens", "output_tokens",
// "llm_calls"}, ...]. Decoding is strict: InvalidArgument naming the field, negative counts and
// more than kMaxUsageModels entries refused.
nlohmann::json EncodeUsage(const Usage& usage);
Result<Usage> DecodeUsage(const nlohmann::json& value);

// Collects the usage of one subtask attempt. A handler may call the model from several threads
// (tool loops, fan-out), hence the lock.
class UsageMeter {
 public:
  void Add(std::string_view provider, std::string_view model, std::int64_t input_tokens,
           std::int64_t output_tokens);
  Usage Snapshot() const;

 private:
  mutable std::mutex mu_;
  Usage usage_;
};

// USD per million tokens for one model.
struct ModelPrice {
  double input_per_million = 0;
  double output_per_million = 0;
};

// Cost of a Usage. A model missing from the table makes the cost unknown (nullopt), never 0:
// a wrong zero is worse than an honest "unknown". Calls of the offline provider cost 0 always.
struct Cost {
  std::optional<double> usd;                 // nullopt: at least one model had no price
  std::vector<std::string> unpriced_models;  // the models that made it unknown
};

class PriceTable {
 public:
  // Prices files are small; larger is refused before parsing.
  static constexpr std::size_t kMaxBytes = 1 << 20;
  static constexpr std::size_t kMaxModels = 4096;

  // {"<model>": {"input_per_million": <usd>, "output_per_million": <usd>}, ...}; keys starting
  // with "_" are comments. InvalidArgument naming the model and field for anything else.
  static Result<PriceTable> Parse(std::string_view text);
  static Result<PriceTable> Load(const std::string& path);

  void Set(std::string model, ModelPrice price) { prices_[std::move(model)] = price; }
  const ModelPrice* Find(std::string_view model) const;
  Cost CostOf(const Usage& usage) const;
  std::size_t size() const { return prices_.size(); }

 private:
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

}  // namespace minion::agents
