#include "minion/propagation/baggage.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "minion/propagation/carriers.h"

namespace minion::propagation {
namespace {

trace::Baggage ExtractBaggage(const std::string& header) {
  MapCarrier::Map headers{{"baggage", header}};
  MapCarrier carrier(headers);
  return W3CBaggagePropagator().Extract(carrier, trace::Context()).baggage();
}

TEST(BaggageTest, SetReplacesInPlaceAndDeleteRemoves) {
  trace::Baggage b = trace::Baggage().Set("a", "1").Set("b", "2", "p=1").Set("a", "3");
  ASSERT_EQ(b.entries().size(), 2u);
  EXPECT_EQ(b.entries()[0].key, "a");
  EXPECT_EQ(b.Get("a"), "3");
  EXPECT_EQ(b.entries()[1].metadata, "p=1");
  trace::Baggage c = b.Delete("a");
  EXPECT_EQ(c.Get("a"), std::nullopt);
  EXPECT_EQ(b.Get("a"), "3");  // immutable
  EXPECT_TRUE(c.Delete("b").empty());
}

TEST(PercentCodingTest, EncodesOnlyWhatBaggageOctetsForbid) {
  EXPECT_EQ(internal::PercentEncode("plain-value_1.2~"), "plain-value_1.2~");
  EXPECT_EQ(internal::PercentEncode("a b,c;d\\e\"f%g"), "a%20b%2Cc%3Bd%5Ce%22f%25g");
  EXPECT_EQ(internal::PercentEncode("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(internal::PercentEncode(std::string("\0\n", 2)), "%00%0A");
}

TEST(PercentCodingTest, DecodesEitherCaseAndRejectsMalformed) {
  std::string out;
  ASSERT_TRUE(internal::PercentDecode("a%20b%2c%2C%c3%A9+", &out));
  EXPECT_EQ(out, "a b,,\xc3\xa9+");  // '+' is not a space in baggage
  EXPECT_FALSE(internal::PercentDecode("a%2", &out));
  EXPECT_FALSE(internal::PercentDecode("a%", &out));
  EXPECT_FALSE(internal::PercentDecode("%zz", &out));
}

TEST(W3CBaggagePropagatorTest, InjectEncodesValuesAndKeepsMetadata) {
  trace::Baggage b = trace::Baggage()
                         .Set("user.id", "alice smith")
                         .Set("list", "a,b;c=d%e")
                         .Set("flagged", "1", "ttl=30;private");
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  W3CBaggagePropagator().Inject(trace::Context().WithBaggage(b), carrier);
  EXPECT_EQ(headers["baggage"],
            "user.id=alice%20smith,list=a%2Cb%3Bc=d%25e,flagged=1;ttl=30;private");
}

TEST(W3CBaggagePropagatorTest, InjectsNothingWithoutBaggage) {
  std::map<std::string, std::string> headers;
  MapCarrier carrier(headers);
  W3CBaggagePropagator().Inject(trace::Context(), carrier);
  W3CBaggagePropagator().Inject(trace::Context().WithBaggage(trace::Baggage()), carrier);
  EXPECT_TRUE(headers.empty());
}

TEST(W3CBaggagePropagatorTest, ExtractDecodesTrimsAndKeepsProperties) {
  auto b = ExtractBaggage(" user.id = alice%20smith ;  ttl = 30 ; private ,list=a%2Cb%3Bc");
  ASSERT_EQ(b.entries().size(), 2u);
  EXPECT_EQ(b.entries()[0].key, "user.id");
  EXPECT_EQ(b.entries()[0].value, "alice smith");
  EXPECT_EQ(b.entries()[0].metadata, "ttl=30;private");
  EXPECT_EQ(b.Get("list"), "a,b;c");
  EXPECT_EQ(b.entries()[1].metadata, "");
}

TEST(W3CBaggagePropagatorTest, RoundTripsArbitraryBytes) {
  std::string value;
  for (int c = 0; c < 256; ++c) value.push_back(static_cast<char>(c));
  trace::Baggage in = trace::Baggage().Set("bytes", value).Set("k%=,;", "v");
  trace::Baggage out = W3CBaggagePropagator::Parse(W3CBaggagePropagator::Serialize(in));
  EXPECT_EQ(out.Get("bytes"), value);
  EXPECT_EQ(out.Get("k%=,;"), "v");
}

TEST(W3CBaggagePropagatorTest, MalformedEntriesAreSkipped) {
  auto b = ExtractBaggage("noequals,=novalue,good=1,bad=%zz,  ,ok2=2;=bad-prop,ok3=3;p");
  ASSERT_EQ(b.entries().size(), 2u);
  EXPECT_EQ(b.Get("good"), "1");
  EXPECT_EQ(b.Get("ok3"), "3");
  EXPECT_EQ(b.Get("ok2"), std::nullopt);  // its property has no key
  EXPECT_EQ(b.Get("bad"), std::nullopt);
  EXPECT_EQ(b.Get("empty"), std::nullopt);
  EXPECT_EQ(b.entries()[1].key, "ok3");
  EXPECT_EQ(b.entries()[1].metadata, "p");
}

TEST(W3CBaggagePropagatorTest, EmptyValueIsAllowed) {
  auto b = ExtractBaggage("k=");
  EXPECT_EQ(b.Get("k"), "");
}

TEST(W3CBaggagePropagatorTest, ExtractWithoutValidEntriesKeepsContext) {
  trace::Context base = trace::Context().WithBaggage(trace::Baggage().Set("keep", "me"));
  MapCarrier::Map headers{{"baggage", ",,garbage"}};
  MapCarrier carrier(headers);
  auto ctx = W3CBaggagePropagator().Extract(carrier, base);
  EXPECT_EQ(ctx.baggage().Get("keep"), "me");
}

TEST(W3CBaggagePropagatorTest, ExtractHonoursEntryCountLimit) {
  std::string header;
  for (int i = 0; i < 200; ++i) header += (i ? "," : "") + ("k" + std::to_string(i)) + "=v";
  auto b = ExtractBaggage(header);
  EXPECT_EQ(b.entries().size(), W3CBaggagePropagator::kMaxEntries);
  EXPECT_EQ(b.Get("k179"), "v");
  EXPECT_EQ(b.Get("k180"), std::nullopt);
}

TEST(W3CBaggagePropagatorTest, ExtractRejectsHeaderBeyondTotalLimit) {
  std::string header = "k=" + std::string(W3CBaggagePropagator::kMaxTotalBytes, 'v');
  EXPECT_TRUE(ExtractBaggage(header).empty());
  auto big_entry = ExtractBaggage("a=1,big=" + std::string(5000, 'v') + ",b=2");
  EXPECT_EQ(big_entry.Get("big"), std::nullopt);  // > 4096 bytes per entry
  EXPECT_EQ(big_entry.Get("a"), "1");
  EXPECT_EQ(big_entry.Get("b"), "2");
}

TEST(W3CBaggagePropagatorTest, InjectHonoursLimits) {
  trace::Baggage many;
  for (int i = 0; i < 200; ++i) many = many.Set("k" + std::to_string(i), "v");
  std::string header = W3CBaggagePropagator::Serialize(many);
  EXPECT_EQ(W3CBaggagePropagator::Parse(header).entries().size(),
            W3CBaggagePropagator::kMaxEntries);

  trace::Baggage big = trace::Baggage()
                           .Set("huge", std::string(5000, 'x'))  // > 4096: left out
                           .Set("a", std::string(4000, 'a'))
                           .Set("b", std::string(4000, 'b'))
                           .Set("c", std::string(4000, 'c'))  // would pass 8192: left out
                           .Set("d", "small");                // still fits
  header = W3CBaggagePropagator::Serialize(big);
  EXPECT_LE(header.size(), W3CBaggagePropagator::kMaxTotalBytes);
  auto parsed = W3CBaggagePropagator::Parse(header);
  EXPECT_EQ(parsed.Get("huge"), std::nullopt);
  EXPECT_TRUE(parsed.Get("a").has_value());
  EXPECT_TRUE(parsed.Get("b").has_value());
  EXPECT_EQ(parsed.Get("c"), std::nullopt);
  EXPECT_EQ(parsed.Get("d"), "small");
}

TEST(W3CBaggagePropagatorTest, DuplicateKeysLastWins) {
  auto b = ExtractBaggage("a=1,b=2,a=3");
  ASSERT_EQ(b.entries().size(), 2u);
  EXPECT_EQ(b.Get("a"), "3");
}

}  // namespace
}  // namespace minion::propagation
