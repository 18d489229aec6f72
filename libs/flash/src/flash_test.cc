#include "smpkit/flash/flash.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "smpkit/flash/file_flash.h"
#include "smpkit/flash/partition.h"

namespace smpkit::flash {
namespace {

using std::chrono::microseconds;

constexpr Geometry kSmall{.size = 4 * 1024, .page_size = 1024, .write_align = 4};

std::vector<uint8_t> ReadAll(Flash& f, uint32_t off, uint32_t n) {
  std::vector<uint8_t> out(n);
  EXPECT_TRUE(f.Read(off, out).ok());
  return out;
}

TEST(GeometryTest, RejectsBadShapes) {
  EXPECT_TRUE(ValidateGeometry(kSmall).ok());
  EXPECT_EQ(ValidateGeometry({.size = 4096, .page_size = 1000, .write_align = 8}).error().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(ValidateGeometry({.size = 4096, .page_size = 1024, .write_align = 3}).error().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(ValidateGeometry({.size = 5000, .page_size = 1024, .write_align = 4}).error().code(),
            Errc::kInvalidArgument);
  RamFlash bad({.size = 5000, .page_size = 1024, .write_align = 4});
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(bad.Read(0, b).error().code(), Errc::kInvalidArgument);
}

TEST(RamFlashTest, StartsErasedAndReportsGeometry) {
  RamFlash f(kSmall);
  EXPECT_EQ(f.size(), 4096u);
  EXPECT_EQ(f.page_size(), 1024u);
  EXPECT_EQ(f.page_count(), 4u);
  EXPECT_EQ(f.write_align(), 4u);
  EXPECT_EQ(f.erased_value(), 0xFF);
  EXPECT_TRUE(*f.IsErased(0, 4096));
  for (uint8_t b : f.contents()) ASSERT_EQ(b, 0xFF);
}

TEST(RamFlashTest, WriteReadEraseRoundTrip) {
  RamFlash f(kSmall);
  const std::array<uint8_t, 8> data{1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(f.Write(1024 + 8, data).ok());
  EXPECT_EQ(ReadAll(f, 1024 + 8, 8), std::vector<uint8_t>(data.begin(), data.end()));
  EXPECT_FALSE(*f.IsErased(1024, 1024));
  EXPECT_TRUE(*f.IsErased(0, 1024));
  ASSERT_TRUE(f.ErasePage(1024).ok());
  EXPECT_TRUE(*f.IsErased(0, 4096));
}

TEST(RamFlashTest, RejectsMisalignedAndOutOfRange) {
  RamFlash f(kSmall);
  std::array<uint8_t, 4> four{};
  std::array<uint8_t, 3> three{};
  EXPECT_EQ(f.Write(2, four).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.Write(0, three).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.Write(4096, four).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.Read(4094, four).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.ErasePage(100).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.ErasePage(4096).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.Erase(0, 1000).error().code(), Errc::kInvalidArgument);
}

TEST(RamFlashTest, NorRuleForbidsZeroToOne) {
  RamFlash f(kSmall);
  ASSERT_TRUE(f.Write(0, std::array<uint8_t, 4>{0xF0, 0xFF, 0x00, 0xAA}).ok());
  // Clearing more bits is fine (NOR may be re-programmed towards 0).
  ASSERT_TRUE(f.Write(0, std::array<uint8_t, 4>{0x30, 0xFF, 0x00, 0x0A}).ok());
  Status st = f.Write(0, std::array<uint8_t, 4>{0x30, 0xFF, 0x01, 0x0A});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kBadState);
  EXPECT_NE(st.error().message().find("0x2"), std::string_view::npos) << st.error().message();
  // Nothing of the rejected write was stored.
  EXPECT_EQ(ReadAll(f, 0, 4), (std::vector<uint8_t>{0x30, 0xFF, 0x00, 0x0A}));
}

TEST(RamFlashTest, ErasedValueZeroInvertsTheRule) {
  RamFlash f({.size = 2048, .page_size = 1024, .write_align = 1, .erased_value = 0x00});
  EXPECT_TRUE(*f.IsErased(0, 2048));
  ASSERT_TRUE(f.Write(0, std::array<uint8_t, 1>{0x0F}).ok());
  ASSERT_TRUE(f.Write(0, std::array<uint8_t, 1>{0x3F}).ok());
  EXPECT_EQ(f.Write(0, std::array<uint8_t, 1>{0x01}).error().code(), Errc::kBadState);
  ASSERT_TRUE(f.ErasePage(0).ok());
  EXPECT_EQ(ReadAll(f, 0, 1)[0], 0x00);
}

TEST(CostModelTest, Nrf52Timings) {
  RamFlash f({.size = 16 * 4096, .page_size = 4096, .write_align = 4});
  f.set_timing(Timing::Nrf52());
  ASSERT_TRUE(f.Erase(0, 2 * 4096).ok());
  EXPECT_EQ(f.elapsed(), microseconds(175000));
  std::vector<uint8_t> data(4096, 0x11);
  ASSERT_TRUE(f.Write(0, data).ok());  // 1024 words
  EXPECT_EQ(f.elapsed(), microseconds(175000 + 1024 * 42));
  EXPECT_EQ(f.stats().page_erases, 2u);
  EXPECT_EQ(f.stats().bytes_written, 4096u);
  f.ResetElapsed();
  EXPECT_EQ(f.elapsed(), Duration(0));
}

TEST(FaultTest, FailNthOperationLeavesMediumUntouched) {
  RamFlash f(kSmall);
  f.FailOperation(2);
  std::array<uint8_t, 4> b{};
  EXPECT_TRUE(f.Read(0, b).ok());                                        // op 0
  EXPECT_TRUE(f.Write(0, std::array<uint8_t, 4>{1, 1, 1, 1}).ok());      // op 1
  Status st = f.Write(4, std::array<uint8_t, 4>{2, 2, 2, 2});            // op 2 fails
  EXPECT_EQ(st.error().code(), Errc::kIo);
  EXPECT_TRUE(f.powered());
  EXPECT_EQ(ReadAll(f, 4, 4), (std::vector<uint8_t>{0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_TRUE(f.Write(4, std::array<uint8_t, 4>{2, 2, 2, 2}).ok());      // armed once only
}

TEST(FaultTest, CutAtMutationTearsWriteAndPowersOff) {
  RamFlash f(kSmall);
  f.CutPowerAtMutation(1);
  std::vector<uint8_t> data(16, 0x00);
  ASSERT_TRUE(f.Write(0, data).ok());
  EXPECT_EQ(f.Write(16, data).error().code(), Errc::kIo);
  EXPECT_FALSE(f.powered());
  // Half of the interrupted write landed (whole write units).
  std::vector<uint8_t> expect(32, 0x00);
  std::fill(expect.begin() + 24, expect.end(), 0xFF);
  std::array<uint8_t, 4> b{};
  EXPECT_EQ(f.Read(0, b).error().code(), Errc::kIo);  // everything fails while off
  EXPECT_EQ(f.ErasePage(0).error().code(), Errc::kIo);
  f.PowerOn();
  EXPECT_EQ(ReadAll(f, 0, 32), expect);
}

TEST(FaultTest, PowerCutHandlerRunsOnceAfterTheTornWrite) {
  RamFlash f(kSmall);
  int calls = 0;
  std::vector<uint8_t> seen;
  f.set_power_cut_handler([&] {
    ++calls;
    seen = std::vector<uint8_t>(f.contents().begin(), f.contents().begin() + 16);
  });
  f.CutPowerAtMutation(2);
  std::vector<uint8_t> data(8, 0x00);
  ASSERT_TRUE(f.Write(0, std::vector<uint8_t>(4, 0)).ok());
  ASSERT_TRUE(f.ErasePage(0).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(f.Write(0, data).ok());
  EXPECT_EQ(calls, 1);
  // The handler sees the medium as the cut left it: half the write stored.
  EXPECT_EQ(seen, (std::vector<uint8_t>{0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                        0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_FALSE(f.Write(8, data).ok());  // powered off: no second call
  EXPECT_EQ(calls, 1);
  // An interrupted page erase calls it too.
  f.PowerOn();
  f.CutPowerAfterPagesErased(0);
  EXPECT_FALSE(f.ErasePage(0).ok());
  EXPECT_EQ(calls, 2);
}

TEST(FaultTest, CutBeforeMutationLeavesTheMediumAsTheCompletedOperations) {
  RamFlash f(kSmall);
  int calls = 0;
  f.set_power_cut_handler([&] { ++calls; });
  ASSERT_TRUE(f.Write(0, std::vector<uint8_t>(8, 0x00)).ok());
  f.CutPowerBeforeMutation(1);
  std::array<uint8_t, 4> b{};
  ASSERT_TRUE(f.Read(0, b).ok());  // reads do not count
  ASSERT_TRUE(f.ErasePage(0).ok());
  EXPECT_FALSE(f.Write(0, std::vector<uint8_t>(8, 0x00)).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(f.powered());
  f.PowerOn();
  // The erase completed, the write never started: the page is fully erased.
  EXPECT_TRUE(*f.IsErased(0, kSmall.size));
}

TEST(FaultTest, CutAfterBytesWritten) {
  RamFlash f(kSmall);
  f.CutPowerAfterBytesWritten(10);
  std::vector<uint8_t> data(8, 0x55);
  ASSERT_TRUE(f.Write(0, data).ok());                   // 8 of 10
  EXPECT_EQ(f.Write(8, data).error().code(), Errc::kIo);  // 2 left -> 0 whole words
  f.PowerOn();
  EXPECT_TRUE(*f.IsErased(8, 8));
  f.CutPowerAfterBytesWritten(12);
  ASSERT_FALSE(f.Write(8, std::vector<uint8_t>(16, 0x66)).ok());
  f.PowerOn();
  EXPECT_EQ(ReadAll(f, 8, 16)[11], 0x66);
  EXPECT_EQ(ReadAll(f, 8, 16)[12], 0xFF);
}

TEST(FaultTest, InterruptedEraseLeavesDeterministicGarbage) {
  auto run = [](std::vector<uint8_t>* page) {
    RamFlash f(kSmall);
    EXPECT_TRUE(f.Write(1024, std::vector<uint8_t>(1024, 0x00)).ok());
    f.CutPowerAfterPagesErased(1);
    EXPECT_TRUE(f.ErasePage(0).ok());
    EXPECT_EQ(f.ErasePage(1024).error().code(), Errc::kIo);
    EXPECT_FALSE(f.powered());
    f.PowerOn();
    *page = ReadAll(f, 1024, 1024);
  };
  std::vector<uint8_t> a, b;
  run(&a);
  run(&b);
  EXPECT_EQ(a, b);
  size_t erased = 0, zero = 0;
  for (uint8_t v : a) {
    erased += v == 0xFF;
    zero += v == 0x00;
  }
  EXPECT_LT(erased, 1024u);  // neither erased nor intact
  EXPECT_LT(zero, 1024u);
}

TEST(FaultTest, MutationCountCountsWritesAndPageErases) {
  RamFlash f(kSmall);
  std::array<uint8_t, 4> b{};
  ASSERT_TRUE(f.Read(0, b).ok());
  ASSERT_TRUE(f.Write(0, b).ok());
  ASSERT_TRUE(f.Erase(0, 2048).ok());
  EXPECT_EQ(f.mutation_count(), 3u);
  EXPECT_EQ(f.stats().operations, 4u);
}

class FileFlashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("smpkit-flash-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "flash.bin").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(FileFlashTest, CreatesErasedFileAndPersists) {
  {
    auto f = FileFlash::Open(path_, kSmall);
    ASSERT_TRUE(f.ok()) << f.error().message();
    EXPECT_EQ(std::filesystem::file_size(path_), 4096u);
    EXPECT_TRUE(*(*f)->IsErased(0, 4096));
    ASSERT_TRUE((*f)->Write(2048, std::array<uint8_t, 4>{0xDE, 0xAD, 0xBE, 0xEF}).ok());
    ASSERT_TRUE((*f)->ErasePage(0).ok());
  }
  auto f = FileFlash::Open(path_, kSmall);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(ReadAll(**f, 2048, 4), (std::vector<uint8_t>{0xDE, 0xAD, 0xBE, 0xEF}));
  // NOR rule holds across restarts too.
  EXPECT_EQ((*f)->Write(2048, std::array<uint8_t, 4>{0xFF, 0xFF, 0xFF, 0xFF}).error().code(),
            Errc::kBadState);
}

TEST_F(FileFlashTest, ReportsWhetherItCreatedTheFile) {
  {
    auto f = FileFlash::Open(path_, kSmall);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE((*f)->created());
  }
  auto f = FileFlash::Open(path_, kSmall);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE((*f)->created()) << "an existing (even fully erased) file is not new";
}

TEST_F(FileFlashTest, WrongSizeIsAClearError) {
  { std::ofstream(path_) << "short"; }
  auto f = FileFlash::Open(path_, kSmall);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), Errc::kCorrupt);
  EXPECT_NE(f.error().message().find("is 5 bytes, expected 4096"), std::string_view::npos)
      << f.error().message();
}

TEST_F(FileFlashTest, SecondOpenIsBusy) {
  auto a = FileFlash::Open(path_, kSmall);
  ASSERT_TRUE(a.ok());
  auto b = FileFlash::Open(path_, kSmall);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::kBusy);
}

TEST_F(FileFlashTest, MissingDirectoryIsIoError) {
  auto f = FileFlash::Open((dir_ / "nope" / "f.bin").string(), kSmall);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), Errc::kIo);
}

// A process killed with SIGKILL in the middle of a sequence of operations leaves a file whose
// content is exactly that of the completed operations.
TEST_F(FileFlashTest, SurvivesKillMinus9) {
  constexpr int kWrites = 37;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto f = FileFlash::Open(path_, kSmall, {.sync = false});
    if (!f.ok()) _exit(2);
    for (int i = 0; i < kWrites; ++i) {
      const auto v = static_cast<uint8_t>(i);
      if (!(*f)->Write(static_cast<uint32_t>(i * 4), std::array<uint8_t, 4>{v, v, v, v}).ok()) {
        _exit(3);
      }
    }
    if (!(*f)->ErasePage(3072).ok()) _exit(4);
    kill(getpid(), SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto f = FileFlash::Open(path_, kSmall);  // the lock died with the child
  ASSERT_TRUE(f.ok()) << f.error().message();
  const auto got = ReadAll(**f, 0, kWrites * 4);
  for (int i = 0; i < kWrites * 4; ++i) ASSERT_EQ(got[i], i / 4) << i;
  EXPECT_TRUE(*(*f)->IsErased(kWrites * 4, 4096 - kWrites * 4));
}

TEST_F(FileFlashTest, PowerCutStateIsPersisted) {
  {
    auto f = FileFlash::Open(path_, kSmall);
    ASSERT_TRUE(f.ok());
    (*f)->CutPowerAtMutation(0);
    EXPECT_FALSE((*f)->Write(0, std::vector<uint8_t>(8, 0)).ok());
  }
  auto f = FileFlash::Open(path_, kSmall);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(ReadAll(**f, 0, 8), (std::vector<uint8_t>{0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(PartitionTest, ViewsAreBoundedAndRelative) {
  RamFlash f(kSmall);
  auto p = Partition::Make(f, 1024, 2048, 7);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id(), 7);
  EXPECT_EQ(p->page_count(), 2u);
  ASSERT_TRUE(p->Write(0, std::array<uint8_t, 4>{9, 9, 9, 9}).ok());
  EXPECT_EQ(f.contents()[1024], 9);
  EXPECT_EQ(p->Write(2048, std::array<uint8_t, 4>{}).error().code(), Errc::kInvalidArgument);
  std::array<uint8_t, 8> b{};
  EXPECT_EQ(p->Read(2044, b).error().code(), Errc::kInvalidArgument);
  ASSERT_TRUE(p->EraseAll().ok());
  EXPECT_TRUE(*f.IsErased(0, 4096));
  EXPECT_FALSE(Partition::Make(f, 512, 1024).ok());
  EXPECT_FALSE(Partition::Make(f, 3072, 2048).ok());
  Partition absent;
  EXPECT_EQ(absent.Read(0, b).error().code(), Errc::kNotFound);
}

TEST(PartitionTest, CopyFrom) {
  RamFlash f(kSmall);
  auto a = *Partition::Make(f, 0, 1024);
  auto b = *Partition::Make(f, 2048, 1024);
  std::vector<uint8_t> data(100);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(a.Write(0, data).ok());
  std::array<uint8_t, 32> buf{};
  ASSERT_TRUE(b.CopyFrom(a, 0, 8, 100, buf).ok());
  EXPECT_EQ(ReadAll(f, 2048 + 8, 100), data);
}

TEST(PartitionTest, WriteUnalignedPatchesPartialUnitsAndKeepsTheirOtherBytes) {
  RamFlash f({.size = 8 * 1024, .page_size = 1024, .write_align = 8});
  auto p = *Partition::Make(f, 1024, 4096);
  std::vector<uint8_t> data(150);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i + 1);
  // A short range inside two units: one read-modify-write.
  ASSERT_TRUE(p.WriteUnaligned(5, std::span(data).first(6)).ok());
  EXPECT_EQ(ReadAll(f, 1024, 16), (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
                                                        5, 6, 0xff, 0xff, 0xff, 0xff, 0xff}));
  // Head, whole units and tail: everything lands, the bytes around are left erased.
  ASSERT_TRUE(p.WriteUnaligned(203, data).ok());
  EXPECT_EQ(ReadAll(f, 1024 + 203, 150), data);
  EXPECT_EQ(ReadAll(f, 1024 + 200, 3), (std::vector<uint8_t>(3, 0xff)));
  EXPECT_EQ(ReadAll(f, 1024 + 353, 7), (std::vector<uint8_t>(7, 0xff)));
  // Aligned data is written as it is.
  ASSERT_TRUE(p.WriteUnaligned(400, std::span(data).first(16)).ok());
  EXPECT_EQ(ReadAll(f, 1024 + 400, 16), std::vector<uint8_t>(data.begin(), data.begin() + 16));
  EXPECT_TRUE(p.WriteUnaligned(300, {}).ok());
  EXPECT_EQ(p.WriteUnaligned(4090, std::span(data).first(8)).error().code(),
            Errc::kInvalidArgument);
}

TEST(LayoutTest, PlacesPartitionsInOrder) {
  RamFlash f({.size = 64 * 4096, .page_size = 4096, .write_align = 4});
  auto l = MakeLayout(f, {.bootloader_size = 2 * 4096, .slot_size = 12 * 4096, .images = 2,
                          .scratch_size = 4096, .storage_size = 4 * 4096});
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->image_count, 2u);
  EXPECT_EQ(l->images[0].primary.offset(), 2u * 4096);
  EXPECT_EQ(l->images[0].primary.id(), kAreaImage0Primary);
  EXPECT_EQ(l->images[0].secondary.offset(), 14u * 4096);
  EXPECT_EQ(l->images[1].primary.id(), kAreaImage1Primary);
  EXPECT_EQ(l->images[1].secondary.offset(), 38u * 4096);
  EXPECT_EQ(l->scratch.offset(), 50u * 4096);
  EXPECT_EQ(l->storage.offset(), 51u * 4096);
  EXPECT_EQ(l->end, 55u * 4096);
  EXPECT_FALSE(l->images[0].primary.flash() == nullptr);
  auto too_big = MakeLayout(f, {.slot_size = 40 * 4096});
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code(), Errc::kNoSpace);
  EXPECT_EQ(MakeLayout(f, {.slot_size = 100}).error().code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace smpkit::flash

namespace smpkit::flash {
namespace {

// The erased-watermark shortcut must never let a write un-program bits.
TEST(FlashWatermark, SequentialWritesSkipTheCheckButNotTheRule) {
  RamFlash f(Geometry{4 * 4096, 4096, 4, 0xff});
  const uint8_t zeros[4] = {0, 0, 0, 0};
  const uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
  const uint8_t mid[4] = {0x55, 0x55, 0x55, 0x55};
  ASSERT_TRUE(f.Write(0, zeros).ok());
  ASSERT_TRUE(f.Write(8, mid).ok());   // above the watermark
  ASSERT_TRUE(f.Write(4, mid).ok());   // below it, but erased: checked and fine
  EXPECT_EQ(f.Write(0, ones).error().code(), Errc::kBadState);
  EXPECT_EQ(f.Write(8, zeros).ok(), true);  // 0x55 -> 0x00 only programs bits
  EXPECT_EQ(f.Write(8, ones).error().code(), Errc::kBadState);
  // Across a page boundary, after an erase of the second page only.
  std::vector<uint8_t> span(8192, 0x00);
  ASSERT_TRUE(f.Write(4096, span).ok());
  ASSERT_TRUE(f.ErasePage(8192).ok());
  std::vector<uint8_t> back(16, 0x11);
  EXPECT_EQ(f.Write(8192 - 8, back).error().code(), Errc::kBadState);  // page 1 is programmed
  ASSERT_TRUE(f.Write(8192, ConstByteSpan(back.data(), 8)).ok());
  uint8_t out[8];
  ASSERT_TRUE(f.Read(8192, out).ok());
  EXPECT_EQ(out[0], 0x11);
}

}  // namespace
}  // namespace smpkit::flash
