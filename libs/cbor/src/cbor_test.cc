#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/testing/hex.h"

namespace smpkit::cbor {
namespace {

std::vector<uint8_t> H(std::string_view hex) { return smpkit::testing::FromHex(hex); }

TEST(DecodeMap, DefiniteAndIndefiniteMaps) {
  for (auto hex : {"a1 61 64 65 68 65 6c 6c 6f", "bf 61 64 65 68 65 6c 6c 6f ff"}) {
    auto bytes = H(hex);
    std::string_view d;
    bool has_d = false;
    ASSERT_TRUE(DecodeMap(bytes, {TextField("d", &d, &has_d)}).ok()) << hex;
    EXPECT_TRUE(has_d);
    EXPECT_EQ(d, "hello");
  }
}

TEST(DecodeMap, SkipsUnknownNestedKeys) {
  // {"x": [1, {"y": h'00'}], "d": "hi", "z": -5} (capture step 7)
  auto bytes = H("a3 61 78 82 01 a1 61 79 41 00 61 64 62 68 69 61 7a 24");
  std::string_view d;
  ASSERT_TRUE(DecodeMap(bytes, {TextField("d", &d)}).ok());
  EXPECT_EQ(d, "hi");
}

TEST(DecodeMap, TypeStrictness) {
  std::string_view d;
  bool confirm = false;
  uint64_t slot = 0;
  ConstByteSpan hash;
  // d as bstr
  EXPECT_EQ(DecodeMap(H("a1 61 64 45 68 65 6c 6c 6f"), {TextField("d", &d)}).error().code(),
            Errc::kTypeMismatch);
  // confirm as integer 1
  EXPECT_EQ(DecodeMap(H("a1 67 63 6f 6e 66 69 72 6d 01"), {BoolField("confirm", &confirm)})
                .error()
                .code(),
            Errc::kTypeMismatch);
  // slot -1
  EXPECT_EQ(DecodeMap(H("a1 64 73 6c 6f 74 20"), {UintField("slot", &slot)}).error().code(),
            Errc::kTypeMismatch);
  // hash as tstr
  EXPECT_FALSE(DecodeMap(H("a1 64 68 61 73 68 61 61"), {BytesField("hash", &hash)}).ok());
  // non-text key before a valid key: the whole map fails
  EXPECT_EQ(DecodeMap(H("a2 01 02 61 64 62 68 69"), {TextField("d", &d)}).error().code(),
            Errc::kTypeMismatch);
  // not a map
  EXPECT_EQ(DecodeMap(H("81 65 68 65 6c 6c 6f"), {TextField("d", &d)}).error().code(),
            Errc::kTypeMismatch);
  EXPECT_FALSE(DecodeMap(H("05"), {TextField("d", &d)}).ok());
  EXPECT_FALSE(DecodeMap({}, {TextField("d", &d)}).ok());
}

// RFC 3629 / RFC 8949 §5.3.1: text strings must be valid UTF-8.
TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9t\xc3\xa9"));  // "été"
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));       // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));   // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));       // U+D7FF
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("abc\x80"));           // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));      // truncated 4-byte
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));      // bad continuation
  EXPECT_FALSE(IsValidUtf8("12345678\xfe"));      // after an ASCII run
}

TEST(DecodeMap, TextFieldThatIsNotUtf8IsRejected) {
  std::string_view d;
  // {"d": "\xff\xfe"}
  auto bad = DecodeMap(H("a1 61 64 62 ff fe"), {TextField("d", &d)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kCorrupt);
  EXPECT_NE(bad.error().message().find("\"d\""), std::string_view::npos);
  // An unknown key's invalid text is skipped like any unknown value.
  EXPECT_TRUE(DecodeMap(H("a1 61 78 62 ff fe"), {TextField("d", &d)}).ok());
}

TEST(DecodeMap, DuplicateKnownKeyIsErrorDuplicateUnknownIsNot) {
  std::string_view d;
  EXPECT_EQ(DecodeMap(H("a2 61 64 61 61 61 64 61 62"), {TextField("d", &d)}).error().code(),
            Errc::kDuplicateKey);
  EXPECT_TRUE(DecodeMap(H("a2 61 78 01 61 78 02"), {TextField("d", &d)}).ok());
}

TEST(DecodeMap, TruncatedAndMalformed) {
  std::string_view d;
  EXPECT_FALSE(DecodeMap(H("a1 61 64 65 68 65"), {TextField("d", &d)}).ok());
  EXPECT_FALSE(DecodeMap(H("bf 61 64 62 68 69"), {TextField("d", &d)}).ok());  // no break
  EXPECT_FALSE(DecodeMap(H("a1 61 64 ff"), {TextField("d", &d)}).ok());
  // a huge definite array as an unknown value must not loop forever
  EXPECT_FALSE(DecodeMap(H("a1 61 78 9b ff ff ff ff ff ff ff ff"), {TextField("d", &d)}).ok());
}

TEST(Reader, SkipsChunkedStringsAndTags) {
  // {"x": (_ h'01', h'02'), "t": 1(5), "d": "ok"}
  auto bytes = H("a3 61 78 5f 41 01 41 02 ff 61 74 c1 05 61 64 62 6f 6b");
  std::string_view d;
  ASSERT_TRUE(DecodeMap(bytes, {TextField("d", &d)}).ok());
  EXPECT_EQ(d, "ok");
  // A text chunk inside an indefinite byte string is malformed.
  EXPECT_FALSE(DecodeMap(H("a1 61 78 5f 61 01 ff"), {TextField("d", &d)}).ok());
}

TEST(Reader, DepthLimit) {
  std::vector<uint8_t> deep = H("a1 61 78");
  for (int i = 0; i < 40; ++i) deep.push_back(0x82);
  for (int i = 0; i < 41; ++i) deep.push_back(0x00);
  std::string_view d;
  auto r = DecodeMap(deep, {TextField("d", &d)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
  // Arrays of one item nest without growing the walk's stack: accepted.
  std::vector<uint8_t> chain = H("a1 61 78");
  for (int i = 0; i < 40; ++i) chain.push_back(0x81);
  chain.push_back(0x00);
  EXPECT_TRUE(DecodeMap(chain, {TextField("d", &d)}).ok());
}

TEST(DecodeMap, IntegersOfAllWidths) {
  uint64_t a = 0, b = 0, c = 0;
  int64_t n = 0;
  auto bytes = H("a4 61 61 18 20 61 62 19 12 34 61 63 1b 00 00 00 01 00 00 00 00 61 6e 38 63");
  ASSERT_TRUE(DecodeMap(bytes, {UintField("a", &a), UintField("b", &b), UintField("c", &c),
                                IntField("n", &n)})
                  .ok());
  EXPECT_EQ(a, 32u);
  EXPECT_EQ(b, 4660u);
  EXPECT_EQ(c, 1ull << 32);
  EXPECT_EQ(n, -100);
}

TEST(Writer, IndefiniteLikeZephyr) {
  uint8_t buf[64];
  Writer w(buf, Style::kIndefinite);
  w.BeginMap().Key("err").BeginMap().Key("group").Uint(0).Key("rc").Uint(2).End().End();
  ASSERT_TRUE(w.status().ok());
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + w.size()),
            H("bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 63 02 ff ff"));
}

TEST(Writer, DefiniteWithCountPatching) {
  uint8_t buf[256];
  Writer w(buf);
  w.BeginMap().Key("d").Text("hello").End();
  ASSERT_TRUE(w.status().ok());
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + w.size()), H("a1 61 64 65 68 65 6c 6c 6f"));

  Writer big(buf);
  big.BeginArray();
  for (int i = 0; i < 30; ++i) big.Uint(static_cast<uint64_t>(i));
  big.End();
  ASSERT_TRUE(big.status().ok());
  EXPECT_EQ(buf[0], 0x98);
  EXPECT_EQ(buf[1], 30);
  EXPECT_EQ(buf[2], 0);
  EXPECT_EQ(buf[26], 0x18);  // 24 needs a one-byte argument
  EXPECT_EQ(buf[37], 29);
  EXPECT_EQ(big.size(), 38u);
}

TEST(Writer, IntegerHeadsAndOverflow) {
  uint8_t buf[16];
  Writer w(buf);
  w.Uint(32).Uint(4660).Int(-5).Bool(true);
  ASSERT_TRUE(w.status().ok());
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + w.size()), H("18 20 19 12 34 24 f5"));
  uint8_t small[4];
  Writer s(small);
  s.Text("hello");
  EXPECT_EQ(s.status().error().code(), Errc::kNoSpace);
  Writer u(buf);
  u.BeginMap().Key("a").End();
  EXPECT_EQ(u.status().error().code(), Errc::kInvalidArgument);
}

TEST(Writer, BytesInPlaceReservesTheStringForTheCaller) {
  uint8_t buf[32];
  Writer w(buf);
  ByteSpan body = w.BytesInPlace(25);  // 25 needs a one-byte length argument
  ASSERT_EQ(body.size(), 25u);
  EXPECT_EQ(body.data(), buf + 2);
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(w.status().ok());
  EXPECT_EQ(w.size(), 27u);
  EXPECT_EQ(buf[0], 0x58);
  EXPECT_EQ(buf[1], 25);
  EXPECT_EQ(buf[26], 24);
  EXPECT_TRUE(w.BytesInPlace(0).empty());
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(buf[27], 0x40);  // an empty byte string
  EXPECT_TRUE(w.BytesInPlace(4).empty());  // 1 + 4 bytes left? only 4: does not fit
  EXPECT_EQ(w.status().error().code(), Errc::kNoSpace);
}

TEST(Writer, RoundTripThroughReader) {
  uint8_t buf[128];
  const uint8_t sha[4] = {1, 2, 3, 4};
  Writer w(buf);
  w.BeginMap().Key("off").Uint(512).Key("sha").Bytes(sha).Key("upgrade").Bool(true).End();
  ASSERT_TRUE(w.status().ok());
  uint64_t off = 0;
  ConstByteSpan got;
  bool upgrade = false;
  ASSERT_TRUE(DecodeMap(w.written(), {UintField("off", &off), BytesField("sha", &got),
                                      BoolField("upgrade", &upgrade)})
                  .ok());
  EXPECT_EQ(off, 512u);
  EXPECT_EQ(got.size(), 4u);
  EXPECT_TRUE(upgrade);
}

}  // namespace
}  // namespace smpkit::cbor
