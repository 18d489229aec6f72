// Intel HEX reading and writing as Python's intelhex 2.3.0 does it (what imgtool uses). The
// expected texts below were written by intelhex itself (IntelHex.write_hex_file); the
// byte-for-byte comparison with imgtool's files is apps/smpkit/tests/hex_getpub_test.py.
#include "smpkit/mcuboot/intel_hex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

namespace smpkit::mcuboot {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Iota(size_t n, uint8_t first = 0) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::string Write(std::vector<HexChunk> chunks) {
  auto r = WriteIntelHex(chunks);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : "";
}

TEST(IntelHexWrite, SixteenBytesPerRecordNoOffsetRecordBelow64K) {
  auto data = Iota(20);
  EXPECT_EQ(Write({{0x1000, data}}),
            ":10100000000102030405060708090A0B0C0D0E0F68\n:041010001011121396\n:00000001FF\n");
}

TEST(IntelHexWrite, OffsetRecordsAtEverySegmentAndRecordsSplitAtTheBoundary) {
  auto data = Iota(40);
  std::vector<uint8_t> tail(3, 0x77);
  EXPECT_EQ(Write({{0x2FFF0, tail}, {0xFFF0, data}}),
            ":020000040000FA\n:10FFF000000102030405060708090A0B0C0D0E0F89\n:020000040001F9\n"
            ":10000000101112131415161718191A1B1C1D1E1F78\n:080010002021222324252627CC\n"
            ":020000040002F8\n:03FFF000777777A9\n:00000001FF\n");
}

TEST(IntelHexWrite, GapsEndRecordsAdjacentChunksJoin) {
  std::vector<uint8_t> a = {1, 2}, b = {3}, c = {4};
  EXPECT_EQ(Write({{0x10, a}, {0x12, b}, {0x14, c}}),
            ":03001000010203E7\n:0100140004E7\n:00000001FF\n");
}

TEST(IntelHexWrite, RefusesOverlapAndAddressesAbove4G) {
  std::vector<uint8_t> a(4, 0);
  std::vector<HexChunk> overlap = {{0x10, a}, {0x12, a}};
  EXPECT_FALSE(WriteIntelHex(overlap).ok());
  std::vector<HexChunk> high = {{0xFFFFFFFEull, a}};
  EXPECT_FALSE(WriteIntelHex(high).ok());
  EXPECT_EQ(Write({}), ":00000001FF\n");
}

TEST(IntelHexRead, OffsetsGapsAndLineEnds) {
  // 04 (upper 0x0001), data at 0x1FFF8 and, after a gap, at 0x20010; CR LF line ends.
  auto r = ParseIntelHex(
      ":020000040001F9\r\n:08FFF8000001020304050607E5\r\n:020000040002F8\r\n"
      ":020010000A0BD9\r\n:00000001FF\r\n",
      1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(r->has_data);
  EXPECT_EQ(r->base, 0x1FFF8u);
  ASSERT_EQ(r->data.size(), 0x20012u - 0x1FFF8u);
  EXPECT_EQ(r->data[0], 0);
  EXPECT_EQ(r->data[7], 7);
  EXPECT_EQ(r->data[8], 0xff);  // the gap
  EXPECT_EQ(r->data[0x18], 0x0A);
  EXPECT_EQ(r->data[0x19], 0x0B);
}

TEST(IntelHexRead, SegmentRecordsCrAloneEmptyLinesAndEndOfFile) {
  // 02 segment 0x1000 -> offset 0x10000; bare CR line ends; an empty line; the EOF record
  // ends reading (the garbage after it is never read); a start address is accepted.
  auto r = ParseIntelHex(
      ":020000021000EC\r\r:0300300002337A1E\r:04000005000000CD2A\r:00000001FF\rgarbage", 64);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->base, 0x10030u);
  EXPECT_EQ(r->data, (std::vector<uint8_t>{0x02, 0x33, 0x7A}));
}

TEST(IntelHexRead, NoEndOfFileRecordAndNoData) {
  auto r = ParseIntelHex(":0100000042BD", 64);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->data, std::vector<uint8_t>{0x42});
  r = ParseIntelHex(":00000001FF\n", 64);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_data);
  r = ParseIntelHex("", 64);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_data);
}

TEST(IntelHexRead, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* what;
  };
  for (const Case& c : {
           Case{"\n0100000042BD\n", "line 2: a record must start with ':'"},
           Case{":0100000042B\n", "odd number of hex digits"},
           Case{":01000000G2BD\n", "not a hex digit"},
           Case{":01000000\n", "shorter than 5 bytes"},
           Case{":0200000042BD\n", "length byte does not match"},
           Case{":0100000642B7\n", "unknown record type"},
           Case{":0100000042BE\n", "checksum mismatch"},
           Case{":01000001FFFF\n", "end-of-file record with data"},
           Case{":0200000400FFFB\n:020000040001\n", "line 2"},
           Case{":020001040001F8\n", "bad extended linear address record"},
           Case{":03000002000001FA\n", "bad extended segment address record"},
           Case{":04000005000000CD2A\n:04000003000000FDFC\n", "second start address record"},
           Case{":0100000042BD\n:0100000042BD\n", "overlap at address 0x0"},
           Case{":02000004FFFFFC\n:02FFFF000102FD\n", "beyond address 0xffffffff"},
       }) {
    auto r = ParseIntelHex(c.text, 1 << 20);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(std::string(r.error().message()), HasSubstr(c.what)) << c.text;
  }
}

TEST(IntelHexRead, SizeBoundHoldsForSpanAndData) {
  // Two bytes 64 KiB apart span 65537 bytes.
  auto r = ParseIntelHex(":0100000042BD\n:020000040001F9\n:0100000042BD\n", 0x10000);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("more than 65536 bytes"));
  r = ParseIntelHex(":0400000001020304F2\n", 3);
  ASSERT_FALSE(r.ok());
}

TEST(IntelHex, WhatIsWrittenReadsBack) {
  auto data = Iota(1000, 7);
  std::string text = Write({{0x0800FF00, data}});
  auto r = ParseIntelHex(text, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->base, 0x0800FF00u);
  EXPECT_EQ(r->data, data);
}

}  // namespace
}  // namespace smpkit::mcuboot
