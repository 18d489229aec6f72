#include "smpkit/base/hex.h"

#include <gtest/gtest.h>

#include <iterator>

namespace smpkit {
namespace {

TEST(Hex, EncodesLowerCaseAndDecodesEitherCase) {
  const uint8_t b[] = {0x00, 0x0a, 0xff, 0x5c};
  EXPECT_EQ(HexEncode(b), "000aff5c");
  EXPECT_EQ(HexEncode(b, 2), "000a");
  auto d = HexDecode("000AfF5c");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, std::vector<uint8_t>(std::begin(b), std::end(b)));
  EXPECT_TRUE(HexDecode("").ok());
}

TEST(Hex, WhitespaceOnlyBetweenPairsAndOnlyWhenAsked) {
  auto d = HexDecode("00 0a\nff\t5c", true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 4u);
  EXPECT_FALSE(HexDecode("00 0a").ok());
  EXPECT_FALSE(HexDecode("0 00a", true).ok());  // a space inside a pair
}

TEST(Hex, BadInputIsNamed) {
  auto odd = HexDecode("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().message(), "hex: an odd number of hex digits");
  auto bad = HexDecode("01zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "hex: character 3 ('z') is not a hex digit");
}

}  // namespace
}  // namespace smpkit
