// Replays the real Zephyr 3.4 MCUmgr captures (shared/vectors/smp) against our server, in
// `step` order, configured like the captured server (vectors/smp/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/mgmt/img_group.h"
#include "smpkit/mgmt/os_group.h"
#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::RecordingSink;

nlohmann::json LoadCaptures() {
  std::ifstream in(std::string(SMPKIT_SHARED_DIR) + "/vectors/smp/zephyr-3.4-captures.json");
  EXPECT_TRUE(in.good()) << "cannot open the capture file";
  return nlohmann::json::parse(in);
}

// The captured server's OS group: taskstat (priority names), info without build date,
// no datetime, no bootloader info; buffers 1280 x 6.
class CaptureHooks : public OsHooks {
 public:
  std::span<const TaskInfo> Tasks() override { return tasks_; }
  void ScheduleReset(uint8_t) override { ++resets; }
  int resets = 0;

 private:
  // The snapshot recorded in step 54.
  const TaskInfo tasks_[5] = {{"3", 3, 0, 128}, {"8", 8, 1, 128}, {"-1", -1, 2, 2},
                              {"15", 15, 3, 0}, {"0", 0, 4, 16}};
};

OsGroupConfig CaptureOsConfig() {
  OsGroupConfig c;
  c.taskstat = true;
  c.bootloader_info = false;
  c.node_name = "unknown";
  c.release = "7be4c3bb41ed";
  c.version = "3.4.99";
  c.machine = "posix";
  c.processor = "unknown";
  c.platform = "native_sim_64";
  return c;
}

class CaptureReplay : public ::testing::Test {
 protected:
  static smp::ServerConfig CaptureServerConfig() {
    smp::ServerConfig c;
    c.buf_size = 1280;
    c.buf_count = 6;
    return c;
  }
  CaptureReplay() : os_(CaptureOsConfig(), config_, hooks_), server_(registry_, config_) {
    EXPECT_TRUE(registry_.Register(os_).ok());
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
    boot_.emplace(std::span<const flash::SlotPair>(layout_.images.data(), 1), mcuboot::BootConfig{});
    auto report = boot_->Boot();
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : std::string(report.error().message()));
    ImgGroupConfig img_config;
    img_config.slot_info = false;           // arrived after 3.4
    img_config.image_check = false;         // CONFIG_IMG_ENABLE_IMAGE_CHECK=n
    img_config.erase_blank_is_error = true;  // 3.4 behaviour
    img_.emplace(*boot_, std::span<const flash::SlotPair>(layout_.images.data(), 1), img_config,
                 img_hooks_);
    EXPECT_TRUE(registry_.Register(*img_).ok());
  }
  flash::RamFlash flash_{flash::Geometry{0xC000 + 2 * 0x69000, 4096, 4, 0xff}};
  flash::Layout layout_;
  std::optional<mcuboot::Bootloader> boot_;
  ImgHooks img_hooks_;
  std::optional<ImgGroup> img_;
  smp::ServerConfig config_ = CaptureServerConfig();
  CaptureHooks hooks_;
  OsGroup os_;
  smp::Registry registry_;
  smp::Server server_;
};

// Steps this device answers: all UDP steps but the statistics group (2), which smpkit does
// not implement. Serial steps are replayed by the transport tests.
bool Covered(const nlohmann::json& step) {
  if (step["transport"] != "udp") return false;
  for (const auto& f : step["request_decoded"]) {
    if (f.contains("group") && f["group"] == 2) return false;
  }
  return true;
}

TEST_F(CaptureReplay, SmpLayerAndOsGroupByteExact) {
  auto captures = LoadCaptures();
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
    EXPECT_EQ(sink.JoinedHex(), step["response_hex"].get<std::string>())
        << "step " << step["step"] << " " << step["name"];
    ++replayed;
  }
  EXPECT_GE(replayed, 70);
  EXPECT_EQ(hooks_.resets, 1);  // step 124
  std::printf("replayed %d captured UDP exchanges byte for byte\n", replayed);
}

}  // namespace
}  // namespace smpkit::mgmt
