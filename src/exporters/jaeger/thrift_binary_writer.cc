#include "exporters/jaeger/thrift_binary_writer.h"

#include <bit>
#include <limits>

namespace minion::exporters::jaeger {

void ThriftBinaryWriter::WriteBigEndian(std::uint64_t v, int bytes) {
  // Grow in place and store the bytes directly: appending a small buffer made a memmove call
  // per field, which perf showed as over half of bench/jaeger_bench.cc's time (the gain was
  // ~10%; what remains is std::string's per-call bookkeeping).
  const std::size_t pos = out_->size();
  out_->resize(pos + static_cast<std::size_t>(bytes));
  char* p = out_->data() + pos;
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void ThriftBinaryWriter::FieldBegin(ThriftType type, std::int16_t id) {
  out_->push_back(static_cast<char>(type));
  WriteI16(id);
}

void ThriftBinaryWriter::ListBegin(ThriftType element_type, std::int32_t size) {
  out_->push_back(static_cast<char>(element_type));
  WriteI32(size);
}

std::size_t ThriftBinaryWriter::ListBeginDeferred(ThriftType element_type) {
  out_->push_back(static_cast<char>(element_type));
  const std::size_t offset = out_->size();
  WriteI32(0);
  return offset;
}

void ThriftBinaryWriter::ListEnd(std::size_t size_offset, std::int32_t size) {
  const auto u = static_cast<std::uint32_t>(size);
  for (int i = 0; i < 4; ++i) {
    (*out_)[size_offset + static_cast<std::size_t>(i)] =
        static_cast<char>((u >> (24 - 8 * i)) & 0xff);
  }
}

void ThriftBinaryWriter::WriteI16(std::int16_t v) {
  WriteBigEndian(static_cast<std::uint16_t>(v), 2);
}

void ThriftBinaryWriter::WriteI32(std::int32_t v) {
  WriteBigEndian(static_cast<std::uint32_t>(v), 4);
}

void ThriftBinaryWriter::WriteI64(std::int64_t v) {
  WriteBigEndian(static_cast<std::uint64_t>(v), 8);
}

void ThriftBinaryWriter::WriteDouble(double v) {
  static_assert(std::numeric_limits<double>::is_iec559);
  WriteBigEndian(std::bit_cast<std::uint64_t>(v), 8);
}

void ThriftBinaryWriter::WriteString(std::string_view v) {
  // Thrift lengths are i32; callers never hand us 2 GiB strings (attribute limits apply first),
  // but clamp rather than write a negative length.
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
  if (v.size() > max) v = v.substr(0, max);
  WriteI32(static_cast<std::int32_t>(v.size()));
  out_->append(v.data(), v.size());
}

}  // namespace minion::exporters::jaeger
