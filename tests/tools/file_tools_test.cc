#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "minion/tools/builtin.h"

namespace minion::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class FileToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    base_ =
        fs::temp_directory_path() / ("minion-tools-" + std::to_string(rd()) + std::to_string(rd()));
    root_ = base_ / "workspace";
    fs::create_directories(root_);
    std::ofstream(base_ / "secret.txt") << "outside";
    write_ = MakeWriteFileTool({root_});
    read_ = MakeReadFileTool({root_});
  }
  void TearDown() override { fs::remove_all(base_); }

  Result<json> Write(const std::string& path, const std::string& content) {
    return write_->Invoke(trace::Context(), {{"path", path}, {"content", content}});
  }
  Result<json> Read(const std::string& path) {
    return read_->Invoke(trace::Context(), {{"path", path}});
  }

  fs::path base_, root_;
  std::shared_ptr<Tool> write_, read_;
};

TEST_F(FileToolsTest, WritesAndReadsBackUnderRoot) {
  auto w = Write("src/main.cc", "int main() {}\n");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)["bytes_written"], 14);
  EXPECT_EQ((*w)["path"], "src/main.cc");
  EXPECT_TRUE(fs::exists(root_ / "src" / "main.cc"));
  auto r = Read("src/main.cc");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["content"], "int main() {}\n");
  EXPECT_EQ((*r)["truncated"], false);
}

TEST_F(FileToolsTest, AppendAddsToTheEnd) {
  ASSERT_TRUE(Write("log.txt", "a").ok());
  ASSERT_TRUE(
      write_->Invoke(trace::Context(), {{"path", "log.txt"}, {"content", "b"}, {"append", true}})
          .ok());
  EXPECT_EQ((*Read("log.txt"))["content"], "ab");
  ASSERT_TRUE(Write("log.txt", "c").ok());
  EXPECT_EQ((*Read("log.txt"))["content"], "c");
}

TEST_F(FileToolsTest, DotDotInsideTheRootIsFine) {
  ASSERT_TRUE(Write("a/../b.txt", "x").ok());
  EXPECT_TRUE(fs::exists(root_ / "b.txt"));
}

TEST_F(FileToolsTest, PathEscapesAreRejected) {
  for (const std::string path : {"../secret.txt", "a/../../secret.txt", "./../secret.txt",
                                 "a/b/../../../secret.txt", "/etc/passwd", ".", ""}) {
    auto w = Write(path, "pwned");
    ASSERT_FALSE(w.ok()) << path;
    auto r = Read(path);
    ASSERT_FALSE(r.ok()) << path;
    if (!path.empty()) {
      EXPECT_EQ(w.status().code(), StatusCode::kPermissionDenied) << path;
      EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << path;
    }
  }
  std::ifstream in(base_ / "secret.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "outside");
}

TEST_F(FileToolsTest, SymlinksOutOfTheRootAreRejected) {
  fs::create_directory_symlink(base_, root_ / "escape_dir");
  fs::create_symlink(base_ / "secret.txt", root_ / "escape_file");
  auto r1 = Read("escape_dir/secret.txt");
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r1.status().message(), HasSubstr("outside the workspace root"));
  auto r2 = Read("escape_file");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kPermissionDenied);
  auto w = Write("escape_dir/new.txt", "x");
  ASSERT_FALSE(w.ok());
  EXPECT_FALSE(fs::exists(base_ / "new.txt"));
}

TEST_F(FileToolsTest, SymlinkWithinTheRootIsFollowed) {
  ASSERT_TRUE(Write("real.txt", "hello").ok());
  fs::create_symlink(root_ / "real.txt", root_ / "alias.txt");
  auto r = Read("alias.txt");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["content"], "hello");
}

TEST_F(FileToolsTest, MissingFileIsNotFound) {
  auto r = Read("nope.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(FileToolsTest, ReadLimitTruncatesOnACharacterBoundary) {
  ASSERT_TRUE(Write("u.txt",
                    "ab\xC3\xA9"
                    "cd")
                  .ok());  // "abécd"
  auto r = read_->Invoke(trace::Context(), {{"path", "u.txt"}, {"max_bytes", 3}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["content"], "ab");
  EXPECT_EQ((*r)["truncated"], true);
  auto exact = read_->Invoke(trace::Context(), {{"path", "u.txt"}, {"max_bytes", 6}});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ((*exact)["truncated"], false);
}

TEST_F(FileToolsTest, BinaryFilesAreRefused) {
  std::ofstream(root_ / "bin", std::ios::binary) << std::string("\x00\xff\xfe", 3);
  auto r = Read("bin");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not UTF-8"));
}

TEST_F(FileToolsTest, WriteLimitIsEnforced) {
  auto small = MakeWriteFileTool({root_, 4});
  auto r = small->Invoke(trace::Context(), {{"path", "big.txt"}, {"content", "12345"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ / "big.txt"));
}

}  // namespace
}  // namespace minion::tools
