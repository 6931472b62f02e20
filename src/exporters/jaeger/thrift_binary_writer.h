#pragma once
// A writer for Apache Thrift's binary protocol (TBinaryProtocol, strict, no message envelope):
// exactly the subset the Jaeger collector's /api/traces endpoint needs to read a `Batch`.
//
// Why no thrift library: Debian's libthrift only provides the protocol runtime; the structs
// would have to be generated from Jaeger's IDL, which means copying jaeger.thrift into this
// repository. The binary protocol itself is tiny (big-endian integers, length-prefixed strings,
// a type byte and a 16-bit id per field, a stop byte per struct), so writing it here costs
// about as many lines as the glue to a generated library would. Verified against the Jaeger
// project's own IDL decoded by thriftrw (tests/interop/node/jaeger_receiver.js).
//
// Not thread-safe; appends to a caller-owned string so a buffer can be reused across exports.

#include <cstdint>
#include <string>
#include <string_view>

namespace minion::exporters::jaeger {

// Wire type ids of the binary protocol.
enum class ThriftType : std::uint8_t {
  kStop = 0,
  kBool = 2,
  kByte = 3,
  kDouble = 4,
  kI16 = 6,
  kI32 = 8,
  kI64 = 10,
  kString = 11,
  kStruct = 12,
  kMap = 13,
  kSet = 14,
  kList = 15,
};

class ThriftBinaryWriter {
 public:
  explicit ThriftBinaryWriter(std::string* out) : out_(out) {}

  // Field header: type byte, then the field id as a big-endian i16.
  void FieldBegin(ThriftType type, std::int16_t id);
  // Ends a struct (the STOP byte). Structs have no begin marker on the wire.
  void StructEnd() { out_->push_back(static_cast<char>(ThriftType::kStop)); }
  // List header: element type byte, then the size as a big-endian i32.
  void ListBegin(ThriftType element_type, std::int32_t size);
  // For lists whose size is known only after writing them: writes the header with a zero size
  // and returns where the size lives; ListEnd patches it in.
  std::size_t ListBeginDeferred(ThriftType element_type);
  void ListEnd(std::size_t size_offset, std::int32_t size);

  void WriteBool(bool v) { out_->push_back(v ? 1 : 0); }
  void WriteI16(std::int16_t v);
  void WriteI32(std::int32_t v);
  void WriteI64(std::int64_t v);
  void WriteDouble(double v);  // IEEE 754 bits as a big-endian i64
  // string and binary share one encoding: i32 length, then the bytes.
  void WriteString(std::string_view v);

  // Field header and value in one call, for the common scalar fields.
  void BoolField(std::int16_t id, bool v) {
    FieldBegin(ThriftType::kBool, id);
    WriteBool(v);
  }
  void I32Field(std::int16_t id, std::int32_t v) {
    FieldBegin(ThriftType::kI32, id);
    WriteI32(v);
  }
  void I64Field(std::int16_t id, std::int64_t v) {
    FieldBegin(ThriftType::kI64, id);
    WriteI64(v);
  }
  void DoubleField(std::int16_t id, double v) {
    FieldBegin(ThriftType::kDouble, id);
    WriteDouble(v);
  }
  void StringField(std::int16_t id, std::string_view v) {
    FieldBegin(ThriftType::kString, id);
    WriteString(v);
  }

  std::string& out() { return *out_; }

 private:
  void WriteBigEndian(std::uint64_t v, int bytes);
  std::string* out_;
};

}  // namespace minion::exporters::jaeger
