// `minion serve`: the embedded trace backend. Receives OTLP (HTTP protobuf/JSON, gzip; gRPC),
// stores spans in SQLite and answers the Jaeger v3 / classic query APIs and the UI, until
// SIGINT or SIGTERM. The contract is docs/trace-store-api.md.
#include <signal.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "minion/store/api_server.h"
#include "minion/store/otlp_json.h"
#include "minion/store/trace_store.h"
#include "minion/ui/assets.h"
#ifdef MINION_HAVE_GRPC_INGEST
#include "minion/store/grpc_ingest.h"
#endif

namespace minion::cli {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:16686";
  std::string otlp_http = "127.0.0.1:4318";
  std::string otlp_grpc = "127.0.0.1:4317";
  std::string db = "minion-traces.db";
  std::string retention = "7d";
  std::string max_db_size = "1GiB";
  std::vector<std::string> imports;
  int max_queued_spans = 200000;
};

// "7d", "12h", "30m", "90s", "0".
Result<std::chrono::seconds> ParseAge(std::string_view s) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || n < 0)
    return InvalidArgumentError("--retention \"" + std::string(s) +
                                "\": want e.g. 7d, 12h, 30m, 0");
  const std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
  std::int64_t scale;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "m")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  else
    return InvalidArgumentError("--retention unit \"" + std::string(unit) + "\": use s, m, h or d");
  return std::chrono::seconds(n * scale);
}

// "1GiB", "500MiB", "64KiB", "2GB", "1000000", "0".
Result<std::uint64_t> ParseSize(std::string_view s) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc())
    return InvalidArgumentError("--max-db-size \"" + std::string(s) +
                                "\": want e.g. 1GiB, 500MiB, 0");
  const std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
  std::uint64_t scale;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KiB")
    scale = 1ull << 10;
  else if (unit == "MiB")
    scale = 1ull << 20;
  else if (unit == "GiB")
    scale = 1ull << 30;
  else if (unit == "KB")
    scale = 1000;
  else if (unit == "MB")
    scale = 1000'000;
  else if (unit == "GB")
    scale = 1000'000'000;
  else
    return InvalidArgumentError("--max-db-size unit \"" + std::string(unit) +
                                "\": use B, KiB, MiB, GiB, KB, MB or GB");
  return n * scale;
}

// Loads an OTLP JSON-lines file (the file exporter's format). Bad lines are reported and
// skipped; the rest is loaded.
Status Import(store::TraceStore& store, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::string line;
  std::size_t number = 0, loaded = 0, bad = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto request = store::DecodeOtlpJson(line);
    Status s = request.ok() ? Status::Ok() : request.status();
    for (int attempt = 0; s.ok() && attempt < 1000; ++attempt) {
      s = store.Write(*request);
      if (s.code() != StatusCode::kResourceExhausted) break;
      std::this_thread::yield();  // the writer is busy with our previous lines
    }
    if (!s.ok()) {
      ++bad;
      std::cerr << "minion serve: " << path << ":" << number << ": " << s.ToString() << "\n";
      continue;
    }
    ++loaded;
  }
  std::cout << "minion serve: imported " << loaded << " batches from " << path
            << (bad ? " (" + std::to_string(bad) + " lines skipped)" : std::string()) << std::endl;
  return Status::Ok();
}

Result<http::ServerOptions> ListenOptions(const std::string& address) {
  MINION_ASSIGN_OR_RETURN(auto hp, http::ParseListenAddress(address));
  http::ServerOptions o;
  o.host = hp.first;
  o.port = hp.second;
  return o;
}

int Serve(const ServeFlags& flags) {
  auto retention = ParseAge(flags.retention);
  auto max_size = ParseSize(flags.max_db_size);
  if (!retention.ok() || !max_size.ok()) {
    std::cerr << "minion serve: "
              << (!retention.ok() ? retention.status() : max_size.status()).message() << "\n";
    return 2;
  }
  auto query = ListenOptions(flags.listen);
  if (!query.ok()) {
    std::cerr << "minion serve: --listen: " << query.status().message() << "\n";
    return 2;
  }
  store::ApiServerOptions api_options;
  api_options.query = *query;
  // The web UI compiled into this program (src/ui/assets/, docs/ui.md).
  api_options.ui_assets = [](std::string_view path) -> std::optional<store::UiAsset> {
    auto asset = ui::FindUiAsset(path);
    if (!asset) return std::nullopt;
    return store::UiAsset{std::string(asset->content_type),
                          asset->body,
                          asset->etag,
                          {{"Cache-Control", std::string(ui::kCacheControl)},
                           {"Content-Security-Policy", std::string(ui::kContentSecurityPolicy)},
                           {"X-Content-Type-Options", "nosniff"}}};
  };
  if (flags.otlp_http != "off") {
    auto otlp = ListenOptions(flags.otlp_http);
    if (!otlp.ok()) {
      std::cerr << "minion serve: --otlp-http: " << otlp.status().message() << "\n";
      return 2;
    }
    api_options.otlp_http = *otlp;
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  store::StoreOptions store_options;
  store_options.path = flags.db;
  store_options.retention = *retention;
  store_options.max_db_bytes = *max_size;
  store_options.max_queued_spans = static_cast<std::size_t>(flags.max_queued_spans);
  // Overload is worth a line (at most one a second): the exporters retry on their own, but an
  // operator should know ingest is behind.
  struct RefusalLog {
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::int64_t> last_ns{0};
  };
  auto refusals = std::make_shared<RefusalLog>();
  store_options.on_refused = [refusals, max = flags.max_queued_spans] {
    const std::uint64_t n = refusals->refused.fetch_add(1) + 1;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = refusals->last_ns.load();
    if (last != 0 && now - last < 1'000'000'000) return;
    if (!refusals->last_ns.compare_exchange_strong(last, now)) return;
    std::cout << "minion serve: ingest queue full (--max-queued-spans " << max
              << "): answering 429 / RESOURCE_EXHAUSTED with Retry-After; " << n
              << " request(s) refused so far" << std::endl;
  };
  auto store = store::TraceStore::Open(store_options);
  if (!store.ok()) {
    std::cerr << "minion serve: " << store.status().ToString() << "\n";
    return 1;
  }
  if (auto deleted = (*store)->EnforceRetention(); !deleted.ok()) {
    std::cerr << "minion serve: retention: " << deleted.status().ToString() << "\n";
  } else if (*deleted > 0) {
    std::cout << "minion serve: retention deleted " << *deleted << " old spans" << std::endl;
  }
  for (const auto& path : flags.imports) {
    if (Status s = Import(**store, path); !s.ok()) {
      std::cerr << "minion serve: --import: " << s.message() << "\n";
      return 1;
    }
  }
  const std::string otlp_host = api_options.otlp_http ? api_options.otlp_http->host : "";
  auto api = store::ApiServer::Start(**store, std::move(api_options));
  if (!api.ok()) {
    std::cerr << "minion serve: " << api.status().ToString() << "\n";
    return 1;
  }
  const std::string host =
      query->host.find(':') != std::string::npos ? "[" + query->host + "]" : query->host;
  std::cout << "minion serve: query+ui http://" << host << ":" << (*api)->query_port() << "\n";
  if ((*api)->otlp_http_port() != 0) {
    std::cout << "minion serve: otlp-http http://" << otlp_host << ":" << (*api)->otlp_http_port()
              << "\n";
  }
#ifdef MINION_HAVE_GRPC_INGEST
  std::unique_ptr<store::GrpcIngestServer> grpc;
  if (flags.otlp_grpc != "off") {
    store::GrpcIngestOptions grpc_options;
    grpc_options.address = flags.otlp_grpc;
    auto started = store::GrpcIngestServer::Start(**store, grpc_options);
    if (!started.ok()) {
      std::cerr << "minion serve: " << started.status().ToString() << "\n";
      return 1;
    }
    grpc = std::move(started).value();
    const auto colon = flags.otlp_grpc.rfind(':');
    std::cout << "minion serve: otlp-grpc " << flags.otlp_grpc.substr(0, colon) << ":"
              << grpc->port() << "\n";
  }
#else
  if (flags.otlp_grpc != "off")
    std::cerr << "minion serve: this build has no gRPC; OTLP/gRPC ingest is off\n";
#endif
  std::cout << "minion serve: database " << flags.db << " (retention " << flags.retention
            << ", max size " << flags.max_db_size << "); Ctrl-C stops" << std::endl;

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  std::cout << "minion serve: stopping (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ")"
            << std::endl;
#ifdef MINION_HAVE_GRPC_INGEST
  if (grpc) grpc->Shutdown();
#endif
  (*api)->Shutdown();
  (*store)->Shutdown();
  const store::StoreStats stats = (*store)->Stats();
  std::cout << "minion serve: stopped; stored " << stats.spans_written << " spans in "
            << stats.requests_written << " requests, refused " << stats.requests_refused
            << " requests (queue full), retention deleted " << stats.spans_deleted << " spans"
            << std::endl;
  return 0;
}

}  // namespace

Command AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Receive OTLP spans, store them in SQLite and serve the Jaeger query API and the trace UI");
  serve->footer(
      "API and routing: docs/trace-store-api.md. Example:\n"
      "  minion serve &\n"
      "  minion run --name \"Generate REST API\" --type code_generation --ui\n");
  serve->add_option("--listen", flags->listen, "Query API + UI address (host:port)")
      ->capture_default_str();
  serve->add_option("--otlp-http", flags->otlp_http, "OTLP/HTTP address, or off")
      ->capture_default_str();
  serve->add_option("--otlp-grpc", flags->otlp_grpc, "OTLP/gRPC address, or off")
      ->capture_default_str();
  serve->add_option("--db", flags->db, "SQLite database file")->capture_default_str();
  serve
      ->add_option("--retention", flags->retention,
                   "Delete spans older than this (s, m, h, d; 0 = keep)")
      ->capture_default_str();
  serve
      ->add_option("--max-db-size", flags->max_db_size,
                   "Delete oldest spans above this size (KiB, MiB, GiB; 0 = no limit)")
      ->capture_default_str();
  serve
      ->add_option("--import", flags->imports,
                   "Load an OTLP JSON-lines file (file exporter output) first")
      ->check(CLI::ExistingFile);
  serve
      ->add_option("--max-queued-spans", flags->max_queued_spans,
                   "Spans waiting to be written before ingest answers 429 / RESOURCE_EXHAUSTED")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return Command{serve, [flags] { return Serve(*flags); }};
}

}  // namespace minion::cli
