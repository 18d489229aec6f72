// Power cuts during the boot-time swap, through the real `smpkit device` process: a flash
// file holding a confirmed running image and a pending one (swap-move test, permanent,
// revert; overwrite-only) is stopped at every flash write/page erase of the boot
// (--fault-after-writes N tears that operation as a power cut and exits), then the process
// is started again on the same file. It must boot the old or the new image, never
// re-provision the factory image, and (swap-move) still hold the other image in slot 1.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "smpkit/device/device.h"
#include "smpkit/flash/file_flash.h"
#include "smpkit/mcuboot/boot.h"

namespace smpkit::testing {
namespace {

std::string SmpkitBinary() { return std::string(SMPKIT_BINARY_DIR) + "/apps/smpkit/smpkit"; }

struct RunResult {
  int status = -1;  // exit status, or -1 (signal / timeout)
  std::string out;  // stdout and stderr
};

// Runs `smpkit device ARGS`, at most 10 s.
RunResult RunDevice(const std::vector<std::string>& args) {
  RunResult r;
  int fds[2];
  if (pipe(fds) != 0) return r;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    std::vector<std::string> full = {SmpkitBinary(), "device"};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    r.out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.out += "\n[killed: timeout]";
      return r;
    }
    usleep(1000);
  }
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

constexpr uint32_t kSlotSize = 0x8000;  // 8 sectors: small images keep the sweep short

device::DeviceConfig Config(bool overwrite) {
  device::DeviceConfig c;
  c.slot_size = kSlotSize;
  c.settings_size = 0x2000;  // `smpkit device`'s settings partition, after the slots
  if (overwrite) c.boot.mode = mcuboot::BootMode::kOverwriteOnly;
  return c;
}

enum class Scenario { kTest, kPerm, kRevert, kOverwrite };

struct Prepared {
  std::string old_version, new_version;
};

Status WriteSecondary(device::Device& dev, const std::vector<uint8_t>& image) {
  const auto& s = dev.layout().images[0].secondary;
  SMPKIT_TRY(s.EraseAll());
  std::vector<uint8_t> padded(image);
  padded.resize((padded.size() + 3) / 4 * 4, 0xff);
  return s.Write(0, padded);
}

// Builds the flash file of a scenario with the libraries (the process under test only ever
// boots it): 2.0.0 running and confirmed, 3.0.0 in the secondary with the request.
Result<Prepared> Prepare(const std::string& path, Scenario sc) {
  const bool overwrite = sc == Scenario::kOverwrite;
  const auto config = Config(overwrite);
  SMPKIT_ASSIGN_OR_RETURN(auto flash, flash::FileFlash::Open(path, config.Geometry(), {false}));
  device::Device dev(*flash, config);
  // Images of 2 and 3 sectors: the swap moves 3 sectors each way.
  SMPKIT_ASSIGN_OR_RETURN(auto a, device::MakeFactoryImage("2.0.0", 5000, 2));
  SMPKIT_ASSIGN_OR_RETURN(auto b, device::MakeFactoryImage("3.0.0", 9000, 3));
  SMPKIT_TRY(dev.Provision(a));
  {
    auto boot = dev.Boot();
    if (!boot.ok()) return boot.error();
  }
  SMPKIT_TRY(dev.bootloader().ConfirmRunning());
  SMPKIT_TRY(WriteSecondary(dev, b));
  SMPKIT_TRY(dev.bootloader().RequestUpgrade(0, sc == Scenario::kPerm));
  if (sc != Scenario::kRevert) return Prepared{"2.0.0", "3.0.0"};
  // Revert: the test swap has run, 3.0.0 runs unconfirmed; the next boot swaps back.
  SMPKIT_ASSIGN_OR_RETURN(auto report, dev.Boot());
  if (report.images[0].swap != mcuboot::SwapType::kTest) {
    return Error(Errc::kBadState, "preparing revert: the test swap did not run");
  }
  return Prepared{"3.0.0", "2.0.0"};
}

std::string Running(const std::string& out) {
  static const std::regex re(R"(running (\S+) from slot 0)");
  std::smatch m;
  return std::regex_search(out, m, re) ? m[1].str() : "";
}

// Versions in slot 0 and slot 1 of the file, read with the bootloader model (no writes).
std::pair<std::string, std::string> SlotVersions(const std::string& path, bool overwrite) {
  const auto config = Config(overwrite);
  auto flash = flash::FileFlash::Open(path, config.Geometry(), {false});
  if (!flash.ok()) return {"?", "?"};
  device::Device dev(**flash, config);
  mcuboot::Bootloader boot(std::span<const flash::SlotPair>(dev.layout().images.data(), 1),
                           config.boot);
  std::pair<std::string, std::string> v;
  auto state = boot.ReadImageState();
  if (!state.ok()) return {"?", "?"};
  for (const auto& s : state->view()) {
    char buf[32];
    (s.slot == 0 ? v.first : v.second) = std::string(s.version.Format(buf));
  }
  return v;
}

void Sweep(Scenario sc, const char* name) {
  const bool overwrite = sc == Scenario::kOverwrite;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("smpkit-powercut-" + std::string(name) + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string tmpl = (dir / "template.flash").string();
  const std::string work = (dir / "work.flash").string();
  auto prepared = Prepare(tmpl, sc);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  const auto& [old_v, new_v] = *prepared;
  std::vector<std::string> common = {"--flash", work, "--slot-size", std::to_string(kSlotSize)};
  if (overwrite) {
    common.push_back("--boot-mode");
    common.push_back("overwrite-only");
  }
  uint64_t cuts = 0, booted_old = 0, booted_new = 0;
  // A cut before every operation n (a kill between two writes, e.g. a page just erased and
  // nothing written to it yet), and one in the middle of every 3rd operation (torn: half a
  // write, a garbage page).
  for (uint64_t i = 0;; ++i) {
    const uint64_t n = i / 2;
    const bool tear = i % 2 == 1;
    if (tear && n % 3 != 1) continue;
    ASSERT_LT(n, 2000u) << "the boot never completes";
    std::filesystem::copy_file(tmpl, work, std::filesystem::copy_options::overwrite_existing);
    auto args = common;
    args.insert(args.end(), {"--fault-after-writes", std::to_string(n), "--exit-after-boot"});
    if (tear) args.push_back("--fault-tear");
    const RunResult cut = RunDevice(args);
    ASSERT_EQ(cut.out.find("provisioned factory image"), std::string::npos) << cut.out;
    if (cut.status == 0) {
      // The whole boot took n flash operations or fewer: the sweep is complete.
      EXPECT_EQ(Running(cut.out), new_v) << cut.out;
      break;
    }
    ASSERT_EQ(cut.status, 9) << "at write " << n << (tear ? " (torn)" : "") << ": " << cut.out;
    ++cuts;
    auto restart_args = common;
    restart_args.push_back("--exit-after-boot");
    const RunResult restart = RunDevice(restart_args);
    ASSERT_EQ(restart.status, 0) << "restart after a cut at write " << n << (tear ? " (torn)" : "")
                                 << ": " << restart.out;
    ASSERT_EQ(restart.out.find("provisioned factory image"), std::string::npos)
        << "cut at write " << n << " re-provisioned: " << restart.out;
    const std::string running = Running(restart.out);
    ASSERT_TRUE(running == old_v || running == new_v)
        << "cut at write " << n << ": boots '" << running << "': " << restart.out;
    (running == old_v ? booted_old : booted_new)++;
    const auto [slot0, slot1] = SlotVersions(work, overwrite);
    EXPECT_EQ(slot0, running) << "cut at write " << n;
    if (!overwrite) {
      // Swap-move keeps both images: the one not running waits in the secondary.
      EXPECT_EQ(slot1, running == old_v ? new_v : old_v) << "cut at write " << n;
    }
  }
  std::filesystem::remove_all(dir);
  // Not vacuous: the boot's swap/copy is many operations, and the sweep saw both outcomes
  // (a cut before the swap starts is resumed as the upgrade; the overwrite copies in place).
  EXPECT_GE(cuts, overwrite ? 40u : 110u) << name;
  EXPECT_GT(booted_new, 0u) << name;
  ::testing::Test::RecordProperty("flash_operations_swept", static_cast<int>(cuts));
  std::printf("%s: %llu cut points, restarted into old %llu times, new %llu times\n", name,
              static_cast<unsigned long long>(cuts), static_cast<unsigned long long>(booted_old),
              static_cast<unsigned long long>(booted_new));
}

TEST(PowerCutSweepTest, SwapMoveTest) { Sweep(Scenario::kTest, "test"); }
TEST(PowerCutSweepTest, SwapMovePermanent) { Sweep(Scenario::kPerm, "perm"); }
TEST(PowerCutSweepTest, SwapMoveRevert) { Sweep(Scenario::kRevert, "revert"); }
TEST(PowerCutSweepTest, OverwriteOnly) { Sweep(Scenario::kOverwrite, "overwrite"); }

// Power cut again while the restarted process resumes the interrupted swap (every 5th
// first cut, each followed by a second cut a few operations into the resume).
TEST(PowerCutSweepTest, SwapMoveCutAgainDuringTheResume) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("smpkit-powercut-twice-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string tmpl = (dir / "template.flash").string();
  const std::string work = (dir / "work.flash").string();
  auto prepared = Prepare(tmpl, Scenario::kTest);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  const auto& [old_v, new_v] = *prepared;
  const std::vector<std::string> common = {"--flash", work, "--slot-size",
                                           std::to_string(kSlotSize), "--exit-after-boot"};
  uint64_t double_cuts = 0;
  for (uint64_t n = 0;; n += 5) {
    ASSERT_LT(n, 2000u);
    std::filesystem::copy_file(tmpl, work, std::filesystem::copy_options::overwrite_existing);
    auto first = common;
    first.insert(first.end(), {"--fault-after-writes", std::to_string(n)});
    const RunResult cut1 = RunDevice(first);
    if (cut1.status == 0) break;  // past the end of the swap
    ASSERT_EQ(cut1.status, 9) << cut1.out;
    auto second = common;
    second.insert(second.end(), {"--fault-after-writes", std::to_string(1 + n % 23)});
    const RunResult cut2 = RunDevice(second);
    ASSERT_TRUE(cut2.status == 9 || cut2.status == 0) << cut2.out;
    if (cut2.status == 9) ++double_cuts;
    const RunResult restart = RunDevice(common);
    ASSERT_EQ(restart.status, 0) << "cuts at " << n << ", then " << 1 + n % 23 << ": "
                                 << restart.out;
    EXPECT_EQ(restart.out.find("provisioned factory image"), std::string::npos) << restart.out;
    const std::string running = Running(restart.out);
    ASSERT_TRUE(running == old_v || running == new_v) << restart.out;
    const auto [slot0, slot1] = SlotVersions(work, false);
    EXPECT_EQ(slot0, running);
    EXPECT_EQ(slot1, running == old_v ? new_v : old_v);
  }
  std::filesystem::remove_all(dir);
  EXPECT_GE(double_cuts, 20u) << "the second cut should land inside the resume";
}

// An existing flash file whose primary slot is erased (as swap-move leaves it mid-way, or
// after an erase) is not taken for a new flash: nothing is provisioned, the boot fails
// with a clear error and a non-zero status; --provision writes the factory image.
TEST(DeviceStartupTest, ExistingFileIsNeverReprovisionedOnAGuess) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("smpkit-startup-" + std::to_string(getpid()) + ".flash"))
                        .string();
  std::filesystem::remove(path);
  const std::vector<std::string> args = {"--flash", path, "--slot-size", std::to_string(kSlotSize),
                                         "--exit-after-boot"};
  RunResult first = RunDevice(args);
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_NE(first.out.find("provisioned factory image 1.0.0"), std::string::npos) << first.out;
  {
    const auto config = Config(false);
    auto flash = flash::FileFlash::Open(path, config.Geometry(), {false});
    ASSERT_TRUE(flash.ok());
    device::Device dev(**flash, config);
    ASSERT_TRUE(dev.layout().images[0].primary.EraseAll().ok());
  }
  RunResult second = RunDevice(args);
  EXPECT_EQ(second.status, 1) << second.out;
  EXPECT_EQ(second.out.find("provisioned factory image"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("boot failed"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("--provision"), std::string::npos) << second.out;
  auto with = args;
  with.push_back("--provision");
  RunResult third = RunDevice(with);
  EXPECT_EQ(third.status, 0) << third.out;
  EXPECT_NE(third.out.find("provisioned factory image 1.0.0"), std::string::npos) << third.out;
  EXPECT_EQ(Running(third.out), "1.0.0");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace smpkit::testing
