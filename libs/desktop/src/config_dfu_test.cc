#include "smpkit/desktop/config_dfu.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

namespace smpkit::desktop {
namespace {

TEST(ConfigDfu, Crc32MatchesZlib) {
  const std::string_view s = "123456789";
  const ConstByteSpan d(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  EXPECT_EQ(Crc32(d), 0xCBF43926u);  // the CRC-32 check value
  // zlib.crc32(b"123456789", 1), the host tool's seeding.
  EXPECT_EQ(Crc32(d, 1), 0xDC8F2D65u);  // python3: zlib.crc32(b"123456789", 1)
  EXPECT_EQ(Crc32(d.subspan(4), Crc32(d.first(4), 1)), Crc32(d, 1));  // incremental
}

TEST(ConfigDfu, ByteLayoutsAreLittleEndian) {
  std::array<uint8_t, 32> buf{};
  auto n = EncodeSync({SyncState::kStoring, 0x11223344, 0xAABBCCDD, 0x200, 512}, buf);
  ASSERT_TRUE(n.ok());
  const std::vector<uint8_t> sync(buf.begin(), buf.begin() + *n);
  EXPECT_EQ(sync, (std::vector<uint8_t>{2, 0x44, 0x33, 0x22, 0x11, 0xDD, 0xCC, 0xBB, 0xAA, 0x00,
                                        0x02, 0, 0, 0x00, 0x02}));
  n = EncodeFwInfo({1, 0x1234, 2, 3, 0x0405, 0x06070809}, buf);
  ASSERT_TRUE(n.ok());
  // 13 bytes: the field list of nrf-desktop.md §5.3 (its "(15 B)" does not add up).
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + *n),
            (std::vector<uint8_t>{1, 0x34, 0x12, 0, 0, 2, 3, 5, 4, 9, 8, 7, 6}));
  n = EncodeDevInfo(0x1915, 0x52DE, "keyboard", buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 12u);
  auto d = DecodeDevInfo(ConstByteSpan(buf.data(), *n));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->vid, 0x1915);
  EXPECT_EQ(d->pid, 0x52DE);
  EXPECT_EQ(d->generation, "keyboard");
  const std::vector<uint8_t> start = {0x10, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE, 0, 2, 0, 0};
  auto s = DecodeStart(start);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->length, 16u);
  EXPECT_EQ(s->crc, 0xDEADBEEFu);
  EXPECT_EQ(s->offset, 512u);
}

TEST(ConfigDfu, DecoderChecksOptionAndOperation) {
  const std::vector<uint8_t> start(12, 0);
  auto c = DecodeDfuCommand(OptionField(DfuOption::kStart), ConfigStatus::kSet, start);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(std::holds_alternative<StartCommand>(*c));
  auto f = DecodeDfuCommand(3, ConfigStatus::kFetch, {});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<FetchCommand>(*f).option, DfuOption::kSync);
  EXPECT_TRUE(
      std::holds_alternative<DescriptorFetch>(*DecodeDfuCommand(0, ConfigStatus::kFetch, {})));

  auto short_start = DecodeDfuCommand(1, ConfigStatus::kSet, ConstByteSpan(start).first(11));
  ASSERT_FALSE(short_start.ok());
  EXPECT_EQ(short_start.error().code(), Errc::kTruncated);
  EXPECT_EQ(DecodeDfuCommand(8, ConfigStatus::kFetch, {}).error().message(),
            "unknown dfu option field 8 (1..7)");
  EXPECT_EQ(DecodeDfuCommand(3, ConfigStatus::kSet, {}).error().message(),
            "dfu option sync is fetch-only");
  EXPECT_EQ(DecodeDfuCommand(2, ConfigStatus::kFetch, {}).error().message(),
            "dfu option data is set-only");
  EXPECT_EQ(DecodeDfuCommand(3, ConfigStatus::kSuccess, {}).error().code(), Errc::kInvalidArgument);
  const std::vector<uint8_t> junk = {1};
  EXPECT_EQ(DecodeDfuCommand(4, ConfigStatus::kFetch, junk).error().message(),
            "fetch of dfu option reboot carries 1 data bytes");
  EXPECT_EQ(DecodeSync(std::vector<uint8_t>(15, 9)).error().message(), "unknown dfu sync state 9");
}

}  // namespace
}  // namespace smpkit::desktop
