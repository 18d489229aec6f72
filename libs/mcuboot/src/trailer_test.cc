#include "smpkit/mcuboot/trailer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::mcuboot {
namespace {

using smpkit::testing::ReadVector;

// The sample slot of the spec (§9.2): S = 0x60000, W = 4, A = 8, N = 128, s = 3.
TEST(TrailerLayoutTest, MatchesSpecExample) {
  auto l = TrailerLayout::Compute(0x60000, 4, {});
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->status, 0x5F9D0u);
  EXPECT_EQ(l->swap_size, 0x5FFD0u);
  EXPECT_EQ(l->swap_info, 0x5FFD8u);
  EXPECT_EQ(l->copy_done, 0x5FFE0u);
  EXPECT_EQ(l->image_ok, 0x5FFE8u);
  EXPECT_EQ(l->magic_block, 0x5FFF0u);
  EXPECT_EQ(l->size(), 0x630u);
  EXPECT_EQ(l->status_count, 384u);
}

TEST(TrailerLayoutTest, OverwriteHasNoStatusTable) {
  auto l = TrailerLayout::Compute(0x60000, 4, {.status_per_sector = 0});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->start(), 0x5FFD8u);  // the image must end before swap_info (S - MA - 3A)
  EXPECT_EQ(l->status_count, 0u);
}

TEST(TrailerLayoutTest, RejectsBadParameters) {
  EXPECT_EQ(TrailerLayout::Compute(0x60000, 4, {.max_align = 12}).error().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(TrailerLayout::Compute(0x60000, 16, {.max_align = 8}).error().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(TrailerLayout::Compute(1024, 4, {}).error().code(), Errc::kInvalidArgument);
}

TEST(TrailerMagicTest, V1AndAlignmentEncoded) {
  uint8_t m[16];
  TrailerMagic(8, m);
  const std::vector<uint8_t> v1 = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                   0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
  EXPECT_EQ(std::vector<uint8_t>(m, m + 16), v1);
  TrailerMagic(32, m);
  const std::vector<uint8_t> v2 = {0x20, 0x00, 0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b,
                                   0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
  EXPECT_EQ(std::vector<uint8_t>(m, m + 16), v2);
}

struct SlotFixture {
  explicit SlotFixture(uint32_t slot_size = 0x60000)
      : flash({.size = slot_size, .page_size = 4096, .write_align = 4}),
        slot(*flash::Partition::Make(flash, 0, slot_size, 1)),
        layout(*TrailerLayout::For(slot, {})) {}
  void Load(const std::vector<uint8_t>& bytes) { ASSERT_TRUE(slot.Write(0, bytes).ok()); }
  flash::RamFlash flash;
  flash::Partition slot;
  TrailerLayout layout;
};

// imgtool --pad --confirm output (golden): magic GOOD, image_ok SET, the rest erased.
TEST(TrailerTest, ReadsImgtoolPaddedImages) {
  SlotFixture f;
  f.Load(ReadVector("mcuboot/signed-ecdsa-p256-pad-confirm.bin"));
  auto t = ReadTrailer(f.slot, f.layout);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->magic, MagicState::kGood);
  EXPECT_EQ(t->image_ok, FlagState::kSet);
  EXPECT_EQ(t->copy_done, FlagState::kUnset);
  EXPECT_EQ(t->swap_type, SwapType::kNone);
  EXPECT_EQ(t->swap_size, 0xFFFFFFFFu);

  SlotFixture g;
  g.Load(ReadVector("mcuboot/unsigned-pad-test.bin"));
  t = ReadTrailer(g.slot, g.layout);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->magic, MagicState::kGood);
  EXPECT_EQ(t->image_ok, FlagState::kUnset);
}

// Our magic and image_ok writes produce exactly imgtool's bytes.
TEST(TrailerTest, WritesAreByteCompatibleWithImgtool) {
  const auto golden = ReadVector("mcuboot/signed-ecdsa-p256-pad-confirm.bin");
  SlotFixture f;
  ASSERT_TRUE(WriteMagic(f.slot, f.layout).ok());
  ASSERT_TRUE(WriteImageOk(f.slot, f.layout).ok());
  std::vector<uint8_t> tail(0x630);
  ASSERT_TRUE(f.slot.Read(0x60000 - 0x630, tail).ok());
  EXPECT_EQ(tail, std::vector<uint8_t>(golden.end() - 0x630, golden.end()));
}

TEST(TrailerTest, FieldsRoundTripAndAreWriteOnce) {
  SlotFixture f(64 * 1024);
  ASSERT_TRUE(WriteSwapInfo(f.slot, f.layout, SwapType::kPerm, 1).ok());
  ASSERT_TRUE(WriteSwapSize(f.slot, f.layout, 0x1234).ok());
  ASSERT_TRUE(WriteCopyDone(f.slot, f.layout).ok());
  ASSERT_TRUE(WriteStatusRecord(f.slot, f.layout, 5, 2).ok());
  auto t = ReadTrailer(f.slot, f.layout);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->magic, MagicState::kUnset);
  EXPECT_EQ(t->swap_type, SwapType::kPerm);
  EXPECT_EQ(t->image_index, 1);
  EXPECT_EQ(t->swap_size, 0x1234u);
  EXPECT_EQ(t->copy_done, FlagState::kSet);
  EXPECT_EQ(*ReadStatusRecord(f.slot, f.layout, 5), 2);
  EXPECT_EQ(*ReadStatusRecord(f.slot, f.layout, 4), 0);
  EXPECT_FALSE(ReadStatusRecord(f.slot, f.layout, f.layout.status_count).ok());
  // swap_info byte: (index << 4) | type, in a W-sized block.
  std::vector<uint8_t> raw(4);
  ASSERT_TRUE(f.slot.Read(f.layout.swap_info, raw).ok());
  EXPECT_EQ(raw, (std::vector<uint8_t>{0x13, 0xFF, 0xFF, 0xFF}));
  // Changing a written flag is refused by the flash (NOR).
  EXPECT_EQ(WriteSwapInfo(f.slot, f.layout, SwapType::kRevert, 1).error().code(),
            Errc::kBadState);
  ASSERT_TRUE(EraseTrailer(f.slot, f.layout).ok());
  EXPECT_EQ(*ReadTrailer(f.slot, f.layout), TrailerState{});
}

TEST(TrailerTest, BadValuesDecodeAsBad) {
  SlotFixture f(64 * 1024);
  const std::vector<uint8_t> zeros(16, 0);
  ASSERT_TRUE(f.slot.Write(f.layout.magic_block, zeros).ok());
  ASSERT_TRUE(f.slot.Write(f.layout.image_ok, std::vector<uint8_t>(4, 0)).ok());
  ASSERT_TRUE(f.slot.Write(f.layout.swap_info, std::vector<uint8_t>{0x07, 0, 0, 0}).ok());
  auto t = ReadTrailer(f.slot, f.layout);
  EXPECT_EQ(t->magic, MagicState::kBad);
  EXPECT_EQ(t->image_ok, FlagState::kBad);
  EXPECT_EQ(t->swap_type, SwapType::kNone);  // type > 4 reads as NONE
}

// §11.2, first matching row wins.
TEST(SwapTypeTableTest, Rows) {
  using M = MagicState;
  using F = FlagState;
  auto T = [](M pm, M sm, F pok, F sok, F pcd, F scd = F::kUnset) {
    TrailerState p{.magic = pm, .image_ok = pok, .copy_done = pcd};
    TrailerState s{.magic = sm, .image_ok = sok, .copy_done = scd};
    return DecideSwapType(p, s);
  };
  EXPECT_EQ(T(M::kUnset, M::kUnset, F::kUnset, F::kUnset, F::kUnset), SwapType::kNone);
  EXPECT_EQ(T(M::kUnset, M::kGood, F::kUnset, F::kUnset, F::kUnset), SwapType::kTest);
  EXPECT_EQ(T(M::kBad, M::kGood, F::kSet, F::kUnset, F::kSet), SwapType::kTest);
  EXPECT_EQ(T(M::kGood, M::kGood, F::kUnset, F::kSet, F::kSet), SwapType::kPerm);
  EXPECT_EQ(T(M::kGood, M::kUnset, F::kUnset, F::kUnset, F::kSet), SwapType::kRevert);
  EXPECT_EQ(T(M::kGood, M::kBad, F::kUnset, F::kSet, F::kSet), SwapType::kRevert);
  EXPECT_EQ(T(M::kGood, M::kUnset, F::kSet, F::kUnset, F::kSet), SwapType::kNone);
  EXPECT_EQ(T(M::kGood, M::kUnset, F::kUnset, F::kUnset, F::kUnset), SwapType::kNone);
  // Secondary image_ok BAD matches neither TEST nor PERM.
  EXPECT_EQ(T(M::kUnset, M::kGood, F::kUnset, F::kBad, F::kUnset), SwapType::kNone);
  // Row I (revert marker).
  EXPECT_EQ(T(M::kUnset, M::kGood, F::kUnset, F::kUnset, F::kUnset, F::kSet),
            SwapType::kRevert);
}

}  // namespace
}  // namespace smpkit::mcuboot
