// Replays the real Zephyr 3.4 MCUmgr captures (shared/vectors/smp) against our server, in
// `step` order, configured like the captured server (vectors/smp/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

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
  }
  smp::ServerConfig config_ = CaptureServerConfig();
  CaptureHooks hooks_;
  OsGroup os_;
  smp::Registry registry_;
  smp::Server server_;
};

// Groups whose steps this device answers today. Image (1) and stat (2) steps are replayed
// by the image-management tests; serial steps by the transport tests.
bool Covered(const nlohmann::json& step) {
  if (step["transport"] != "udp") return false;
  for (const auto& f : step["request_decoded"]) {
    if (!f.contains("group")) continue;
    const int g = f["group"];
    if (g == 1 || g == 2) return false;
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
  EXPECT_GE(replayed, 40);
  EXPECT_EQ(hooks_.resets, 1);  // step 124
  std::printf("replayed %d captured UDP exchanges byte for byte\n", replayed);
}

}  // namespace
}  // namespace smpkit::mgmt
