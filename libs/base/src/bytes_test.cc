#include "smpkit/base/bytes.h"

#include <gtest/gtest.h>

namespace smpkit {
namespace {

TEST(ByteReader, ReadsBigEndianAndStopsAtEnd) {
  const uint8_t data[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde};
  ByteReader r(data);
  EXPECT_EQ(*r.U16(), 0x1234);
  EXPECT_EQ(*r.U32(), 0x56789abcu);
  auto bad = r.U16();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kTruncated);
  EXPECT_EQ(r.remaining(), 1u);  // a failed read consumes nothing
  EXPECT_EQ(*r.U8(), 0xde);
}

TEST(ByteReader, ReadsLittleEndian) {
  const uint8_t data[] = {0x3d, 0xb8, 0xf3, 0x96, 0x00, 0x02};
  ByteReader r(data, Endian::kLittle);
  EXPECT_EQ(*r.U32(), 0x96f3b83du);
  EXPECT_EQ(*r.U16(), 0x0200);
}

TEST(ByteWriter, WritesAndRefusesOverflow) {
  uint8_t buf[5];
  ByteWriter w(buf);
  ASSERT_TRUE(w.U32(0x01020304).ok());
  EXPECT_FALSE(w.U16(7).ok());
  ASSERT_TRUE(w.U8(9).ok());
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[3], 4);
  EXPECT_EQ(buf[4], 9);
  EXPECT_EQ(w.size(), 5u);
}

}  // namespace
}  // namespace smpkit
