#include "smpkit/base/base64.h"
#include "smpkit/base/crc.h"

#include <gtest/gtest.h>

#include <string>

namespace smpkit {
namespace {

TEST(Crc16Xmodem, CheckValue) { EXPECT_EQ(Crc16Xmodem(AsBytes("123456789")), 0x31C3); }

TEST(Crc32, CheckValueSeedsAndPieces) {
  const auto d = AsBytes("123456789");
  EXPECT_EQ(Crc32(d), 0xCBF43926u);  // the CRC-32/IEEE check value
  EXPECT_EQ(Crc32(d, 1), 0xDC8F2D65u);  // python3: zlib.crc32(b"123456789", 1)
  EXPECT_EQ(Crc32(d.subspan(4), Crc32(d.first(4))), Crc32(d));
  EXPECT_EQ(Crc32({}), 0u);
}

TEST(Crc16Xmodem, SpecSerialVector) {
  // smp-protocol.md §12.2 I
  const uint8_t pkt[] = {0x0a, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00,
                         0xa1, 0x61, 0x64, 0x62, 0x68, 0x69};
  EXPECT_EQ(Crc16Xmodem(pkt), 0xa5af);
}

TEST(Base64, RoundTripAndSpecVector) {
  const uint8_t body[] = {0x00, 0x10, 0x0a, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01,
                          0x00, 0xa1, 0x61, 0x64, 0x62, 0x68, 0x69, 0xa5, 0xaf};
  char text[64];
  auto n = Base64Encode(body, text);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string_view(text, *n), "ABAKAAAGAAABAKFhZGJoaaWv");
  uint8_t back[32];
  auto m = Base64Decode(std::string_view(text, *n), back);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(*m, sizeof(body));
  EXPECT_EQ(0, std::memcmp(back, body, sizeof(body)));
}

TEST(Base64, PaddingAndErrors) {
  uint8_t out[8];
  EXPECT_EQ(*Base64Decode("aGk=", out), 2u);
  EXPECT_EQ(*Base64Decode("aA==", out), 1u);
  EXPECT_FALSE(Base64Decode("aGk", out).ok());
  EXPECT_FALSE(Base64Decode("a=k=", out).ok());
  EXPECT_FALSE(Base64Decode("aGk=aGk=", out).ok());
  EXPECT_FALSE(Base64Decode("aG!=", out).ok());
  char small[3];
  EXPECT_FALSE(Base64Encode(AsBytes("hi"), small).ok());
}

}  // namespace
}  // namespace smpkit
