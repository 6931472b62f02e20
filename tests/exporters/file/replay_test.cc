// ReplayOtlpJsonLines against a real HTTP/1.1 server on 127.0.0.1 (a minimal one in this
// process): every line arrives unchanged as an application/json POST; refusals are counted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "minion/exporters/file_exporter.h"
#include "otlp/span_fixtures.h"

namespace minion::exporters {
namespace {

// Answers each request with `status_for(i)`; records bodies and content types.
class MiniHttpServer {
 public:
  explicit MiniHttpServer(std::function<int(int)> status_for) : status_for_(std::move(status_for)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Run(); });
  }
  ~MiniHttpServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Run() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Serve(c);
      ::close(c);
    }
  }
  void Serve(int c) {
    std::string buf;
    char chunk[65536];
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      std::string head = buf.substr(0, end);
      for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::size_t length = 0;
      if (auto p = head.find("content-length:"); p != std::string::npos)
        length = std::stoul(head.substr(p + 15));
      std::string type;
      if (auto p = head.find("content-type:"); p != std::string::npos) {
        type = head.substr(p + 13, head.find("\r\n", p) - p - 13);
        while (!type.empty() && type.front() == ' ') type.erase(0, 1);
      }
      while (buf.size() < end + 4 + length) {
        const ssize_t n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      int index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.emplace_back(type, buf.substr(end + 4, length));
        index = static_cast<int>(requests_.size()) - 1;
      }
      buf.erase(0, end + 4 + length);
      const std::string resp =
          "HTTP/1.1 " + std::to_string(status_for_(index)) + " X\r\nContent-Length: 0\r\n\r\n";
      if (::write(c, resp.data(), resp.size()) < 0) return;
    }
  }
  std::function<int(int)> status_for_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> requests_;
};

TEST(ReplayOtlpJsonLines, PostsEveryLineUnchangedAndCountsRefusals) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("minion-replay-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  FileExporterOptions fo;
  fo.path = (dir / "t.jsonl").string();
  otlp::testing::Fixture fx;
  {
    auto e = FileExporter::Create(fo);
    ASSERT_TRUE(e.ok());
    for (int i = 0; i < 3; ++i) {
      trace::SpanDataPtr spans[1] = {fx.SeedSpan(static_cast<std::uint64_t>(i))};
      ASSERT_EQ((*e)->Export(spans, std::chrono::seconds(1)), sdk::ExportResult::kSuccess);
    }
  }
  std::vector<std::string> lines;
  {
    std::ifstream in(fo.path);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 3u);

  MiniHttpServer server([](int i) { return i == 1 ? 400 : 200; });
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/traces";
  auto r = ReplayOtlpJsonLines(fo.path, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lines_sent, 2u);
  EXPECT_EQ(r->lines_failed, 1u);
  EXPECT_NE(r->first_error.find("line 2: HTTP 400"), std::string::npos) << r->first_error;
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reqs[i].first, "application/json");
    EXPECT_EQ(reqs[i].second, lines[i]);
  }

  EXPECT_EQ(ReplayOtlpJsonLines((dir / "missing").string(), o).status().code(),
            StatusCode::kNotFound);
  o.endpoint = "127.0.0.1:1";
  EXPECT_EQ(ReplayOtlpJsonLines(fo.path, o).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace minion::exporters
