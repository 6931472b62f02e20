#pragma once
// The web UI served by `minion serve` at `/`: HTML, JavaScript modules and CSS compiled into the
// program at build time (src/ui/assets/, embedded by cmake/EmbedFiles.cmake), so the UI needs no
// files on disk, no CDN and no network. Everything here is immutable static data: safe to call
// from any thread.

#include <cstddef>
#include <optional>
#include <string_view>

namespace minion::ui {

// One file of the UI. The views point into static storage and stay valid for the whole program.
struct Asset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view body;          // the file's bytes
  std::string_view etag;          // a quoted strong ETag (`"0a1b..."`), changes with the bytes
};

// What a request for `path` gets, `path` being the URL path (a query string or fragment is
// ignored). Rules, in order:
//   - "/api" and everything under "/api/" belong to the query API: nullopt.
//   - a file of the UI ("/app.js"; "/" means "/index.html"): that file.
//   - a route of the single-page app ("/search", "/trace/4bf92f...", each with an optional
//     trailing slash): index.html, whose script routes on the URL; that is what makes deep
//     links like /trace/{id} work when opened directly.
//   - anything else ("/favicon.ico", "/x.js", "/admin", "/trace/x/y"): nullopt, which
//     `minion serve` answers with 404.
std::optional<Asset> FindUiAsset(std::string_view path);

// The file named exactly `path` ("/app.js"), without the single-page-application fallback.
std::optional<Asset> FindUiFile(std::string_view path);

// True when an `If-None-Match` header value names the asset's ETag (a list or `*`), so the
// server can answer 304 Not Modified without a body.
bool EtagMatches(std::string_view if_none_match, const Asset& asset);

// Headers the server should send with every UI response: scripts, styles and connections only
// from the server itself (the UI loads nothing from elsewhere), no framing, no MIME sniffing.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'";
inline constexpr std::string_view kCacheControl = "no-cache";  // revalidate with the ETag

// Number of embedded files (for tests and diagnostics).
std::size_t UiFileCount();

}  // namespace minion::ui
