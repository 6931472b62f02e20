// The SQLite trace store. Schema, chosen for the queries the APIs make:
//   spans(id, trace_id, operation_id, resource_id, scope_id, start_ns, duration_ns, status, body)
//     body = the OTLP Span message (protobuf, trace id stripped: it is the trace_id column);
//     indexed by trace_id (trace by id), by (operation_id, start_ns) (service/operation
//     search) and by duration_ns (minDuration search).
//   span_attrs(key_id, value, span) WITHOUT ROWID, primary key in that order: every scalar span
//     attribute (except the per-message ids of IsIndexedKey), so `key = value` and
//     `key > number` are index range scans. Values keep their SQLite type (integer, real,
//     text; booleans as 'true'/'false'), so numeric comparisons are numeric. An ERROR status is
//     indexed as error='true', which is how Jaeger users search it.
//   resource_attrs(key_id, value, resource_id): the same for resource attributes.
//   resources / scopes: each distinct Resource / InstrumentationScope once (protobuf body).
//   operations(service, name, kind) and keys(key): small dictionaries.
//   batches(first_span, last_span, max_start_ns): one row per write transaction; retention
//     deletes whole batches (a rowid range) oldest first, so it never scans the big tables.
#include "minion/store/trace_store.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "store/sqlite_util.h"

namespace minion::store {
namespace {

using internal::Db;
using internal::Stmt;
namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

constexpr std::size_t kMaxIndexedValueBytes = 256;
constexpr std::size_t kMaxSpansPerTransaction = 20'000;
constexpr std::size_t kAttrRowsPerInsert = 64;  // 192 parameters, well under SQLite's limit
constexpr std::size_t kSpanRowsPerInsert = 32;  // 288 parameters
constexpr const char* kErrorKey = "error";
// The partial index spans_by_long_duration holds spans at least this long (same literal below).
constexpr std::int64_t kLongDurationNs = 1'000'000'000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS resources(id INTEGER PRIMARY KEY, service TEXT NOT NULL, body BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS scopes(id INTEGER PRIMARY KEY, body BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS operations(id INTEGER PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL,
  kind INTEGER NOT NULL, UNIQUE(service, name, kind));
CREATE TABLE IF NOT EXISTS keys(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS spans(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, operation_id INTEGER NOT NULL,
  resource_id INTEGER NOT NULL, scope_id INTEGER NOT NULL, start_ns INTEGER NOT NULL,
  duration_ns INTEGER NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS spans_by_trace ON spans(trace_id);
CREATE INDEX IF NOT EXISTS spans_by_operation ON spans(operation_id, start_ns);
DROP INDEX IF EXISTS spans_by_duration;
CREATE INDEX IF NOT EXISTS spans_by_long_duration ON spans(duration_ns) WHERE duration_ns >= 1000000000;
CREATE TABLE IF NOT EXISTS span_attrs(key_id INTEGER NOT NULL, value, span INTEGER NOT NULL,
  PRIMARY KEY(key_id, value, span)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resource_attrs(key_id INTEGER NOT NULL, value, resource_id INTEGER NOT NULL,
  PRIMARY KEY(key_id, value, resource_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches(id INTEGER PRIMARY KEY, first_span INTEGER NOT NULL,
  last_span INTEGER NOT NULL, max_start_ns INTEGER NOT NULL);
)sql";

// Span attributes whose values are ids unique to (nearly) every span and that nobody searches
// a trace by: their index rows would each land on a different B-tree page, which is ingest
// time, WAL bytes and database size for nothing. A search on such a key still works: it is
// answered from the other conditions' candidates, or by reading spans newest first (slow on a
// big store, but it returns exactly what an index would). Retention deletes index rows of
// every key, so rows written for them by an older version go with their spans.
bool IsIndexedKey(std::string_view key) { return key != "multiagent.message.id"; }

bool IsIndexed(const common_pb::AnyValue& v) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return v.string_value().size() <= kMaxIndexedValueBytes;
    case common_pb::AnyValue::kBoolValue:
    case common_pb::AnyValue::kIntValue:
    case common_pb::AnyValue::kDoubleValue:
      return true;
    default:
      return false;
  }
}

// Binds an attribute value the way it is indexed; false when the value is not indexed
// (arrays, key/value lists, bytes, long strings).
bool BindIndexedValue(Stmt& st, int i, const common_pb::AnyValue& v) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      if (v.string_value().size() > kMaxIndexedValueBytes) return false;
      st.BindText(i, v.string_value());
      return true;
    case common_pb::AnyValue::kBoolValue:
      st.BindText(i, v.bool_value() ? "true" : "false");
      return true;
    case common_pb::AnyValue::kIntValue:
      st.Bind(i, static_cast<std::int64_t>(v.int_value()));
      return true;
    case common_pb::AnyValue::kDoubleValue:
      st.Bind(i, v.double_value());
      return true;
    default:
      return false;
  }
}

std::string ServiceOf(const opentelemetry::proto::resource::v1::Resource& r) {
  for (const auto& kv : r.attributes()) {
    if (kv.key() == "service.name" &&
        kv.value().value_case() == common_pb::AnyValue::kStringValue) {
      return kv.value().string_value();
    }
  }
  return "unknown_service";
}

bool AllZero(const std::string& s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

Status Validate(const ExportRequest& request, std::size_t& spans) {
  spans = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        ++spans;
        if (span.trace_id().size() != 16 || AllZero(span.trace_id())) {
          return InvalidArgumentError("span \"" + span.name().substr(0, 64) +
                                      "\": trace id must be 16 non-zero bytes");
        }
        if (span.span_id().size() != 8 || AllZero(span.span_id())) {
          return InvalidArgumentError("span \"" + span.name().substr(0, 64) +
                                      "\": span id must be 8 non-zero bytes");
        }
        if (!span.parent_span_id().empty() && span.parent_span_id().size() != 8) {
          return InvalidArgumentError("span \"" + span.name().substr(0, 64) +
                                      "\": parent span id must be 8 bytes or empty");
        }
      }
    }
  }
  return Status::Ok();
}

// What the writer stores of one span, prepared on the caller's thread: the writer is the one
// thread every span passes through, callers run on other cores.
struct EncodedSpan {
  std::string trace_id;
  std::string body;    // the Span message without its trace id (the trace_id column holds it)
  std::string op_key;  // service \0 name \0 kind: the writer's key for its operation-id cache
  std::int64_t start = 0, duration = 0, status = 0;
};

// Encodes the spans of `request` in the order the writer walks them, and strips their trace
// ids (kept in `out`).
void EncodeSpans(ExportRequest& request, std::size_t spans, std::vector<EncodedSpan>& out) {
  out.reserve(spans);
  for (auto& rs : *request.mutable_resource_spans()) {
    const std::string service = ServiceOf(rs.resource());
    for (auto& ss : *rs.mutable_scope_spans()) {
      for (auto& span : *ss.mutable_spans()) {
        EncodedSpan& e = out.emplace_back();
        e.op_key.reserve(service.size() + span.name().size() + 8);
        e.op_key.assign(service);
        e.op_key += '\0';
        e.op_key += span.name();
        e.op_key += '\0';
        char kind[16];
        const auto kind_end =
            std::to_chars(kind, kind + sizeof kind, static_cast<int>(span.kind())).ptr;
        e.op_key.append(kind, kind_end);
        e.trace_id = std::move(*span.mutable_trace_id());
        span.clear_trace_id();
        span.SerializeToString(&e.body);
        e.start = static_cast<std::int64_t>(span.start_time_unix_nano());
        const auto end = static_cast<std::int64_t>(span.end_time_unix_nano());
        e.duration = end > e.start ? end - e.start : std::int64_t{0};
        e.status = static_cast<std::int64_t>(span.status().code());
      }
    }
  }
}

struct Pending {
  // The caller's request and its encoded spans: Write() blocks until `done` is set, so they
  // outlive their use on the writer thread, and their (many small) allocations are made and
  // freed on the caller's thread rather than on the writer, which is the ingest bottleneck.
  ExportRequest* request = nullptr;
  const std::vector<EncodedSpan>* encoded = nullptr;
  std::size_t spans = 0;
  std::promise<Status> done;
};

constexpr std::int64_t kDriverLimit = 2000;

const char* OpSql(CompareOp op) {
  switch (op) {
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    default:
      return "=";
  }
}

// One attribute condition against one decoded value, with the index's rules (scalars only,
// strings up to kMaxIndexedValueBytes, booleans as true/false, numbers compared as numbers).
bool ValueMatches(const common_pb::AnyValue& v, const AttributeCondition& c) {
  std::optional<double> number;
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      if (v.string_value().size() > kMaxIndexedValueBytes) return false;
      if (c.op == CompareOp::kEq) return v.string_value() == c.text;
      return false;
    case common_pb::AnyValue::kBoolValue:
      return c.op == CompareOp::kEq && (v.bool_value() ? "true" : "false") == c.text;
    case common_pb::AnyValue::kIntValue:
      number = static_cast<double>(v.int_value());
      break;
    case common_pb::AnyValue::kDoubleValue:
      number = v.double_value();
      break;
    default:
      return false;
  }
  if (!c.number) return false;
  switch (c.op) {
    case CompareOp::kEq:
      return *number == *c.number;
    case CompareOp::kGt:
      return *number > *c.number;
    case CompareOp::kGe:
      return *number >= *c.number;
    case CompareOp::kLt:
      return *number < *c.number;
    case CompareOp::kLe:
      return *number <= *c.number;
  }
  return false;
}

struct SearchPlan {
  const TraceQuery* q = nullptr;
  bool filter_operations = false;
  std::unordered_set<std::int64_t> operations;
  std::vector<std::int64_t> key_ids;                        // per condition; -1 = key never seen
  std::vector<std::unordered_set<std::int64_t>> resources;  // per condition: resources that match

  bool Matches(const trace_pb::Span& span, std::int64_t resource_id) const {
    for (std::size_t k = 0; k < q->attributes.size(); ++k) {
      const auto& c = q->attributes[k];
      if (resources[k].count(resource_id)) continue;
      bool met = false;
      bool has_error_attr = false;
      for (const auto& kv : span.attributes()) {
        if (kv.key() == kErrorKey) has_error_attr = true;
        if (kv.key() == c.key && ValueMatches(kv.value(), c)) {
          met = true;
          break;
        }
      }
      // An ERROR status is indexed as error=true (unless the span has its own error attribute).
      if (!met && c.key == kErrorKey && !has_error_attr && c.op == CompareOp::kEq &&
          c.text == "true" && span.status().code() == trace_pb::Status::STATUS_CODE_ERROR) {
        met = true;
      }
      if (!met) return false;
    }
    return true;
  }
};

// One read connection with its prepared statements.
struct Reader {
  Db db;
  Stmt trace_spans, resource, scope;
};

class SqliteTraceStore final : public TraceStore {
 public:
  explicit SqliteTraceStore(StoreOptions options) : options_(std::move(options)) {
    clock_ = options_.clock ? options_.clock : &SystemClock();
  }
  ~SqliteTraceStore() override { Shutdown(); }

  Status Init() {
    MINION_RETURN_IF_ERROR(db_.Open(options_.path, false));
    // WAL: readers never block the writer. synchronous=NORMAL: a commit survives the process
    // being killed (kill -9), only an OS crash or power loss can undo the last commits.
    // 16 KiB pages (only a new database takes them): fewer B-tree levels and fewer page writes
    // per committed span than 4 KiB. Measured in docs/benchmarks.md.
    MINION_RETURN_IF_ERROR(db_.Exec("PRAGMA page_size=16384"));
    MINION_RETURN_IF_ERROR(
        db_.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"));
    MINION_RETURN_IF_ERROR(db_.Exec(kSchema));
    // Checkpoints (copying the WAL into the database, with its two fsyncs) run on their own
    // thread and connection, beside the writer rather than inside its commits; see WalHook.
    // This replaces SQLite's automatic checkpoint (installing a WAL hook turns that off).
    MINION_RETURN_IF_ERROR(checkpoint_db_.Open(options_.path, false));
    // A connection that has not yet read the database does not know it is in WAL mode, and
    // its checkpoints would do nothing.
    MINION_RETURN_IF_ERROR(checkpoint_db_.Exec("PRAGMA journal_mode=WAL"));
    checkpoint_pages_ =
        static_cast<int>(std::clamp<std::size_t>(options_.checkpoint_pages, 4, 1 << 20));
    sqlite3_wal_hook(db_.get(), &SqliteTraceStore::WalHook, this);
    MINION_RETURN_IF_ERROR(insert_span_.Prepare(
        db_,
        "INSERT OR IGNORE INTO spans(id, trace_id, operation_id, resource_id, scope_id, "
        "start_ns, duration_ns, status, body)"
        " VALUES(?,?,?,?,?,?,?,?,?)"));
    {
      std::string sql =
          "INSERT OR IGNORE INTO spans(id, trace_id, operation_id, resource_id, scope_id, "
          "start_ns, duration_ns, status, body) VALUES(?,?,?,?,?,?,?,?,?)";
      for (std::size_t i = 1; i < kSpanRowsPerInsert; ++i) sql += ",(?,?,?,?,?,?,?,?,?)";
      MINION_RETURN_IF_ERROR(insert_spans_.Prepare(db_, sql));
    }
    MINION_RETURN_IF_ERROR(ReadNextSpanId());
    {
      std::string sql = "INSERT OR IGNORE INTO span_attrs(key_id, value, span) VALUES(?,?,?)";
      for (std::size_t i = 1; i < kAttrRowsPerInsert; ++i) sql += ",(?,?,?)";
      MINION_RETURN_IF_ERROR(insert_attrs_.Prepare(db_, sql));
    }
    MINION_RETURN_IF_ERROR(insert_attr_.Prepare(
        db_, "INSERT OR IGNORE INTO span_attrs(key_id, value, span) VALUES(?,?,?)"));
    MINION_RETURN_IF_ERROR(
        delete_attr_.Prepare(db_, "DELETE FROM span_attrs WHERE key_id=? AND value=? AND span=?"));
    MINION_RETURN_IF_ERROR(insert_resource_attr_.Prepare(
        db_, "INSERT OR IGNORE INTO resource_attrs(key_id, value, resource_id) VALUES(?,?,?)"));
    MINION_RETURN_IF_ERROR(upsert_resource_.Prepare(
        db_, "INSERT INTO resources(service, body) VALUES(?,?) ON CONFLICT(body) DO NOTHING"));
    MINION_RETURN_IF_ERROR(find_resource_.Prepare(db_, "SELECT id FROM resources WHERE body=?"));
    MINION_RETURN_IF_ERROR(upsert_scope_.Prepare(
        db_, "INSERT INTO scopes(body) VALUES(?) ON CONFLICT(body) DO NOTHING"));
    MINION_RETURN_IF_ERROR(find_scope_.Prepare(db_, "SELECT id FROM scopes WHERE body=?"));
    MINION_RETURN_IF_ERROR(upsert_operation_.Prepare(
        db_, "INSERT INTO operations(service, name, kind) VALUES(?,?,?) ON CONFLICT DO NOTHING"));
    MINION_RETURN_IF_ERROR(find_operation_.Prepare(
        db_, "SELECT id FROM operations WHERE service=? AND name=? AND kind=?"));
    MINION_RETURN_IF_ERROR(
        upsert_key_.Prepare(db_, "INSERT INTO keys(key) VALUES(?) ON CONFLICT DO NOTHING"));
    MINION_RETURN_IF_ERROR(find_key_.Prepare(db_, "SELECT id FROM keys WHERE key=?"));
    MINION_RETURN_IF_ERROR(insert_batch_.Prepare(
        db_, "INSERT INTO batches(first_span, last_span, max_start_ns) VALUES(?,?,?)"));
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.reader_connections); ++i) {
      auto r = std::make_unique<Reader>();
      MINION_RETURN_IF_ERROR(r->db.Open(options_.path, false));
      MINION_RETURN_IF_ERROR(r->db.Exec("PRAGMA query_only=1; PRAGMA cache_size=-16384;"));
      MINION_RETURN_IF_ERROR(r->trace_spans.Prepare(
          r->db,
          "SELECT resource_id, scope_id, body FROM spans WHERE trace_id=? ORDER BY start_ns, id"));
      MINION_RETURN_IF_ERROR(r->resource.Prepare(r->db, "SELECT body FROM resources WHERE id=?"));
      MINION_RETURN_IF_ERROR(r->scope.Prepare(r->db, "SELECT body FROM scopes WHERE id=?"));
      free_readers_.push_back(r.get());
      readers_.push_back(std::move(r));
    }
    // The first automatic pass comes one interval after opening (`minion serve` asks for one
    // at start-up itself).
    next_retention_ns_ =
        clock_->MonotonicNanos() +
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retention_interval)
                .count());
    writer_ = std::thread([this] { WriterLoop(); });
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    return Status::Ok();
  }

  Status Write(ExportRequest request) override {
    std::size_t spans = 0;
    MINION_RETURN_IF_ERROR(Validate(request, spans));
    if (spans == 0) return Status::Ok();
    std::vector<EncodedSpan> encoded;
    EncodeSpans(request, spans, encoded);
    auto pending = std::make_unique<Pending>();
    pending->request = &request;
    pending->encoded = &encoded;
    pending->spans = spans;
    std::future<Status> done = pending->done.get_future();
    std::size_t waiting = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return UnavailableError("the trace store is shutting down");
      if (queued_spans_ > 0 && queued_spans_ + spans > options_.max_queued_spans) {
        waiting = queued_spans_;
      } else {
        queued_spans_ += spans;
        queue_.push_back(std::move(pending));
      }
    }
    if (waiting > 0) {
      requests_refused_.fetch_add(1, std::memory_order_relaxed);
      if (options_.on_refused) options_.on_refused();  // outside the lock: it may log
      return ResourceExhaustedError("the trace store's write queue is full (" +
                                    std::to_string(waiting) + " spans waiting); retry later");
    }
    cv_.notify_one();
    return done.get();
  }

  Result<std::vector<std::string>> Services() override {
    ReaderLease r(*this);
    Stmt st;
    MINION_RETURN_IF_ERROR(
        st.Prepare(r->db, "SELECT DISTINCT service FROM operations ORDER BY service"));
    std::vector<std::string> out;
    Status s;
    while (st.Step(s)) out.emplace_back(st.Text(0));
    if (!s.ok()) return s;
    return out;
  }

  Result<std::vector<Operation>> Operations(const std::string& service, int kind) override {
    ReaderLease r(*this);
    Stmt st;
    MINION_RETURN_IF_ERROR(st.Prepare(
        r->db,
        kind < 0 ? "SELECT DISTINCT name, kind FROM operations WHERE service=? ORDER BY name, kind"
                 : "SELECT DISTINCT name, kind FROM operations WHERE service=? AND kind=? ORDER BY "
                   "name, kind"));
    st.BindText(1, service);
    if (kind >= 0) st.Bind(2, static_cast<std::int64_t>(kind));
    std::vector<Operation> out;
    Status s;
    while (st.Step(s))
      out.push_back(Operation{std::string(st.Text(0)), static_cast<int>(st.Int(1))});
    if (!s.ok()) return s;
    return out;
  }

  Result<TracesData> GetTrace(const std::string& trace_id) override {
    ReaderLease r(*this);
    MINION_ASSIGN_OR_RETURN(auto data, LoadTrace(*r, trace_id));
    if (data.resource_spans_size() == 0) return NotFoundError("trace not found");
    return data;
  }

  // Search plan. Every condition is checked in C++ on candidate rows (the attribute conditions
  // on the decoded span), so the SQL only has to produce candidates, in one of two ways:
  //  - from the most selective index when one yields at most kDriverLimit rows (an operation
  //    set, a minimum duration, or a span-attribute condition): all of them are read;
  //  - otherwise every condition is common, so spans are read newest-arrived first and the
  //    scan stops as soon as `limit` distinct traces matched.
  // A query whose conditions are each common but rare together can scan the whole table; the
  // benchmarks in docs/benchmarks.md say what that costs.
  Result<std::vector<TracesData>> FindTraces(const TraceQuery& q) override {
    ReaderLease r(*this);
    const int limit = q.limit <= 0 ? 20 : std::min(q.limit, kMaxTraceLimit);
    SearchPlan plan;
    plan.q = &q;
    if (!q.service.empty() || !q.operation.empty()) {
      Stmt ops;
      MINION_RETURN_IF_ERROR(ops.Prepare(
          r->db, q.service.empty() ? "SELECT id, name FROM operations"
                                   : "SELECT id, name FROM operations WHERE service=?"));
      if (!q.service.empty()) ops.BindText(1, q.service);
      Status s;
      const bool pattern = q.operation.find('*') != std::string::npos;
      while (ops.Step(s)) {
        const auto name = ops.Text(1);
        if (!q.operation.empty() &&
            (pattern ? !MatchesOperationPattern(q.operation, name) : name != q.operation)) {
          continue;
        }
        plan.operations.insert(ops.Int(0));
      }
      if (!s.ok()) return s;
      if (plan.operations.empty()) return std::vector<TracesData>{};
      plan.filter_operations = true;
    } else if (q.attributes.empty()) {
      return InvalidArgumentError(
          "a search needs a service, an operation or an attribute condition");
    }
    for (const auto& c : q.attributes) {
      MINION_ASSIGN_OR_RETURN(const std::int64_t key_id, LookupKey(*r, c.key));
      MINION_ASSIGN_OR_RETURN(auto resources, MatchingResources(*r, key_id, c));
      // A key never stored matches nothing (unless spans hold it without index rows).
      if (key_id < 0 && !(c.key == kErrorKey) && IsIndexedKey(c.key))
        return std::vector<TracesData>{};
      plan.key_ids.push_back(key_id);
      plan.resources.push_back(std::move(resources));
    }

    // Candidate sources, each counted up to kDriverLimit + 1.
    std::string driver;
    std::vector<std::function<void(Stmt&, int&)>> driver_binds;
    std::int64_t best = kDriverLimit + 1;
    auto consider = [&](const std::string& sub, std::function<void(Stmt&, int&)> bind) -> Status {
      Stmt count;
      MINION_RETURN_IF_ERROR(count.Prepare(r->db, "SELECT count(*) FROM (" + sub + " LIMIT " +
                                                      std::to_string(kDriverLimit + 1) + ")"));
      int i = 1;
      if (bind) bind(count, i);
      Status s;
      if (!count.Step(s)) return s.ok() ? InternalError("count returned no row") : s;
      if (count.Int(0) < best) {
        best = count.Int(0);
        driver = sub;
        driver_binds = {bind};
      }
      return Status::Ok();
    };
    if (plan.filter_operations) {
      std::string ids;
      for (auto id : plan.operations) ids += (ids.empty() ? "" : ",") + std::to_string(id);
      MINION_RETURN_IF_ERROR(
          consider("SELECT id FROM spans WHERE operation_id IN (" + ids + ")", nullptr));
    }
    // Only spans of 1 s or more are in the duration index (a per-span index row costs ingest
    // time, and a minimum below 1 s is rarely selective); the literal term lets SQLite use
    // that partial index. Shorter minimums are checked on the rows another source yields.
    if (q.duration_min_ns >= kLongDurationNs) {
      MINION_RETURN_IF_ERROR(
          consider("SELECT id FROM spans WHERE duration_ns >= ? AND duration_ns >= 1000000000",
                   [v = q.duration_min_ns](Stmt& st, int& i) { st.Bind(i++, v); }));
    }
    for (std::size_t k = 0; k < q.attributes.size(); ++k) {
      const auto& c = q.attributes[k];
      // A condition also met by resources or by an ERROR status is not covered by span_attrs
      // alone, nor is one on a key that gets no index rows.
      if (!plan.resources[k].empty() || plan.key_ids[k] < 0 || !IsIndexedKey(c.key)) continue;
      std::string sub =
          "SELECT span FROM span_attrs WHERE key_id = " + std::to_string(plan.key_ids[k]) + " AND ";
      if (c.op == CompareOp::kEq) {
        sub += c.number ? "(value = ? OR value = ?)" : "value = ?";
        MINION_RETURN_IF_ERROR(consider(sub, [c](Stmt& st, int& i) {
          st.BindText(i++, c.text);
          if (c.number) st.Bind(i++, *c.number);
        }));
      } else {
        // Numbers sort before text in SQLite, so `< ''` keeps the range to numeric values.
        sub += std::string("value ") + OpSql(c.op) + " ? AND value < ''";
        MINION_RETURN_IF_ERROR(consider(sub, [c](Stmt& st, int& i) { st.Bind(i++, *c.number); }));
      }
    }

    const char* columns =
        "SELECT id, trace_id, start_ns, duration_ns, operation_id, resource_id, body FROM spans";
    std::string sql = best <= kDriverLimit ? std::string(columns) + " WHERE id IN (" + driver + ")"
                                           : std::string(columns) + " ORDER BY id DESC";
    const bool scanning = best > kDriverLimit;
    Stmt st;
    MINION_RETURN_IF_ERROR(st.Prepare(r->db, sql));
    int index = 1;
    if (!scanning) {
      for (auto& b : driver_binds) {
        if (b) b(st, index);
      }
    }
    std::unordered_map<std::string, std::int64_t> newest;  // trace id -> latest matching start
    trace_pb::Span span;
    Status s;
    while (st.Step(s)) {
      const std::int64_t start = st.Int(2);
      if (q.start_min_ns > 0 && start < q.start_min_ns) continue;
      if (q.start_max_ns > 0 && start > q.start_max_ns) continue;
      const std::int64_t duration = st.Int(3);
      if (q.duration_min_ns > 0 && duration < q.duration_min_ns) continue;
      if (q.duration_max_ns > 0 && duration > q.duration_max_ns) continue;
      if (plan.filter_operations && !plan.operations.count(st.Int(4))) continue;
      if (!q.attributes.empty()) {
        const auto body = st.Blob(6);
        if (!span.ParseFromArray(body.data(), static_cast<int>(body.size()))) continue;
        if (!plan.Matches(span, st.Int(5))) continue;
      }
      std::string trace_id(st.Blob(1));
      auto [it, inserted] = newest.emplace(std::move(trace_id), start);
      if (!inserted) it->second = std::max(it->second, start);
      if (scanning && newest.size() >= static_cast<std::size_t>(limit)) break;
    }
    if (!s.ok()) return s;
    std::vector<std::pair<std::int64_t, std::string>> order;
    for (auto& [id, t] : newest) order.emplace_back(t, id);
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    if (order.size() > static_cast<std::size_t>(limit))
      order.resize(static_cast<std::size_t>(limit));
    std::vector<TracesData> out;
    out.reserve(order.size());
    for (const auto& [t, id] : order) {
      MINION_ASSIGN_OR_RETURN(auto data, LoadTrace(*r, id));
      if (data.resource_spans_size() > 0) out.push_back(std::move(data));
    }
    return out;
  }

  Result<std::uint64_t> EnforceRetention() override {
    auto task = std::make_shared<std::promise<Result<std::uint64_t>>>();
    auto f = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return UnavailableError("the trace store is shutting down");
      retention_requests_.push_back(task);
    }
    cv_.notify_one();
    return f.get();
  }

  StoreStats Stats() const override {
    StoreStats s;
    s.spans_written = spans_written_.load(std::memory_order_relaxed);
    s.requests_written = requests_written_.load(std::memory_order_relaxed);
    s.requests_refused = requests_refused_.load(std::memory_order_relaxed);
    s.spans_deleted = spans_deleted_.load(std::memory_order_relaxed);
    s.writer_cpu_seconds =
        static_cast<double>(writer_cpu_ns_.load(std::memory_order_relaxed)) / 1e9;
    std::lock_guard<std::mutex> lock(mu_);
    s.queued_spans = queued_spans_;
    return s;
  }

  Result<std::uint64_t> UsedBytes() override {
    ReaderLease r(*this);
    return UsedBytesOn(r->db);
  }

  void Shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && !writer_.joinable()) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

 private:
  // Borrows a read connection for the duration of one query.
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteTraceStore& s) : s_(s) {
      std::unique_lock<std::mutex> lock(s_.readers_mu_);
      s_.readers_cv_.wait(lock, [&] { return !s_.free_readers_.empty(); });
      r_ = s_.free_readers_.back();
      s_.free_readers_.pop_back();
    }
    ~ReaderLease() {
      {
        std::lock_guard<std::mutex> lock(s_.readers_mu_);
        s_.free_readers_.push_back(r_);
      }
      s_.readers_cv_.notify_one();
    }
    Reader* operator->() { return r_; }
    Reader& operator*() { return *r_; }

   private:
    SqliteTraceStore& s_;
    Reader* r_;
  };

  static Result<std::uint64_t> UsedBytesOn(Db& db) {
    Stmt st;
    MINION_RETURN_IF_ERROR(st.Prepare(db,
                                      "SELECT (SELECT page_count FROM pragma_page_count()) - "
                                      "(SELECT freelist_count FROM pragma_freelist_count()),"
                                      " (SELECT page_size FROM pragma_page_size())"));
    Status s;
    if (!st.Step(s)) return s.ok() ? InternalError("page count unavailable") : s;
    return static_cast<std::uint64_t>(st.Int(0)) * static_cast<std::uint64_t>(st.Int(1));
  }

  Result<std::int64_t> LookupKey(Reader& r, const std::string& key) {
    Stmt st;
    MINION_RETURN_IF_ERROR(st.Prepare(r.db, "SELECT id FROM keys WHERE key=?"));
    st.BindText(1, key);
    Status s;
    if (st.Step(s)) return st.Int(0);
    if (!s.ok()) return s;
    return std::int64_t{-1};
  }

  Result<std::unordered_set<std::int64_t>> MatchingResources(Reader& r, std::int64_t key_id,
                                                             const AttributeCondition& c) {
    std::unordered_set<std::int64_t> ids;
    if (key_id < 0) return ids;
    Stmt st;
    std::string sql = "SELECT resource_id FROM resource_attrs WHERE key_id=? AND ";
    if (c.op == CompareOp::kEq) {
      sql += c.number ? "(value = ? OR value = ?)" : "value = ?";
    } else {
      sql += std::string("value ") + OpSql(c.op) + " ? AND value < ''";
    }
    MINION_RETURN_IF_ERROR(st.Prepare(r.db, sql));
    st.Bind(1, key_id);
    if (c.op == CompareOp::kEq) {
      st.BindText(2, c.text);
      if (c.number) st.Bind(3, *c.number);
    } else {
      st.Bind(2, *c.number);
    }
    Status s;
    while (st.Step(s)) ids.insert(st.Int(0));
    if (!s.ok()) return s;
    return ids;
  }

  Result<TracesData> LoadTrace(Reader& r, const std::string& trace_id) {
    TracesData data;
    std::unordered_map<std::int64_t, int> resource_index;
    std::unordered_map<std::int64_t, int> scope_index;  // key: resource_id * 2^32 + scope_id
    r.trace_spans.BindBlob(1, trace_id);
    Status s;
    while (r.trace_spans.Step(s)) {
      const std::int64_t resource_id = r.trace_spans.Int(0);
      const std::int64_t scope_id = r.trace_spans.Int(1);
      auto rit = resource_index.find(resource_id);
      if (rit == resource_index.end()) {
        auto* rs = data.add_resource_spans();
        r.resource.Bind(1, resource_id);
        Status rs_status;
        if (r.resource.Step(rs_status)) {
          const auto body = r.resource.Blob(0);
          rs->mutable_resource()->ParseFromArray(body.data(), static_cast<int>(body.size()));
        }
        r.resource.Reset();
        rit = resource_index.emplace(resource_id, data.resource_spans_size() - 1).first;
      }
      auto* rs = data.mutable_resource_spans(rit->second);
      const std::int64_t sk = (resource_id << 32) ^ scope_id;
      auto sit = scope_index.find(sk);
      if (sit == scope_index.end()) {
        auto* ss = rs->add_scope_spans();
        r.scope.Bind(1, scope_id);
        Status sc_status;
        if (r.scope.Step(sc_status)) {
          const auto body = r.scope.Blob(0);
          ss->mutable_scope()->ParseFromArray(body.data(), static_cast<int>(body.size()));
        }
        r.scope.Reset();
        sit = scope_index.emplace(sk, rs->scope_spans_size() - 1).first;
      }
      auto* span = rs->mutable_scope_spans(sit->second)->add_spans();
      const auto body = r.trace_spans.Blob(2);
      if (!span->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        r.trace_spans.Reset();
        return DataLossError("a stored span of this trace does not parse");
      }
      span->set_trace_id(trace_id);
    }
    r.trace_spans.Reset();
    if (!s.ok()) return s;
    return data;
  }

  // ---- checkpoints ----

  // Called by SQLite on the writer thread after each commit, with the WAL's size in pages.
  // From options_.checkpoint_pages on, the checkpointer thread copies the WAL into the database,
  // pass after pass, while the writer goes on. A WAL that is appended to all the time is never
  // wholly copied by those passes, so it could never start over: at twice that size the writer
  // checkpoints itself (copying only what the passes have not yet copied), and its next
  // transaction starts the WAL from the beginning again. The WAL therefore stays near 64 MiB,
  // as with SQLite's own automatic checkpoint at that size, which ran entirely on the writer.
  static int WalHook(void* self_ptr, sqlite3* db, const char* /*schema*/, int pages) {
    auto* self = static_cast<SqliteTraceStore*>(self_ptr);
    const int threshold = self->checkpoint_pages_;
    if (pages >= 2 * threshold) {
      // Fails with SQLITE_BUSY while a background pass runs: then the next commit retries.
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= threshold && (pages < self->checkpoint_asked_at_ ||
                                      pages >= self->checkpoint_asked_at_ + threshold / 4)) {
      // A pass per quarter of the threshold, not per commit: each pass syncs two files.
      self->checkpoint_asked_at_ = pages;
      {
        std::lock_guard<std::mutex> lock(self->checkpoint_mu_);
        self->checkpoint_wanted_ = true;
      }
      self->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void CheckpointLoop() {
    std::unique_lock<std::mutex> lock(checkpoint_mu_);
    for (;;) {
      checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_wanted_; });
      if (checkpoint_stop_) return;
      checkpoint_wanted_ = false;
      lock.unlock();
      // PASSIVE: never waits for the writer or for readers; copies what it can.
      (void)sqlite3_wal_checkpoint_v2(checkpoint_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr);
      lock.lock();
    }
  }

  // ---- writer thread ----

  void WriterLoop() {
    for (;;) {
      std::vector<std::unique_ptr<Pending>> group;
      std::vector<std::shared_ptr<std::promise<Result<std::uint64_t>>>> retention;
      bool stop = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        const auto interval =
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retention_interval);
        cv_.wait_for(lock, interval,
                     [&] { return stopping_ || !queue_.empty() || !retention_requests_.empty(); });
        std::size_t spans = 0;
        while (!queue_.empty() &&
               (group.empty() || spans + queue_.front()->spans <= kMaxSpansPerTransaction)) {
          spans += queue_.front()->spans;
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        retention.swap(retention_requests_);
        stop = stopping_ && queue_.empty();
      }
      if (!group.empty()) {
        WriteGroup(group);
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        writer_cpu_ns_.store(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
                                 static_cast<std::uint64_t>(ts.tv_nsec),
                             std::memory_order_relaxed);
      }
      const bool retention_configured = options_.retention.count() > 0 || options_.max_db_bytes > 0;
      const std::uint64_t now = clock_->MonotonicNanos();
      if (!retention.empty() || (retention_configured && now >= next_retention_ns_)) {
        next_retention_ns_ =
            now + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 options_.retention_interval)
                                                 .count());
        auto deleted = RunRetention();
        for (auto& p : retention) p->set_value(deleted);
      }
      if (stop) break;
    }
  }

  void WriteGroup(std::vector<std::unique_ptr<Pending>>& group) {
    std::size_t spans = 0;
    for (auto& p : group) spans += p->spans;
    Status s = db_.Exec("BEGIN IMMEDIATE");
    std::int64_t first = 0, last = 0, max_start = 0;
    if (s.ok()) {
      for (auto& p : group) {
        s = InsertRequest(*p->request, *p->encoded, first, last, max_start);
        if (!s.ok()) break;
      }
    }
    if (s.ok() && first > 0) {
      insert_batch_.Bind(1, first);
      insert_batch_.Bind(2, last);
      insert_batch_.Bind(3, max_start);
      s = insert_batch_.Run();
    }
    if (s.ok() && options_.before_commit) options_.before_commit();
    if (s.ok()) s = db_.Exec("COMMIT");
    if (!s.ok()) {
      (void)db_.Exec("ROLLBACK");
      ClearCaches();  // ids created in the rolled-back transaction no longer exist
    } else {
      spans_written_.fetch_add(spans, std::memory_order_relaxed);
      requests_written_.fetch_add(group.size(), std::memory_order_relaxed);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_spans_ -= spans;
    }
    for (auto& p : group) p->done.set_value(s);
  }

  Status ReadNextSpanId() {
    Stmt st;
    MINION_RETURN_IF_ERROR(st.Prepare(db_, "SELECT coalesce(max(id), 0) + 1 FROM spans"));
    Status s;
    if (!st.Step(s)) return s.ok() ? InternalError("max(id) returned no row") : s;
    next_span_id_ = std::max(next_span_id_, st.Int(0));
    return Status::Ok();
  }

  void ClearCaches() {
    span_rows_used_ = 0;
    attr_rows_.clear();  // they point into requests of the failed transaction
    resource_ids_.clear();
    scope_ids_.clear();
    operation_ids_.clear();
    key_ids_.clear();
  }

  Result<std::int64_t> GetOrCreate(Stmt& upsert, Stmt& find,
                                   const std::function<void(Stmt&)>& bind) {
    bind(upsert);
    MINION_RETURN_IF_ERROR(upsert.Run());
    bind(find);
    Status s;
    if (!find.Step(s)) {
      find.Reset();
      return s.ok() ? InternalError("row vanished after insert") : s;
    }
    const std::int64_t id = find.Int(0);
    find.Reset();
    return id;
  }

  Result<std::int64_t> KeyId(const std::string& key) {
    auto it = key_ids_.find(key);
    if (it != key_ids_.end()) return it->second;
    MINION_ASSIGN_OR_RETURN(
        auto id, GetOrCreate(upsert_key_, find_key_, [&](Stmt& st) { st.BindText(1, key); }));
    key_ids_.emplace(key, id);
    return id;
  }

  Status InsertRequest(ExportRequest& request, const std::vector<EncodedSpan>& encoded,
                       std::int64_t& first, std::int64_t& last, std::int64_t& max_start) {
    std::size_t next_encoded = 0;
    for (auto& rs : *request.mutable_resource_spans()) {
      const std::string service = ServiceOf(rs.resource());
      std::string resource_body;
      rs.resource().SerializeToString(&resource_body);
      std::int64_t resource_id;
      if (auto it = resource_ids_.find(resource_body); it != resource_ids_.end()) {
        resource_id = it->second;
      } else {
        MINION_ASSIGN_OR_RETURN(resource_id,
                                GetOrCreate(upsert_resource_, find_resource_, [&](Stmt& st) {
                                  if (&st == &upsert_resource_) {
                                    st.BindText(1, service);
                                    st.BindBlob(2, resource_body);
                                  } else {
                                    st.BindBlob(1, resource_body);
                                  }
                                }));
        for (const auto& kv : rs.resource().attributes()) {
          MINION_ASSIGN_OR_RETURN(auto key_id, KeyId(kv.key()));
          insert_resource_attr_.Bind(1, key_id);
          if (!BindIndexedValue(insert_resource_attr_, 2, kv.value())) {
            insert_resource_attr_.Reset();
            continue;
          }
          insert_resource_attr_.Bind(3, resource_id);
          MINION_RETURN_IF_ERROR(insert_resource_attr_.Run());
        }
        resource_ids_.emplace(resource_body, resource_id);
      }
      for (auto& ss : *rs.mutable_scope_spans()) {
        std::string scope_body;
        ss.scope().SerializeToString(&scope_body);
        std::int64_t scope_id;
        if (auto it = scope_ids_.find(scope_body); it != scope_ids_.end()) {
          scope_id = it->second;
        } else {
          MINION_ASSIGN_OR_RETURN(scope_id, GetOrCreate(upsert_scope_, find_scope_, [&](Stmt& st) {
                                    st.BindBlob(1, scope_body);
                                  }));
          scope_ids_.emplace(scope_body, scope_id);
        }
        for (const auto& span : ss.spans()) {
          if (next_encoded >= encoded.size()) return InternalError("encoded spans out of step");
          const EncodedSpan& e = encoded[next_encoded++];
          const std::string& op_key = e.op_key;
          std::int64_t op_id;
          if (auto it = operation_ids_.find(op_key); it != operation_ids_.end()) {
            op_id = it->second;
          } else {
            MINION_ASSIGN_OR_RETURN(op_id,
                                    GetOrCreate(upsert_operation_, find_operation_, [&](Stmt& st) {
                                      st.BindText(1, service);
                                      st.BindText(2, span.name());
                                      st.Bind(3, static_cast<std::int64_t>(span.kind()));
                                    }));
            operation_ids_.emplace(op_key, op_id);
          }
          if (span_rows_used_ == span_rows_.size()) span_rows_.emplace_back();
          SpanRow& sr = span_rows_[span_rows_used_++];
          sr.encoded = &e;
          sr.id = next_span_id_++;
          sr.operation_id = op_id;
          sr.resource_id = resource_id;
          sr.scope_id = scope_id;
          const std::int64_t row = sr.id;
          if (first == 0) first = row;
          last = row;
          max_start = std::max(max_start, e.start);
          MINION_RETURN_IF_ERROR(CollectAttributeRows(span, row));
          if (span_rows_used_ >= 4 * kSpanRowsPerInsert) MINION_RETURN_IF_ERROR(FlushSpanRows());
          if (attr_rows_.size() >= 4 * kAttrRowsPerInsert)
            MINION_RETURN_IF_ERROR(FlushAttributeRows());
        }
      }
    }
    MINION_RETURN_IF_ERROR(FlushSpanRows());
    return FlushAttributeRows();
  }

  // Inserts the queued span rows, kSpanRowsPerInsert per statement (ids were assigned by
  // InsertRequest, so the index rows could be queued before the spans are in the table).
  Status FlushSpanRows() {
    auto bind = [](Stmt& st, int base, const SpanRow& r) {
      st.Bind(base + 1, r.id);
      st.BindBlob(base + 2, r.encoded->trace_id);
      st.Bind(base + 3, r.operation_id);
      st.Bind(base + 4, r.resource_id);
      st.Bind(base + 5, r.scope_id);
      st.Bind(base + 6, r.encoded->start);
      st.Bind(base + 7, r.encoded->duration);
      st.Bind(base + 8, r.encoded->status);
      st.BindBlob(base + 9, r.encoded->body);
    };
    // The statements say OR IGNORE only so that SQLite needs no statement journal (a
    // multi-row INSERT that may abort half-way copies every page it touches first: that was a
    // quarter of the writer's time). A conflict cannot happen (ids only grow, one writer), and
    // if one did the row count says so and the whole transaction is rolled back.
    auto inserted = [this](Status s, std::size_t rows) {
      if (s.ok() && sqlite3_changes(db_.get()) != static_cast<int>(rows))
        s = InternalError("a span id assigned by the writer was already stored");
      return s;
    };
    std::size_t i = 0;
    Status s;
    for (; s.ok() && i + kSpanRowsPerInsert <= span_rows_used_; i += kSpanRowsPerInsert) {
      for (std::size_t k = 0; k < kSpanRowsPerInsert; ++k)
        bind(insert_spans_, static_cast<int>(9 * k), span_rows_[i + k]);
      s = inserted(insert_spans_.RunKeepingBindings(), kSpanRowsPerInsert);
    }
    for (; s.ok() && i < span_rows_used_; ++i) {
      bind(insert_span_, 0, span_rows_[i]);
      s = inserted(insert_span_.RunKeepingBindings(), 1);
    }
    span_rows_used_ = 0;  // the rows keep their strings' capacity for the next batch
    return s;
  }

  // The index rows of one span, queued for FlushAttributeRows (which runs before `span` can go).
  Status CollectAttributeRows(const trace_pb::Span& span, std::int64_t row) {
    bool has_error_attr = false;
    for (const auto& kv : span.attributes()) {
      if (kv.key() == kErrorKey) has_error_attr = true;
      if (!IsIndexed(kv.value()) || !IsIndexedKey(kv.key())) continue;
      MINION_ASSIGN_OR_RETURN(auto key_id, KeyId(kv.key()));
      attr_rows_.push_back(AttrRow{key_id, &kv.value(), row});
    }
    if (span.status().code() == trace_pb::Status::STATUS_CODE_ERROR && !has_error_attr) {
      MINION_ASSIGN_OR_RETURN(auto key_id, KeyId(kErrorKey));
      attr_rows_.push_back(AttrRow{key_id, nullptr, row});
    }
    return Status::Ok();
  }

  // Inserts the queued index rows, kAttrRowsPerInsert per statement: one statement execution
  // per row cost more than the B-tree insert itself (docs/benchmarks.md).
  Status FlushAttributeRows() {
    auto bind = [](Stmt& st, int base, const AttrRow& r) {
      st.Bind(base + 1, r.key_id);
      if (r.value) {
        BindIndexedValue(st, base + 2, *r.value);
      } else {
        st.BindText(base + 2, "true");
      }
      st.Bind(base + 3, r.span);
    };
    std::size_t i = 0;
    Status s;
    for (; s.ok() && i + kAttrRowsPerInsert <= attr_rows_.size(); i += kAttrRowsPerInsert) {
      for (std::size_t k = 0; k < kAttrRowsPerInsert; ++k)
        bind(insert_attrs_, static_cast<int>(3 * k), attr_rows_[i + k]);
      s = insert_attrs_.RunKeepingBindings();
    }
    for (; s.ok() && i < attr_rows_.size(); ++i) {
      bind(insert_attr_, 0, attr_rows_[i]);
      s = insert_attr_.RunKeepingBindings();
    }
    attr_rows_.clear();
    return s;
  }

  // Inserts (or, with the delete statement, removes) the index rows of one span.
  Status IndexSpanAttributes(const trace_pb::Span& span, std::int64_t row, Stmt& st) {
    bool has_error_attr = false;
    for (const auto& kv : span.attributes()) {
      if (kv.key() == kErrorKey) has_error_attr = true;
      MINION_ASSIGN_OR_RETURN(auto key_id, KeyId(kv.key()));
      st.Bind(1, key_id);
      if (!BindIndexedValue(st, 2, kv.value())) {
        st.Reset();
        continue;
      }
      st.Bind(3, row);
      MINION_RETURN_IF_ERROR(st.Run());
    }
    if (span.status().code() == trace_pb::Status::STATUS_CODE_ERROR && !has_error_attr) {
      MINION_ASSIGN_OR_RETURN(auto key_id, KeyId(kErrorKey));
      st.Bind(1, key_id);
      st.BindText(2, "true");
      st.Bind(3, row);
      MINION_RETURN_IF_ERROR(st.Run());
    }
    return Status::Ok();
  }

  Result<std::uint64_t> RunRetention() {
    std::uint64_t deleted = 0;
    if (options_.retention.count() > 0) {
      const auto cutoff =
          static_cast<std::int64_t>(clock_->Now()) -
          std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retention).count();
      for (;;) {
        MINION_ASSIGN_OR_RETURN(auto n, DeleteOldestBatch(cutoff));
        if (n < 0) break;
        deleted += static_cast<std::uint64_t>(n);
      }
    }
    if (options_.max_db_bytes > 0) {
      for (;;) {
        MINION_ASSIGN_OR_RETURN(auto used, UsedBytesOn(db_));
        if (used <= options_.max_db_bytes) break;
        MINION_ASSIGN_OR_RETURN(auto n, DeleteOldestBatch(-1));
        if (n < 0) break;
        deleted += static_cast<std::uint64_t>(n);
      }
    }
    spans_deleted_.fetch_add(deleted, std::memory_order_relaxed);
    return deleted;
  }

  // Deletes the traces of the oldest batch (by insertion) whose spans all started before
  // `cutoff_ns` (cutoff < 0: the oldest batch whatever its age), in one transaction. A trace
  // goes as a whole, with its spans that arrived in later batches, so no query ever sees a
  // trace with its older part missing. Returns the number of spans deleted (0 for a batch
  // whose traces went with an earlier one), -1 when no batch qualified.
  Result<std::int64_t> DeleteOldestBatch(std::int64_t cutoff_ns) {
    Stmt pick;
    MINION_RETURN_IF_ERROR(pick.Prepare(
        db_, cutoff_ns < 0 ? "SELECT id, first_span, last_span FROM batches ORDER BY id LIMIT 1"
                           : "SELECT id, first_span, last_span FROM batches WHERE max_start_ns < ? "
                             "ORDER BY id LIMIT 1"));
    if (cutoff_ns >= 0) pick.Bind(1, cutoff_ns);
    Status s;
    if (!pick.Step(s))
      return s.ok() ? Result<std::int64_t>(std::int64_t{-1}) : Result<std::int64_t>(s);
    const std::int64_t batch = pick.Int(0), first = pick.Int(1), last = pick.Int(2);
    pick.Reset();
    MINION_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
    auto result = [&]() -> Result<std::int64_t> {
      Stmt bodies;
      MINION_RETURN_IF_ERROR(
          bodies.Prepare(db_,
                         "SELECT id, body FROM spans WHERE trace_id IN "
                         "(SELECT DISTINCT trace_id FROM spans WHERE id BETWEEN ? AND ?)"));
      bodies.Bind(1, first);
      bodies.Bind(2, last);
      std::vector<std::int64_t> ids;
      trace_pb::Span span;
      Status st;
      while (bodies.Step(st)) {
        const auto body = bodies.Blob(1);
        if (span.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
          MINION_RETURN_IF_ERROR(IndexSpanAttributes(span, bodies.Int(0), delete_attr_));
        }
        ids.push_back(bodies.Int(0));
      }
      if (!st.ok()) return st;
      Stmt del;
      MINION_RETURN_IF_ERROR(del.Prepare(db_, "DELETE FROM spans WHERE id=?"));
      for (const std::int64_t id : ids) {
        del.Bind(1, id);
        MINION_RETURN_IF_ERROR(del.Run());
      }
      const auto n = static_cast<std::int64_t>(ids.size());
      Stmt del_batch;
      MINION_RETURN_IF_ERROR(del_batch.Prepare(db_, "DELETE FROM batches WHERE id=?"));
      del_batch.Bind(1, batch);
      MINION_RETURN_IF_ERROR(del_batch.Run());
      return n;  // 0 for a batch whose traces an earlier deletion took
    }();
    if (!result.ok()) {
      (void)db_.Exec("ROLLBACK");
      ClearCaches();
      return result;
    }
    MINION_RETURN_IF_ERROR(db_.Exec("COMMIT"));
    return result;
  }

  StoreOptions options_;
  Clock* clock_;
  Db db_;  // the writer's connection; used only on the writer thread (and in Init)
  struct AttrRow {
    std::int64_t key_id;
    const common_pb::AnyValue* value;  // null: an ERROR status indexed as error='true'
    std::int64_t span;
  };
  std::vector<AttrRow> attr_rows_;
  Stmt insert_attrs_;  // kAttrRowsPerInsert rows
  struct SpanRow {
    std::int64_t id, operation_id, resource_id, scope_id;
    const EncodedSpan* encoded;  // in the caller's Pending, alive until the group is answered
  };
  std::vector<SpanRow> span_rows_;  // the first span_rows_used_ are queued
  std::size_t span_rows_used_ = 0;
  Stmt insert_spans_;  // kSpanRowsPerInsert rows
  // Span ids are assigned here, not by SQLite, so a span's index rows can be queued with it;
  // they only grow (an id freed by retention is never reused).
  std::int64_t next_span_id_ = 1;
  Stmt insert_span_, insert_attr_, delete_attr_, insert_resource_attr_, upsert_resource_,
      find_resource_, upsert_scope_, find_scope_, upsert_operation_, find_operation_, upsert_key_,
      find_key_, insert_batch_;
  std::unordered_map<std::string, std::int64_t> resource_ids_, scope_ids_, operation_ids_, key_ids_;
  std::uint64_t next_retention_ns_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // GUARDED_BY(mu_)
  std::size_t queued_spans_ = 0;                // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<std::promise<Result<std::uint64_t>>>>
      retention_requests_;  // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::thread writer_;

  Db checkpoint_db_;  // used only on the checkpointer thread (after Init)
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // GUARDED_BY(checkpoint_mu_)
  bool checkpoint_stop_ = false;    // GUARDED_BY(checkpoint_mu_)
  int checkpoint_asked_at_ = 0;     // WAL pages at the last request; writer thread only
  int checkpoint_pages_ = 2048;     // options_.checkpoint_pages, clamped
  std::thread checkpointer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::vector<Reader*> free_readers_;  // GUARDED_BY(readers_mu_)

  std::atomic<std::uint64_t> spans_written_{0}, requests_written_{0}, requests_refused_{0},
      spans_deleted_{0}, writer_cpu_ns_{0};
};

}  // namespace

Result<std::unique_ptr<TraceStore>> TraceStore::Open(StoreOptions options) {
  if (options.path.empty() || options.path == ":memory:") {
    return InvalidArgumentError("the trace store needs a database file path");
  }
  auto store = std::make_unique<SqliteTraceStore>(std::move(options));
  MINION_RETURN_IF_ERROR(store->Init().WithContext("trace store"));
  return std::unique_ptr<TraceStore>(std::move(store));
}

}  // namespace minion::store
