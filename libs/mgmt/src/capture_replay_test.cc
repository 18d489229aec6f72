// Replays the real Zephyr 3.4 and 4.1 MCUmgr captures (shared/vectors/smp) against our
// server, in `step` order, each configured like its captured server (vectors/smp/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/mgmt/img_group.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/mgmt/stat_group.h"
#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::RecordingSink;

// What differs between the two captured servers (vectors/smp/README.md).
struct CapturedServer {
  const char* file;
  size_t buf_size, buf_count;
  bool bootloader_info;       // 3.4 built without it
  bool erase_blank_is_error;  // 3.4 answered IMG 1 for erasing a blank slot; 4.1 answers {}
  const char* release;
  const char* version;
  const char* platform;
  std::vector<TaskInfo> tasks;  // the snapshot in step 54 (4.1 repeats names)
  int replayed_at_least;
  bool stat_list_rc0 = false;   // 3.4 put "rc": 0 first in stat list; 4.1 does not
};

// The captured servers' statistics groups: the flash simulator's two and the smp_svr
// sample's own. Only their names travel in the captured exchange (stat list), so the
// counters here are the device's business; the groups are named as the captured server's.
class CapturedStats : public StatSource {
 public:
  size_t GroupCount() const override { return 3; }
  std::string_view GroupName(size_t g) const override {
    static constexpr std::string_view kNames[] = {"flash_sim_stats", "flash_sim_thresholds",
                                                  "smp_svr_stats"};
    return kNames[g];
  }
  size_t FieldCount(size_t) const override { return 0; }
  StatField Field(size_t, size_t) const override { return {}; }
};

const CapturedServer kZephyr34{
    "zephyr-3.4-captures.json",
    1280,
    6,
    false,
    true,
    "7be4c3bb41ed",
    "3.4.99",
    "native_sim_64",
    {{"3", 3, 0, 128}, {"8", 8, 1, 128}, {"-1", -1, 2, 2}, {"15", 15, 3, 0}, {"0", 0, 4, 16}},
    79,
    true};
const CapturedServer kZephyr41{"zephyr-4.1-captures.json",
                               2048,
                               4,
                               true,
                               false,
                               "v4.1.0",
                               "4.1.0",
                               "native_sim",
                               {{"14", 14, 0, 4},
                                {"3", 3, 1, 128},
                                {"0", 0, 2, 2},
                                {"-1", -1, 3, 2},
                                {"-1", -1, 4, 2},
                                {"-1", -1, 5, 2},
                                {"-1", -1, 6, 2},
                                {"15", 15, 7, 0},
                                {"0", 0, 8, 4}},
                               87};

nlohmann::json LoadCaptures(const char* file) {
  std::ifstream in(std::string(SMPKIT_SHARED_DIR) + "/vectors/smp/" + file);
  EXPECT_TRUE(in.good()) << "cannot open the capture file " << file;
  return nlohmann::json::parse(in);
}

// The captured server's OS group: taskstat (priority names), info without build date,
// no datetime.
class CaptureHooks : public OsHooks {
 public:
  explicit CaptureHooks(const std::vector<TaskInfo>& tasks) : tasks_(tasks) {}
  std::span<const TaskInfo> Tasks() override { return tasks_; }
  void ScheduleReset(uint8_t) override { ++resets; }
  int resets = 0;

 private:
  const std::vector<TaskInfo>& tasks_;
};

OsGroupConfig CaptureOsConfig(const CapturedServer& server) {
  OsGroupConfig c;
  c.taskstat = true;
  c.bootloader_info = server.bootloader_info;
  c.bootloader = "MCUboot";
  c.bootloader_mode = 3;  // swap using move
  c.node_name = "unknown";
  c.release = server.release;
  c.version = server.version;
  c.machine = "posix";
  c.processor = "unknown";
  c.platform = server.platform;
  return c;
}

class CaptureReplay : public ::testing::TestWithParam<const CapturedServer*> {
 protected:
  static smp::ServerConfig CaptureServerConfig(const CapturedServer& server) {
    smp::ServerConfig c;
    c.buf_size = server.buf_size;
    c.buf_count = server.buf_count;
    return c;
  }
  CaptureReplay()
      : server_info_(*GetParam()),
        config_(CaptureServerConfig(server_info_)),
        hooks_(server_info_.tasks),
        os_(CaptureOsConfig(server_info_), config_, hooks_),
        stat_(StatGroupConfig{server_info_.stat_list_rc0, false, 32}, stats_),
        server_(registry_, config_) {
    EXPECT_TRUE(registry_.Register(os_).ok());
    EXPECT_TRUE(registry_.Register(stat_).ok());
    // The captured flash: primary slot at 0xC000 and secondary at 0x75000, 0x69000 each,
    // primary holding primary-slot-1.0.0.bin, secondary erased.
    auto layout = flash::MakeLayout(flash_, {0xC000, 0x69000, 1, 0, 0});
    EXPECT_TRUE(layout.ok());
    layout_ = *layout;
    std::ifstream in(std::string(SMPKIT_SHARED_DIR) + "/vectors/smp/primary-slot-1.0.0.bin",
                     std::ios::binary);
    std::vector<uint8_t> primary((std::istreambuf_iterator<char>(in)), {});
    primary.resize((primary.size() + 3) / 4 * 4, 0xff);
    EXPECT_TRUE(layout_.images[0].primary.Write(0, primary).ok());
    boot_.emplace(std::span<const flash::SlotPair>(layout_.images.data(), 1),
                  mcuboot::BootConfig{});
    auto report = boot_->Boot();
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : std::string(report.error().message()));
    ImgGroupConfig img_config;
    img_config.slot_info = false;    // arrived after 3.4
    img_config.image_check = false;  // CONFIG_IMG_ENABLE_IMAGE_CHECK=n
    img_config.erase_blank_is_error = server_info_.erase_blank_is_error;
    img_.emplace(*boot_, std::span<const flash::SlotPair>(layout_.images.data(), 1), img_config,
                 img_hooks_);
    EXPECT_TRUE(registry_.Register(*img_).ok());
  }
  const CapturedServer& server_info_;
  flash::RamFlash flash_{flash::Geometry{0xC000 + 2 * 0x69000, 4096, 4, 0xff}};
  flash::Layout layout_;
  std::optional<mcuboot::Bootloader> boot_;
  ImgHooks img_hooks_;
  std::optional<ImgGroup> img_;
  smp::ServerConfig config_;
  CaptureHooks hooks_;
  OsGroup os_;
  CapturedStats stats_;
  StatGroup stat_;
  smp::Registry registry_;
  smp::Server server_;
};

// Steps this device answers: every UDP step. Serial steps are replayed by the transport tests.
bool Covered(const nlohmann::json& step) { return step["transport"] == "udp"; }

TEST_P(CaptureReplay, EveryUdpExchangeByteExact) {
  auto captures = LoadCaptures(server_info_.file);
  ASSERT_TRUE(captures.is_array());
  std::sort(captures.begin(), captures.end(),
            [](const auto& a, const auto& b) { return a["step"] < b["step"]; });
  int replayed = 0;
  for (const auto& step : captures) {
    if (!Covered(step)) continue;
    const auto request = FromHex(step["request_hex"].get<std::string>());
    RecordingSink sink;
    uint8_t scratch[2048];
    server_.Process(request, scratch, sink);
    EXPECT_EQ(testing::JoinedHex(sink), step["response_hex"].get<std::string>())
        << "step " << step["step"] << " " << step["name"];
    ++replayed;
  }
  EXPECT_GE(replayed, server_info_.replayed_at_least);
  EXPECT_EQ(hooks_.resets, 1);  // the last step
  std::printf("%s: replayed %d captured UDP exchanges byte for byte\n", server_info_.file,
              replayed);
}

INSTANTIATE_TEST_SUITE_P(Zephyr, CaptureReplay, ::testing::Values(&kZephyr34, &kZephyr41),
                         [](const auto& p) {
                           return std::string(p.param == &kZephyr34 ? "v3_4" : "v4_1");
                         });

}  // namespace
}  // namespace smpkit::mgmt
