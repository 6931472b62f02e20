// Byte-level checks of the Thrift binary protocol encoding (values worked out by hand from the
// protocol description); jaeger_exporter_interop_test checks the same bytes against Jaeger's
// IDL decoded by thriftrw.

#include "exporters/jaeger/thrift_binary_writer.h"

#include <gtest/gtest.h>

#include "exporters/jaeger/jaeger_thrift.h"

namespace minion::exporters::jaeger {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(ThriftBinaryWriterTest, ScalarFieldsAreTypeIdThenBigEndianValue) {
  std::string out;
  ThriftBinaryWriter w(&out);
  w.I64Field(1, 0x0102030405060708);
  w.I32Field(7, -1);
  w.BoolField(5, true);
  w.StringField(300, "ab");
  w.StructEnd();
  EXPECT_EQ(out, Bytes({10, 0,    1,    1,    2,    3,    4,    5,   6,   7, 8,  // i64 field 1
                        8,  0,    7,    0xff, 0xff, 0xff, 0xff,                  // i32 field 7
                        2,  0,    5,    1,                                       // bool field 5
                        11, 0x01, 0x2c, 0,    0,    0,    2,    'a', 'b',        // string field 300
                        0}));                                                    // stop
}

TEST(ThriftBinaryWriterTest, DoubleIsIeeeBitsBigEndian) {
  std::string out;
  ThriftBinaryWriter w(&out);
  w.WriteDouble(1.0);   // 0x3ff0000000000000
  w.WriteDouble(-2.5);  // 0xc004000000000000
  EXPECT_EQ(out, Bytes({0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0x04, 0, 0, 0, 0, 0, 0}));
}

TEST(ThriftBinaryWriterTest, DeferredListSizeIsPatchedIn) {
  std::string out;
  ThriftBinaryWriter w(&out);
  const auto at = w.ListBeginDeferred(ThriftType::kStruct);
  w.StructEnd();
  w.StructEnd();
  w.ListEnd(at, 258);
  EXPECT_EQ(out, Bytes({12, 0, 0, 1, 2, 0, 0}));
}

TEST(JaegerThriftTest, IdsAreBigEndianReadAsSignedI64) {
  const std::uint8_t ff[8] = {0xff, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(IdToInt64(ff), -72057594037927936LL);  // the specification's own example
  const std::uint8_t one[8] = {0, 0, 0, 0, 0x10, 0, 0, 0};
  EXPECT_EQ(IdToInt64(one), 268435456);
}

TEST(JaegerThriftTest, ArraysBecomeJsonText) {
  EXPECT_EQ(AttributeToJson(std::vector<std::string>{"a", "b\"c"}), R"(["a","b\"c"])");
  EXPECT_EQ(AttributeToJson(std::vector<std::int64_t>{1, -2}), "[1,-2]");
  EXPECT_EQ(AttributeToJson(std::vector<bool>{true, false}), "[true,false]");
  EXPECT_EQ(AttributeToJson(std::vector<std::string>{"\xff"}),
            "[\"\xEF\xBF\xBD\"]");  // invalid UTF-8 replaced
}

}  // namespace
}  // namespace minion::exporters::jaeger
