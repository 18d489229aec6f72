#include "smpkit/mcuboot/boot.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "smpkit/flash/file_flash.h"
#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/mcuboot/keys.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::mcuboot {
namespace {

using Bytes = std::vector<uint8_t>;

using smpkit::testing::ReadVector;
using smpkit::testing::ReadVectorText;
std::array<uint8_t, 32> Hex32(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

// Golden images: the SMP vector's primary (1.0.0, hash-only, 3552 bytes) and imgtool's
// hash-only sample (1.2.3+4, 2052 bytes).
const std::array<uint8_t, 32> kOldHash =
    Hex32("7156c6193dce58bfd666ea74b630853b6519eba985baacdb330bf6ab8c8d0096");
const std::array<uint8_t, 32> kNewHash =
    Hex32("9863d04619fbb2c886c21c8571e18c795c16e4d27e01ec421253218634456c5a");

Bytes OldImage() { return ReadVector("smp/primary-slot-1.0.0.bin"); }
Bytes NewImage() { return ReadVector("mcuboot/unsigned-hashonly.bin"); }

// Synthetic image of `body` bytes, optionally signed.
Bytes MakeImage(const char* version, size_t body, const PrivateKey* key = nullptr) {
  Bytes payload(body);
  for (size_t i = 0; i < body; ++i) payload[i] = static_cast<uint8_t>(i * 7 + body);
  CreateOptions o;
  o.header_size = 0x200;
  o.pad_header = true;
  o.align = 4;
  o.version = *ImageVersion::Parse(version);
  o.key = key;
  auto img = CreateImage(payload, o);
  EXPECT_TRUE(img.ok()) << img.error().message();
  return img.ok() ? *img : Bytes{};
}

// 1 KiB pages keep the sweeps fast; 16-page slots (trailer: 2 pages, one spare sector).
constexpr uint32_t kPage = 1024;
constexpr uint32_t kSlot = 16 * kPage;

struct Device {
  explicit Device(BootConfig cfg, uint32_t images = 1, const Bytes& snapshot = {})
      : config(std::move(cfg)), image_count(images),
        flash({.size = 2 * flash::kMaxImages * kSlot, .page_size = kPage, .write_align = 4}) {
    if (!snapshot.empty()) {
      EXPECT_TRUE(flash.Write(0, snapshot).ok());
    }
    layout = *flash::MakeLayout(flash, {.slot_size = kSlot, .images = images});
    Reset();
  }
  // A reset: the bootloader's RAM state is lost, flash stays.
  void Reset() {
    boot = std::make_unique<Bootloader>(std::span(layout.images.data(), image_count), config);
  }
  const flash::Partition& slot(uint8_t s, uint32_t image = 0) const {
    return s == 0 ? layout.images[image].primary : layout.images[image].secondary;
  }
  // Writes an image file at the start of a slot, padded with erased bytes to the write size.
  void Load(uint8_t s, Bytes img, uint32_t image = 0) {
    img.resize((img.size() + 3) / 4 * 4, 0xFF);
    ASSERT_TRUE(slot(s, image).Write(0, img).ok());
  }
  Bytes Snapshot() const { return {flash.contents().begin(), flash.contents().end()}; }
  std::optional<std::array<uint8_t, 32>> SlotHash(uint8_t s, uint32_t image = 0) {
    Bytes buf(kSlot);
    auto img = ReadSlotImage(slot(s, image), buf);
    if (!img.ok()) return std::nullopt;
    return img->hash;
  }

  BootConfig config;
  uint32_t image_count;
  flash::RamFlash flash;
  flash::Layout layout;
  std::unique_ptr<Bootloader> boot;
};

BootConfig SwapMove() { return BootConfig{}; }
BootConfig Overwrite() {
  BootConfig c;
  c.mode = BootMode::kOverwriteOnly;
  return c;
}

// ------------------------------------------------------------------------------------------
// Basic flows

TEST(BootTest, FactoryImageBootsWithoutSwap) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
  EXPECT_EQ(r->images[0].hash, kOldHash);
  EXPECT_EQ(r->images[0].version, (ImageVersion{1, 0, 0, 0}));
}

TEST(BootTest, EmptyDeviceIsANamedError) {
  Device d(SwapMove());
  auto r = d.boot->Boot();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
  EXPECT_NE(r.error().message().find("no bootable image"), std::string_view::npos);
}

TEST(BootTest, RequestsWriteTheSpecTrailers) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->Boot().ok());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  const auto& l = d.boot->trailer_layout();
  auto t = *ReadTrailer(d.slot(1), l);
  EXPECT_EQ(t.magic, MagicState::kGood);
  EXPECT_EQ(t.image_ok, FlagState::kUnset);
  EXPECT_EQ(t.swap_type, SwapType::kTest);
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kTest);
  // A second request is a no-op (magic already GOOD).
  ASSERT_TRUE(d.boot->RequestUpgrade(0, true).ok());
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kTest);
  // Confirming a primary without a trailer writes nothing.
  const uint64_t before = d.flash.mutation_count();
  ASSERT_TRUE(d.boot->ConfirmRunning().ok());
  EXPECT_EQ(d.flash.mutation_count(), before);
}

TEST(BootTest, TestUpgradeRevertsWhenNotConfirmed) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].swap, SwapType::kTest);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  EXPECT_EQ(d.SlotHash(1), kOldHash);
  // §11.3: after a TEST swap the primary is GOOD/unset/SET/0x02, the secondary has no trailer.
  const auto& l = d.boot->trailer_layout();
  auto pt = *ReadTrailer(d.slot(0), l);
  EXPECT_EQ(pt.magic, MagicState::kGood);
  EXPECT_EQ(pt.image_ok, FlagState::kUnset);
  EXPECT_EQ(pt.copy_done, FlagState::kSet);
  EXPECT_EQ(pt.swap_type, SwapType::kTest);
  EXPECT_EQ(ReadTrailer(d.slot(1), l)->magic, MagicState::kUnset);
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kRevert);

  d.Reset();
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kRevert);
  EXPECT_EQ(r->images[0].hash, kOldHash);
  EXPECT_EQ(d.SlotHash(1), kNewHash);
  pt = *ReadTrailer(d.slot(0), l);
  EXPECT_EQ(pt.image_ok, FlagState::kSet);
  EXPECT_EQ(pt.copy_done, FlagState::kSet);
  EXPECT_EQ(pt.swap_type, SwapType::kRevert);
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
  d.Reset();
  r = d.boot->Boot();
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
  EXPECT_EQ(r->images[0].hash, kOldHash);
}

TEST(BootTest, ConfirmedTestImageStays) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  ASSERT_TRUE(d.boot->Boot().ok());
  ASSERT_TRUE(d.boot->ConfirmRunning().ok());
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
  d.Reset();
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
  EXPECT_EQ(r->images[0].hash, kNewHash);
}

TEST(BootTest, PermanentUpgrade) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, true).ok());
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kPerm);
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kPerm);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  auto pt = *ReadTrailer(d.slot(0), d.boot->trailer_layout());
  EXPECT_EQ(pt.image_ok, FlagState::kSet);
  EXPECT_EQ(pt.copy_done, FlagState::kSet);
  EXPECT_EQ(pt.swap_type, SwapType::kPerm);
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
}

// A padded image uploaded as-is (imgtool --pad = test request) is picked up.
TEST(BootTest, ImgtoolPadIsATestRequest) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(WriteMagic(d.slot(1), d.boot->trailer_layout()).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kTest);
}

TEST(BootTest, SwapCostsVirtualTime) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  d.flash.set_timing(flash::Timing::Nrf52());
  d.flash.ResetElapsed();
  d.flash.ResetStats();
  ASSERT_TRUE(d.boot->Boot().ok());
  // 4 sectors: 4 moves + 8 swap copies, plus 4 trailer page erases.
  EXPECT_EQ(d.flash.stats().page_erases, 16u);
  EXPECT_GE(d.flash.elapsed(), std::chrono::microseconds(16 * 87500));
}

TEST(BootTest, OverwriteOnlyUpgrade) {
  Device d(Overwrite());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].swap, SwapType::kTest);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  EXPECT_FALSE(d.SlotHash(1).has_value());  // header erased
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
  // No revert in overwrite mode, confirmed or not.
  d.Reset();
  r = d.boot->Boot();
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
  EXPECT_EQ(r->images[0].hash, kNewHash);
}

TEST(BootTest, TwoImagesUpgradeInOneBoot) {
  Device d(SwapMove(), 2);
  d.Load(0, OldImage(), 0);
  d.Load(1, NewImage(), 0);
  d.Load(0, NewImage(), 1);
  d.Load(1, OldImage(), 1);
  ASSERT_TRUE(d.boot->RequestUpgrade(0, true).ok());
  ASSERT_TRUE(d.boot->RequestUpgrade(1, false).ok());
  EXPECT_EQ(ReadTrailer(d.slot(1, 1), d.boot->trailer_layout(1))->image_index, 1);
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->image_count, 2u);
  EXPECT_EQ(r->images[0].swap, SwapType::kPerm);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  EXPECT_EQ(r->images[1].swap, SwapType::kTest);
  EXPECT_EQ(r->images[1].hash, kOldHash);
  EXPECT_EQ(ReadTrailer(d.slot(0, 1), d.boot->trailer_layout(1))->image_index, 1);
}

TEST(BootTest, BadSetupIsReported) {
  flash::RamFlash f({.size = 8 * kPage, .page_size = kPage, .write_align = 4});
  flash::SlotPair pair{*flash::Partition::Make(f, 0, 2 * kPage),
                       *flash::Partition::Make(f, 2 * kPage, 2 * kPage)};
  Bootloader b(std::span(&pair, 1), SwapMove());  // too small for the trailer + spare sector
  EXPECT_EQ(b.Boot().error().code(), Errc::kBadState);
  flash::SlotPair uneven{*flash::Partition::Make(f, 0, 2 * kPage),
                         *flash::Partition::Make(f, 2 * kPage, 4 * kPage)};
  Bootloader c(std::span(&uneven, 1), SwapMove());
  EXPECT_EQ(c.Boot().error().code(), Errc::kBadState);
}

// ------------------------------------------------------------------------------------------
// Rejected images: the old image keeps running, the secondary is erased, the error is named.

struct RejectCase {
  const char* name;
  Bytes primary;
  Bytes secondary;
  ImageFault fault;
  bool keys = false;
  bool downgrade_prevention = false;
};

class RejectTest : public ::testing::TestWithParam<int> {};

std::vector<RejectCase> RejectCases() {
  std::vector<RejectCase> cases;
  Bytes bad_magic = NewImage();
  bad_magic[0] ^= 0x01;
  cases.push_back({"bad magic", OldImage(), bad_magic, ImageFault::kNoImage});
  Bytes truncated = NewImage();
  truncated.resize(1500);
  cases.push_back({"truncated", OldImage(), truncated, ImageFault::kTruncated});
  Bytes bad_hash = NewImage();
  bad_hash[0x200 + 10] ^= 0x40;
  cases.push_back({"bad hash", OldImage(), bad_hash, ImageFault::kBadHash});
  cases.push_back({"too large", OldImage(), MakeImage("2.0.0", 13500), ImageFault::kTooLarge});
  Bytes huge_header = NewImage();
  StoreLe32(&huge_header[12], 0x00100000);  // img_size far beyond the slot
  cases.push_back({"size beyond slot", OldImage(), huge_header, ImageFault::kTooLarge});
  cases.push_back({"downgrade", NewImage(), OldImage(), ImageFault::kDowngrade, false, true});
  Bytes bad_sig = ReadVector("mcuboot/signed-ecdsa-p256.bin");
  bad_sig.back() ^= 0x01;
  cases.push_back({"bad signature", ReadVector("mcuboot/signed-ecdsa-p256.bin"), bad_sig,
                   ImageFault::kBadSignature, true});
  cases.push_back({"wrong key", ReadVector("mcuboot/signed-ecdsa-p256.bin"),
                   ReadVector("mcuboot/signed-ed25519.bin"), ImageFault::kUnknownKey, true});
  cases.push_back({"unsigned", ReadVector("mcuboot/signed-ecdsa-p256.bin"), NewImage(),
                   ImageFault::kUnsigned, true});
  return cases;
}

TEST_P(RejectTest, OldImageKeepsRunning) {
  const RejectCase c = RejectCases()[GetParam()];
  SCOPED_TRACE(c.name);
  BootConfig cfg;
  cfg.downgrade_prevention = c.downgrade_prevention;
  if (c.keys) cfg.keys.push_back(*PublicKey::FromPem(ReadVectorText("mcuboot/ecdsa-p256.pub.pem")));
  Device d(cfg);
  d.Load(0, c.primary);
  d.Load(1, c.secondary);
  const auto primary_hash = d.SlotHash(0);
  ASSERT_TRUE(primary_hash.has_value());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& rep = r->images[0];
  EXPECT_EQ(rep.swap, SwapType::kNone);
  EXPECT_EQ(rep.rejected, c.fault) << ImageFaultName(rep.rejected) << ": "
                                   << rep.rejection.message();
  EXPECT_EQ(rep.rejected_slot, 1);
  EXPECT_FALSE(rep.rejection.message().empty());
  EXPECT_EQ(rep.hash, *primary_hash);
  EXPECT_TRUE(*d.slot(1).IsErased(0, kSlot));
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
  d.Reset();
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].rejected, ImageFault::kNone);
  EXPECT_EQ(r->images[0].hash, *primary_hash);
}

INSTANTIATE_TEST_SUITE_P(Faults, RejectTest, ::testing::Range(0, 9));

TEST(BootTest, DowngradeAllowedWhenNotPrevented) {
  Device d(SwapMove());
  d.Load(0, NewImage());
  d.Load(1, OldImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kTest);
  EXPECT_EQ(r->images[0].hash, kOldHash);
}

TEST(BootTest, SignedUpgradeWithConfiguredKey) {
  auto key = PrivateKey::FromPem(ReadVectorText("mcuboot/ecdsa-p256.pem"));
  ASSERT_TRUE(key.ok());
  BootConfig cfg;
  cfg.keys.push_back(*PublicKey::FromPem(ReadVectorText("mcuboot/ed25519.pub.pem")));
  cfg.keys.push_back(*key->Public());
  cfg.downgrade_prevention = true;
  Device d(cfg);
  d.Load(0, ReadVector("mcuboot/signed-ed25519.bin"));
  d.Load(1, MakeImage("2.0.0", 5000, &*key));
  ASSERT_TRUE(d.boot->RequestUpgrade(0, true).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].swap, SwapType::kPerm);
  EXPECT_EQ(r->images[0].version, (ImageVersion{2, 0, 0, 0}));
}

TEST(BootTest, InvalidPrimaryIsNotBooted) {
  BootConfig cfg;
  cfg.keys.push_back(*PublicKey::FromPem(ReadVectorText("mcuboot/ecdsa-p256.pub.pem")));
  Device d(cfg);
  d.Load(0, NewImage());  // unsigned
  auto r = d.boot->Boot();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
}

// A reset right after the primary trailer was initialised, and then the secondary turns out
// invalid: nothing was moved yet, so the old image keeps running and no swap is resumed.
TEST(BootTest, InitialisedSwapWithInvalidSecondaryIsDropped) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  Bytes bad = NewImage();
  bad[0x300] ^= 0x01;
  d.Load(1, bad);
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  const auto& l = d.boot->trailer_layout();
  ASSERT_TRUE(WriteSwapInfo(d.slot(0), l, SwapType::kTest, 0).ok());
  ASSERT_TRUE(WriteSwapSize(d.slot(0), l, 4 * kPage).ok());
  ASSERT_TRUE(WriteMagic(d.slot(0), l).ok());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].rejected, ImageFault::kBadHash);
  EXPECT_EQ(r->images[0].hash, kOldHash);
  d.Reset();
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->images[0].resumed);
  EXPECT_EQ(r->images[0].hash, kOldHash);
}

TEST(BootTest, RevertWithMissingOldImageKeepsRunningImage) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());
  ASSERT_TRUE(d.boot->Boot().ok());
  ASSERT_TRUE(d.slot(1).EraseAll().ok());  // the old image is gone
  d.Reset();
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
  EXPECT_EQ(r->images[0].rejected, ImageFault::kNoImage);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
}

// ------------------------------------------------------------------------------------------
// Power-cut sweeps

struct Expect {
  std::array<uint8_t, 32> running;
  SwapType pending;
  std::optional<std::array<uint8_t, 32>> secondary;
  // Overwrite-only: a cut while the secondary is being cleaned up may leave the (already
  // copied) image readable there, with no request attached.
  bool secondary_may_remain = false;
};

// Cuts the power at every mutating flash operation of the boot that starts from `snapshot`,
// then boots again (with further cuts every `recut` operations if non-zero) until a boot
// completes. Every completed boot must run one of `valid`; the end state must be `want`.
void Sweep(const BootConfig& cfg, const Bytes& snapshot, const Expect& want,
           std::initializer_list<std::array<uint8_t, 32>> valid, uint64_t recut = 0) {
  Device ref(cfg, 1, snapshot);
  const uint64_t m0 = ref.flash.mutation_count();
  auto r = ref.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  const uint64_t total = ref.flash.mutation_count() - m0;
  ASSERT_GT(total, 10u);
  ASSERT_EQ(r->images[0].hash, want.running);
  for (uint64_t cut = 0; cut < total; ++cut) {
    SCOPED_TRACE("cut at mutation " + std::to_string(cut) + " of " + std::to_string(total));
    Device d(cfg, 1, snapshot);
    d.flash.CutPowerAtMutation(cut);
    auto first = d.boot->Boot();
    ASSERT_FALSE(first.ok());
    ASSERT_FALSE(d.flash.powered());
    Result<BootReport> rep = first;
    int boots = 0;
    while (!rep.ok()) {
      ASSERT_LT(++boots, 200) << rep.error().message();
      ASSERT_EQ(rep.error().code(), Errc::kIo) << rep.error().message();
      d.flash.PowerOn();
      if (recut != 0) d.flash.CutPowerAtMutation(recut);
      d.Reset();
      rep = d.boot->Boot();
    }
    d.flash.ClearFaults();
    const auto running = rep->images[0].hash;
    bool ok = false;
    for (const auto& v : valid) ok = ok || v == running;
    ASSERT_TRUE(ok) << "booted an unexpected image";
    ASSERT_EQ(running, want.running);
    ASSERT_EQ(*d.boot->PendingSwapType(), want.pending);
    if (!(want.secondary_may_remain && d.SlotHash(1) == running)) {
      ASSERT_EQ(d.SlotHash(1), want.secondary);
    }
    ASSERT_EQ(rep->images[0].rejected, ImageFault::kNone) << rep->images[0].rejection.message();
  }
}

Bytes Requested(const BootConfig& cfg, const Bytes& old_img, const Bytes& new_img,
                bool permanent) {
  Device d(cfg);
  d.Load(0, old_img);
  d.Load(1, new_img);
  EXPECT_TRUE(d.boot->Boot().ok());
  EXPECT_TRUE(d.boot->RequestUpgrade(0, permanent).ok());
  return d.Snapshot();
}

TEST(PowerCutTest, TestSwapThenRevert) {
  const Bytes start = Requested(SwapMove(), OldImage(), NewImage(), false);
  Sweep(SwapMove(), start, {kNewHash, SwapType::kRevert, kOldHash}, {kOldHash, kNewHash});
  // The state after the test boot, then the revert boot is swept too.
  Device d(SwapMove(), 1, start);
  ASSERT_TRUE(d.boot->Boot().ok());
  Sweep(SwapMove(), d.Snapshot(), {kOldHash, SwapType::kNone, kNewHash}, {kOldHash, kNewHash});
}

TEST(PowerCutTest, PermanentSwap) {
  const Bytes start = Requested(SwapMove(), OldImage(), NewImage(), true);
  Sweep(SwapMove(), start, {kNewHash, SwapType::kNone, kOldHash}, {kOldHash, kNewHash});
}

TEST(PowerCutTest, LargerSignedImages) {
  auto key = PrivateKey::FromPem(ReadVectorText("mcuboot/ed25519.pem"));
  ASSERT_TRUE(key.ok());
  BootConfig cfg;
  cfg.keys.push_back(*key->Public());
  const Bytes a = MakeImage("1.0.0", 9000, &*key);
  const Bytes b = MakeImage("1.1.0", 12000, &*key);
  Device probe(cfg);
  probe.Load(0, a);
  probe.Load(1, b);
  const auto ha = *probe.SlotHash(0), hb = *probe.SlotHash(1);
  const Bytes start = Requested(cfg, a, b, false);
  Sweep(cfg, start, {hb, SwapType::kRevert, ha}, {ha, hb});
}

TEST(PowerCutTest, RepeatedCutsStillComplete) {
  const Bytes start = Requested(SwapMove(), OldImage(), NewImage(), false);
  for (uint64_t recut : {9u, 13u, 31u}) {
    SCOPED_TRACE("recut every " + std::to_string(recut));
    Sweep(SwapMove(), start, {kNewHash, SwapType::kRevert, kOldHash}, {kOldHash, kNewHash},
          recut);
  }
}

TEST(PowerCutTest, OverwriteOnly) {
  const Bytes start = Requested(Overwrite(), OldImage(), NewImage(), false);
  Sweep(Overwrite(), start, {kNewHash, SwapType::kNone, std::nullopt, true},
        {kOldHash, kNewHash});
}

// Torn erases (interrupted by a cut) must be survived as well as torn writes.
TEST(PowerCutTest, CutAfterErasedPages) {
  const Bytes start = Requested(SwapMove(), OldImage(), NewImage(), true);
  for (uint64_t pages = 0; pages < 16; ++pages) {
    SCOPED_TRACE("cut after " + std::to_string(pages) + " erased pages");
    Device d(SwapMove(), 1, start);
    d.flash.CutPowerAfterPagesErased(pages);
    ASSERT_FALSE(d.boot->Boot().ok());
    d.flash.PowerOn();
    d.Reset();
    auto r = d.boot->Boot();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->images[0].hash, kNewHash);
    EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
    EXPECT_EQ(d.SlotHash(1), kOldHash);
  }
}

// The swap survives a process killed (-9) in the middle of it: the flash file holds the
// state of the completed operations and the next process finishes the swap.
TEST(PowerCutTest, FileFlashSurvivesKillDuringSwap) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("smpkit-boot-kill-" + std::to_string(getpid()) + ".bin");
  std::filesystem::remove(path);
  const flash::Geometry geo{.size = 2 * kSlot, .page_size = kPage, .write_align = 4};
  auto open_device = [&](auto&& body) {
    auto f = flash::FileFlash::Open(path.string(), geo, {.sync = false});
    ASSERT_TRUE(f.ok()) << f.error().message();
    auto layout = flash::MakeLayout(**f, {.slot_size = kSlot});
    ASSERT_TRUE(layout.ok());
    Bootloader boot(std::span(layout->images.data(), 1), SwapMove());
    body(**f, *layout, boot);
  };
  open_device([](flash::Flash&, flash::Layout& l, Bootloader& boot) {
    Bytes a = OldImage(), b = NewImage();
    b.resize((b.size() + 3) / 4 * 4, 0xFF);
    ASSERT_TRUE(l.images[0].primary.Write(0, a).ok());
    ASSERT_TRUE(l.images[0].secondary.Write(0, b).ok());
    ASSERT_TRUE(boot.RequestUpgrade(0, false).ok());
  });
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto f = flash::FileFlash::Open(path.string(), geo, {.sync = false});
    if (!f.ok()) _exit(2);
    auto layout = flash::MakeLayout(**f, {.slot_size = kSlot});
    Bootloader boot(std::span(layout->images.data(), 1), SwapMove());
    // Die (SIGKILL) right after the 40th flash mutation of the swap.
    (*f)->CutPowerAtMutation(40);
    (void)boot.Boot();
    kill(getpid(), SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  open_device([](flash::Flash&, flash::Layout& l, Bootloader& boot) {
    auto pt = ReadTrailer(l.images[0].primary, boot.trailer_layout());
    ASSERT_TRUE(pt.ok());
    EXPECT_EQ(pt->magic, MagicState::kGood);  // the swap had started...
    EXPECT_EQ(pt->copy_done, FlagState::kUnset);  // ...and not finished
    auto r = boot.Boot();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r->images[0].resumed);
    EXPECT_EQ(r->images[0].hash, kNewHash);
  });
  std::filesystem::remove(path);
}

// ------------------------------------------------------------------------------------------
// SMP image state (§15)

ImageSlotState Row(const ImageStateList& l, uint8_t slot) {
  for (const auto& s : l.view()) {
    if (s.slot == slot) return s;
  }
  ADD_FAILURE() << "no slot " << int{slot};
  return {};
}

TEST(ImageStateTest, FlagsFollowTheSwapType) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->Boot().ok());
  auto st = *d.boot->ReadImageState();
  ASSERT_EQ(st.count, 2u);
  auto s0 = Row(st, 0), s1 = Row(st, 1);
  EXPECT_EQ(s0.hash, kOldHash);
  EXPECT_EQ(s0.version, (ImageVersion{1, 0, 0, 0}));
  EXPECT_TRUE(s0.active && s0.confirmed && s0.bootable);
  EXPECT_FALSE(s0.pending || s0.permanent);
  EXPECT_FALSE(s1.active || s1.confirmed || s1.pending || s1.permanent);
  EXPECT_EQ(s1.version, (ImageVersion{1, 2, 3, 4}));

  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());  // TEST
  st = *d.boot->ReadImageState();
  EXPECT_TRUE(Row(st, 1).pending);
  EXPECT_FALSE(Row(st, 1).permanent);
  EXPECT_TRUE(Row(st, 0).confirmed);

  ASSERT_TRUE(d.boot->Boot().ok());  // REVERT pending now
  st = *d.boot->ReadImageState();
  EXPECT_EQ(Row(st, 0).hash, kNewHash);
  EXPECT_TRUE(Row(st, 0).active);
  EXPECT_FALSE(Row(st, 0).confirmed);
  EXPECT_TRUE(Row(st, 1).confirmed);
  EXPECT_FALSE(Row(st, 1).pending);
}

TEST(ImageStateTest, PermanentIsReported) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->Boot().ok());
  ASSERT_TRUE(d.boot->WriteImageState(ConstByteSpan(kNewHash), true).ok());
  auto st = *d.boot->ReadImageState();
  EXPECT_TRUE(Row(st, 1).pending && Row(st, 1).permanent);
  // Confirming the same slot again is a no-op; testing it or the active one is refused.
  EXPECT_TRUE(d.boot->WriteImageState(ConstByteSpan(kNewHash), true).ok());
  EXPECT_EQ(d.boot->WriteImageState(ConstByteSpan(kNewHash), false).error().code(),
            Errc::kBusy);
  EXPECT_EQ(d.boot->WriteImageState(std::nullopt, true).error().code(), Errc::kBusy);
}

TEST(ImageStateTest, WriteRules) {
  Device d(SwapMove());
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->Boot().ok());
  EXPECT_EQ(d.boot->WriteImageState(std::nullopt, false).error().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(d.boot->WriteImageState(ConstByteSpan(kOldHash), false).error().code(),
            Errc::kAccessDenied);
  const std::array<uint8_t, 32> unknown{};
  EXPECT_EQ(d.boot->WriteImageState(ConstByteSpan(unknown), false).error().code(),
            Errc::kNotFound);
  // Confirm with nothing pending: success, no flash write.
  uint64_t before = d.flash.mutation_count();
  ASSERT_TRUE(d.boot->WriteImageState(std::nullopt, true).ok());
  EXPECT_EQ(d.flash.mutation_count(), before);
  EXPECT_FALSE(*d.boot->SlotInUse(0, 1));
  EXPECT_TRUE(*d.boot->SlotInUse(0, 0));

  ASSERT_TRUE(d.boot->WriteImageState(ConstByteSpan(kNewHash), false).ok());  // test
  EXPECT_TRUE(d.boot->WriteImageState(ConstByteSpan(kNewHash), false).ok());   // no-op
  EXPECT_EQ(d.boot->WriteImageState(ConstByteSpan(kNewHash), true).error().code(), Errc::kBusy);
  EXPECT_TRUE(*d.boot->SlotInUse(0, 1));

  d.Reset();
  ASSERT_TRUE(d.boot->Boot().ok());  // runs the test image; REVERT pending
  EXPECT_TRUE(*d.boot->SlotInUse(0, 1));
  EXPECT_EQ(d.boot->WriteImageState(ConstByteSpan(kOldHash), false).error().code(),
            Errc::kBusy);
  EXPECT_TRUE(d.boot->WriteImageState(ConstByteSpan(kOldHash), true).ok());  // no-op
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kRevert);
  ASSERT_TRUE(d.boot->WriteImageState(std::nullopt, true).ok());  // confirm running
  EXPECT_EQ(*d.boot->PendingSwapType(), SwapType::kNone);
  auto st = *d.boot->ReadImageState();
  EXPECT_TRUE(Row(st, 0).confirmed);
}

// ------------------------------------------------------------------------------------------
// Direct-XIP (§12)

BootConfig Xip(bool revert) {
  BootConfig c;
  c.mode = BootMode::kDirectXip;
  c.direct_xip_revert = revert;
  return c;
}

TEST(DirectXipTest, HighestVersionWinsWithoutRevert) {
  Device d(Xip(false));
  d.Load(0, OldImage());
  d.Load(1, NewImage());
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].active_slot, 1);
  EXPECT_EQ(r->images[0].hash, kNewHash);
  auto st = *d.boot->ReadImageState();
  EXPECT_TRUE(Row(st, 1).active && Row(st, 1).confirmed);
  EXPECT_FALSE(Row(st, 0).pending);
  // A bad newer image is erased and the older one boots.
  d.Reset();
  ASSERT_TRUE(d.slot(1).EraseAll().ok());
  Bytes bad = MakeImage("3.0.0", 3000);
  bad[0x300] ^= 1;
  d.Load(1, bad);
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].active_slot, 0);
  EXPECT_EQ(r->images[0].rejected, ImageFault::kBadHash);
}

TEST(DirectXipTest, TrialThenRevertOrConfirm) {
  Device d(Xip(true));
  d.Load(0, OldImage());
  ASSERT_TRUE(d.boot->SetNext(0, 0, true, true).ok());  // factory image pre-confirmed
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->images[0].active_slot, 0);
  d.Load(1, NewImage());
  ASSERT_TRUE(d.boot->RequestUpgrade(0, false).ok());  // magic only: try once
  auto st = *d.boot->ReadImageState();
  EXPECT_TRUE(Row(st, 1).pending);
  EXPECT_FALSE(Row(st, 1).permanent);

  const Bytes before_trial = d.Snapshot();
  d.Reset();
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].active_slot, 1);
  EXPECT_EQ(r->images[0].swap, SwapType::kTest);
  // Not confirmed: the next boot erases it and runs slot 0 again.
  d.Reset();
  r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].active_slot, 0);
  EXPECT_EQ(r->images[0].swap, SwapType::kRevert);
  EXPECT_FALSE(d.SlotHash(1).has_value());

  Device e(Xip(true), 1, before_trial);
  ASSERT_TRUE(e.boot->Boot().ok());
  ASSERT_TRUE(e.boot->ConfirmRunning().ok());
  e.Reset();
  r = e.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].active_slot, 1);
  EXPECT_EQ(r->images[0].swap, SwapType::kNone);
}

TEST(DirectXipTest, UnpaddedImageIsErasedWithRevert) {
  Device d(Xip(true));
  d.Load(0, OldImage());
  auto r = d.boot->Boot();
  ASSERT_FALSE(r.ok());  // not pre-confirmed: erased, nothing left
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
}

TEST(DirectXipTest, RomFixedImageInTheWrongSlotIsSkipped) {
  Device d(Xip(false));
  d.Load(0, OldImage());

  Bytes payload(2000, 0x5A);
  CreateOptions o;
  o.header_size = 0x200;
  o.pad_header = true;
  o.version = {2, 0, 0, 0};
  o.rom_fixed = 0x12340000;
  d.Load(1, *CreateImage(payload, o));
  auto r = d.boot->Boot();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images[0].active_slot, 0);
  EXPECT_EQ(r->images[0].rejected, ImageFault::kWrongSlot);
  EXPECT_TRUE(d.SlotHash(1).has_value());  // skipped, not erased
}

}  // namespace
}  // namespace smpkit::mcuboot
