// The embedded web UI: every file under src/ui/assets/ is compiled in byte for byte, with its
// content type and an ETag, and the single-page-application rule sends deep links to index.html.
#include "minion/ui/assets.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace minion::ui {
namespace {

std::filesystem::path AssetDir() {
  const char* source = std::getenv("MINION_SOURCE_DIR");
  return std::filesystem::path(source ? source : ".") / "src" / "ui" / "assets";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(UiAssetsTest, EveryFileOnDiskIsEmbeddedByteForByte) {
  ASSERT_TRUE(std::filesystem::is_directory(AssetDir())) << AssetDir();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(AssetDir())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::string url = "/" + std::filesystem::relative(entry.path(), AssetDir()).generic_string();
    auto asset = FindUiFile(url);
    ASSERT_TRUE(asset.has_value()) << url;
    EXPECT_EQ(asset->path, url);
    EXPECT_EQ(asset->body, ReadFile(entry.path())) << url;
  }
  EXPECT_EQ(files, UiFileCount());
  EXPECT_GE(files, 3u);  // index.html, app.js, style.css at least
}

TEST(UiAssetsTest, RootIsIndexHtmlWithHtmlContentType) {
  auto root = FindUiAsset("/");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->path, "/index.html");
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_NE(root->body.find("<!doctype html>"), std::string_view::npos);
}

TEST(UiAssetsTest, ContentTypesFollowTheExtension) {
  auto js = FindUiAsset("/app.js");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  auto css = FindUiAsset("/style.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
}

TEST(UiAssetsTest, DeepLinksGetIndexHtml) {
  for (std::string_view path : {"/trace/4bf92f3577b34da6a3ce929d0e0e4736", "/search", "/search/",
                                "/trace/4bf92f3577b34da6a3ce929d0e0e4736/",
                                "/trace/4bf92f3577b34da6a3ce929d0e0e4736?view=agent",
                                "/search?service=minion-multiagent&tags=error%3Dtrue"}) {
    auto asset = FindUiAsset(path);
    ASSERT_TRUE(asset.has_value()) << path;
    EXPECT_EQ(asset->path, "/index.html") << path;
  }
}

TEST(UiAssetsTest, ApiPathsAndMissingFilesAreNotAnswered) {
  for (std::string_view path :
       {"/api", "/api/", "/api/v3/services", "/api/traces/abc", "/api?x=1", "/favicon.ico",
        "/missing.js", "/trace/x.json", "", "app.js", "/apis", "/admin", "/trace", "/trace/",
        "/searches", "/trace/4bf92f3577b34da6a3ce929d0e0e4736/agent", "/robots.txt"}) {
    EXPECT_FALSE(FindUiAsset(path).has_value()) << path;
  }
  EXPECT_FALSE(FindUiFile("/trace/abc").has_value());
}

TEST(UiAssetsTest, QueryStringIsIgnoredForFiles) {
  auto js = FindUiAsset("/app.js?v=2");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->path, "/app.js");
}

TEST(UiAssetsTest, EtagIsQuotedStableAndDiffersBetweenFiles) {
  auto html = FindUiAsset("/index.html");
  auto js = FindUiAsset("/app.js");
  ASSERT_TRUE(html && js);
  ASSERT_GE(html->etag.size(), 3u);
  EXPECT_EQ(html->etag.front(), '"');
  EXPECT_EQ(html->etag.back(), '"');
  EXPECT_NE(html->etag, js->etag);
  EXPECT_EQ(FindUiAsset("/")->etag, html->etag);
}

TEST(UiAssetsTest, IfNoneMatchComparesWeaklyAcrossAList) {
  auto html = FindUiAsset("/index.html").value();
  std::string etag(html.etag);
  EXPECT_TRUE(EtagMatches(etag, html));
  EXPECT_TRUE(EtagMatches("W/" + etag, html));
  EXPECT_TRUE(EtagMatches("\"other\", " + etag, html));
  EXPECT_TRUE(EtagMatches("*", html));
  EXPECT_FALSE(EtagMatches("\"other\"", html));
  EXPECT_FALSE(EtagMatches("", html));
  EXPECT_FALSE(EtagMatches(etag.substr(1), html));  // unquoted is another tag
}

}  // namespace
}  // namespace minion::ui
