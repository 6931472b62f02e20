#pragma once
// The table cmake/EmbedFiles.cmake generates at build time: every file under src/ui/assets/ as
// bytes compiled into the program. Private to minion_ui; users call minion::ui::FindUiAsset.

#include <cstddef>

namespace minion::ui {

struct EmbeddedFile {
  const char* path;            // "/index.html": the URL path, with its leading slash
  const unsigned char* bytes;  // `size` bytes (followed by one 0 that is not part of the file)
  std::size_t size;
  const char* etag;  // a quoted strong ETag: the first 20 hex digits of the file's SHA-256
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

}  // namespace minion::ui
