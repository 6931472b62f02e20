#include "minion/ui/assets.h"

#include "ui/embedded_files.h"

namespace minion::ui {
namespace {

std::string_view ContentTypeFor(std::string_view path) {
  struct Type {
    std::string_view extension;
    std::string_view content_type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const Type& t : kTypes) {
    if (path.size() >= t.extension.size() &&
        path.substr(path.size() - t.extension.size()) == t.extension) {
      return t.content_type;
    }
  }
  return "application/octet-stream";
}

std::string_view StripQuery(std::string_view path) {
  std::size_t end = path.find_first_of("?#");
  return end == std::string_view::npos ? path : path.substr(0, end);
}

bool IsApiPath(std::string_view path) {
  return path == "/api" || path.starts_with("/api/") || path.starts_with("/api?");
}

}  // namespace

std::optional<Asset> FindUiFile(std::string_view path) {
  path = StripQuery(path);
  if (path == "/") path = "/index.html";
  for (std::size_t i = 0; i < kEmbeddedFileCount; ++i) {
    const EmbeddedFile& f = kEmbeddedFiles[i];
    if (path == f.path) {
      return Asset{f.path, ContentTypeFor(f.path),
                   std::string_view(reinterpret_cast<const char*>(f.bytes), f.size), f.etag};
    }
  }
  return std::nullopt;
}

namespace {

// The routes the single-page app renders (route() in assets/app.js): /search and
// /trace/{id}, each with an optional trailing slash. Only these get index.html, so a mistyped
// or probed path (/favicon.ico, /admin, /trace/x/y) is a plain 404 rather than a page that
// silently shows the search form.
bool IsAppRoute(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/search") return true;
  constexpr std::string_view kTrace = "/trace/";
  if (!path.starts_with(kTrace)) return false;
  const std::string_view id = path.substr(kTrace.size());
  return !id.empty() && id.find_first_of("/.") == std::string_view::npos;
}

}  // namespace

std::optional<Asset> FindUiAsset(std::string_view path) {
  path = StripQuery(path);
  if (path.empty() || path.front() != '/' || IsApiPath(path)) return std::nullopt;
  if (auto file = FindUiFile(path)) return file;
  if (!IsAppRoute(path)) return std::nullopt;
  return FindUiFile("/index.html");
}

bool EtagMatches(std::string_view if_none_match, const Asset& asset) {
  // A comma-separated list of entity tags, each possibly weak (W/"..."); weak comparison is
  // what If-None-Match uses (RFC 9110 13.1.2).
  while (!if_none_match.empty()) {
    std::size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == asset.etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

std::size_t UiFileCount() { return kEmbeddedFileCount; }

}  // namespace minion::ui
