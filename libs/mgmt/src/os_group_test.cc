// OS group and dispatcher against the byte-exact vectors of smp-protocol.md §12.
#include "smpkit/mgmt/os_group.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::RecordingSink;
using testing::ToHex;

class FakeHooks : public OsHooks {
 public:
  smp::Outcome OnResetRequest(bool force, uint8_t) override {
    last_force = force;
    if (refuse && !force) return smp::Outcome::Rc(smp::MgmtErr::kBusy);
    return smp::Outcome::Success();
  }
  void ScheduleReset(uint8_t) override { ++resets; }
  bool RtcGet(DateTime* out) override {
    if (!rtc_set) return false;
    *out = rtc;
    return true;
  }
  bool RtcSet(const DateTime& dt) override {
    rtc = dt;
    rtc_set = true;
    return true;
  }
  int resets = 0;
  bool refuse = false;
  bool last_force = false;
  bool rtc_set = false;
  DateTime rtc;
};

class OsGroupTest : public ::testing::Test {
 protected:
  OsGroupTest() : os_(OsGroupConfig{}, server_config_, hooks_), server_(registry_, server_config_) {
    EXPECT_TRUE(registry_.Register(os_).ok());
  }
  std::string Run(std::string_view request_hex) {
    RecordingSink sink;
    auto req = FromHex(request_hex);
    uint8_t scratch[2048];
    server_.Process(req, scratch, sink);
    return testing::JoinedHex(sink);
  }
  smp::ServerConfig server_config_;
  FakeHooks hooks_;
  OsGroup os_;
  smp::Registry registry_;
  smp::Server server_;
};

TEST_F(OsGroupTest, Spec12_1A_EchoV1) {
  EXPECT_EQ(
      Run("02 00 00 2e 00 00 01 00 bf 61 64 78 28 73 68 6f 72 74 20 4d 43 55 4d 47 52 20 74"
          "65 73 74 20 61 70 70 6c 69 63 61 74 69 6f 6e 20 6d 65 73 73 61 67 65 2e 2e 2e ff"),
      ToHex(FromHex("03 00 00 2e 00 00 01 00 bf 61 72 78 28 73 68 6f 72 74 20 4d 43 55 4d 47 52"
                    "20 74 65 73 74 20 61 70 70 6c 69 63 61 74 69 6f 6e 20 6d 65 73 73 61 67"
                    "65 2e 2e 2e ff")));
}

TEST_F(OsGroupTest, Spec12_1B_VersionHandling) {
  const char* body = "a1 66 66 6f 72 6d 61 74 61 38";
  EXPECT_EQ(Run(std::string("00 00 00 0a 00 00 01 07 ") + body),
            ToHex(FromHex("01 00 00 06 00 00 01 07 bf 62 72 63 03 ff")));
  EXPECT_EQ(Run(std::string("08 00 00 0a 00 00 01 07 ") + body),
            ToHex(FromHex("09 00 00 13 00 00 01 07 bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 "
                          "63 02 ff ff")));
  EXPECT_EQ(Run(std::string("10 00 00 0a 00 00 01 07 ") + body),
            ToHex(FromHex("09 00 00 06 00 00 01 07 bf 62 72 63 0d ff")));
  server_.mutable_config().legacy_support = false;
  EXPECT_EQ(Run(std::string("00 00 00 0a 00 00 01 07 ") + body),
            ToHex(FromHex("01 00 00 06 00 00 01 07 bf 62 72 63 0c ff")));
}

TEST_F(OsGroupTest, Spec12_2C_EchoV2) {
  EXPECT_EQ(Run("0a 00 00 09 00 00 2a 00 a1 61 64 65 68 65 6c 6c 6f"),
            ToHex(FromHex("0b 00 00 0a 00 00 2a 00 bf 61 72 65 68 65 6c 6c 6f ff")));
}

TEST_F(OsGroupTest, Spec12_2G_Params) {
  EXPECT_EQ(Run("08 00 00 01 00 00 04 06 a0"),
            ToHex(FromHex("09 00 00 19 00 00 04 06 bf 68 62 75 66 5f 73 69 7a 65 19 01 80 69 62 75 "
                          "66 5f 63 6f 75 6e 74 04 ff")));
}

TEST_F(OsGroupTest, Spec12_2H_ResetAnswersThenSchedules) {
  EXPECT_EQ(Run("0a 00 00 01 00 00 03 05 a0"), ToHex(FromHex("0b 00 00 02 00 00 03 05 bf ff")));
  EXPECT_EQ(hooks_.resets, 1);
}

TEST_F(OsGroupTest, ResetVetoAndForce) {
  hooks_.refuse = true;
  EXPECT_EQ(Run("0a 00 00 01 00 00 03 05 a0"),
            ToHex(FromHex("0b 00 00 06 00 00 03 05 bf 62 72 63 0a ff")));
  EXPECT_EQ(hooks_.resets, 0);
  // {"force": true}
  EXPECT_EQ(Run("0a 00 00 08 00 00 03 05 a1 65 66 6f 72 63 65 f5"),
            ToHex(FromHex("0b 00 00 02 00 00 03 05 bf ff")));
  EXPECT_EQ(hooks_.resets, 1);
  // force as an int is ignored (treated as not forced), so the veto applies again.
  EXPECT_EQ(Run("0a 00 00 08 00 00 03 05 a1 65 66 6f 72 63 65 01"),
            ToHex(FromHex("0b 00 00 06 00 00 03 05 bf 62 72 63 0a ff")));
}

TEST_F(OsGroupTest, SeveralFramesInOnePacketAndStopAtSmpError) {
  // echo "a", echo "b" back to back: two responses.
  std::string two = "0a 00 00 05 00 00 01 00 a1 61 64 61 61 0a 00 00 05 00 00 02 00 a1 61 64 61 62";
  EXPECT_EQ(Run(two), ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 61 72 61 61 ff")) + " " +
                          ToHex(FromHex("0b 00 00 06 00 00 02 00 bf 61 72 61 62 ff")));
  // unknown command first: rc 8 and the rest is dropped
  EXPECT_EQ(Run("0a 00 00 01 00 00 01 63 a0 0a 00 00 05 00 00 02 00 a1 61 64 61 62"),
            ToHex(FromHex("0b 00 00 06 00 00 01 63 bf 62 72 63 08 ff")));
  // trailing 3 bytes are silently dropped
  EXPECT_EQ(Run("0a 00 00 05 00 00 01 00 a1 61 64 61 61 0a 00 00"),
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 61 72 61 61 ff")));
}

TEST_F(OsGroupTest, DatagramIsTakenFrameByFrameAsZephyrDoes) {
  // Zephyr's smp_process_request_packet (3.4 and 4.1): frames one after another by each
  // header's length; what is left after a frame is parsed as the next frame.
  const std::string echo_a = "0a 00 00 05 00 00 01 00 a1 61 64 61 61 ";
  const std::string echo_b = "0a 00 00 05 00 00 02 00 a1 61 64 61 62";
  const std::string answer_a = ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 61 72 61 61 ff"));
  const std::string answer_b = ToHex(FromHex("0b 00 00 06 00 00 02 00 bf 61 72 61 62 ff"));
  // Leftover bytes that hold a header but not its length: rc 9 under that header.
  EXPECT_EQ(Run(echo_a + "0a 00 00 20 00 00 07 00 ff ff"),
            answer_a + " " + ToHex(FromHex("0b 00 00 06 00 00 07 00 bf 62 72 63 09 ff")));
  // A group error in SMP v2 ({"err": ...}) is a normal answer: the next frame is processed.
  const std::string info_x_v2 = "08 00 00 0a 00 00 01 07 a1 66 66 6f 72 6d 61 74 61 78 ";
  EXPECT_EQ(Run(info_x_v2 + echo_b),
            ToHex(FromHex("09 00 00 13 00 00 01 07 bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 "
                          "63 02 ff ff")) +
                " " + answer_b);
  // In SMP v1 the same error is a translated rc, returned as an error: processing stops.
  const std::string info_x_v1 = "00 00 00 0a 00 00 01 07 a1 66 66 6f 72 6d 61 74 61 78 ";
  EXPECT_EQ(Run(info_x_v1 + echo_b), ToHex(FromHex("01 00 00 06 00 00 01 07 bf 62 72 63 03 ff")));
  // An SMP-level error (rc 3 for a payload that is no map) stops too.
  EXPECT_EQ(Run("0a 00 00 01 00 00 01 00 05 " + echo_b),
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 03 ff")));
  // Version 2 and 3 headers: rc 13 (MGMT_ERR_UNSUPPORTED_TOO_NEW), answered as version 1 --
  // smp_handle_single_req and Zephyr's tests/subsys/mgmt/mcumgr/smp_version.
  EXPECT_EQ(Run("12 00 00 05 00 00 03 00 a1 61 64 61 61"),
            ToHex(FromHex("0b 00 00 06 00 00 03 00 bf 62 72 63 0d ff")));
}

TEST_F(OsGroupTest, BadInputGetsTheSpecAnswer) {
  EXPECT_EQ(Run("0a 00 00"), "");                                       // truncated header
  EXPECT_EQ(Run("0a 00 00 14 00 00 01 00 a1 61 64 65 68 65 6c 6c 6f"),  // length mismatch
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 09 ff")));
  EXPECT_EQ(Run("0a 00 00 01 00 55 01 00 a0"),
            ToHex(FromHex("0b 00 00 06 00 55 01 00 bf 62 72 63 08 ff")));
  EXPECT_EQ(Run("18 00 00 01 00 00 01 00 a0"),
            ToHex(FromHex("09 00 00 06 00 00 01 00 bf 62 72 63 0d ff")));  // ver 3
  EXPECT_EQ(Run("0f 00 00 01 00 00 01 00 a0"),
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 08 ff")));  // op 7
  EXPECT_EQ(Run("0a 00 00 01 00 00 01 00 05"),
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 03 ff")));  // non-map
  EXPECT_EQ(Run("0a 00 00 00 00 00 01 00"),
            ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 03 ff")));  // empty
}

TEST_F(OsGroupTest, OversizeResponseIsMsgSize) {
  server_.mutable_config().buf_size = 64;
  std::string req = "0a 00 00 43 00 00 01 00 a1 61 64 78 3e";
  for (int i = 0; i < 62; ++i) req += " 41";
  EXPECT_EQ(Run(req), ToHex(FromHex("0b 00 00 06 00 00 01 00 bf 62 72 63 07 ff")));
}

TEST_F(OsGroupTest, InfoFormats) {
  os_.config().node_name = "dev";
  // {"format": "vs"} -> fixed order "Zephyr 3.4.99"
  EXPECT_EQ(Run("08 00 00 0b 00 00 01 07 a1 66 66 6f 72 6d 61 74 62 76 73"),
            ToHex(FromHex("09 00 00 17 00 00 01 07 bf 66 6f 75 74 70 75 74 6d 5a 65 70 68 79 72 20 "
                          "33 2e 34 2e 39 39 ff")));
  // 'b' is unknown while no build date is configured
  EXPECT_EQ(
      Run("08 00 00 0a 00 00 01 07 a1 66 66 6f 72 6d 61 74 61 62"),
      ToHex(FromHex(
          "09 00 00 13 00 00 01 07 bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 63 02 ff ff")));
  os_.config().info_max_size = 8;
  EXPECT_EQ(Run("08 00 00 0a 00 00 01 07 a1 66 66 6f 72 6d 61 74 61 61"),
            ToHex(FromHex("09 00 00 06 00 00 01 07 bf 62 72 63 07 ff")));
}

TEST_F(OsGroupTest, BootloaderInfo) {
  EXPECT_EQ(Run("08 00 00 01 00 00 01 08 a0"),
            ToHex(FromHex("09 00 00 15 00 00 01 08 bf 6a 62 6f 6f 74 6c 6f 61 64 65 72 67 4d 43 55 "
                          "62 6f 6f 74 ff")));
  // {"query": "mode"} -> {"mode": 3}
  EXPECT_EQ(Run("08 00 00 0c 00 00 01 08 a1 65 71 75 65 72 79 64 6d 6f 64 65"),
            ToHex(FromHex("09 00 00 08 00 00 01 08 bf 64 6d 6f 64 65 03 ff")));
  // v1, unknown query -> OS err 3 -> rc 5
  EXPECT_EQ(Run("00 00 00 0b 00 00 01 08 a1 65 71 75 65 72 79 63 61 62 63"),
            ToHex(FromHex("01 00 00 06 00 00 01 08 bf 62 72 63 05 ff")));
}

TEST_F(OsGroupTest, DateTime) {
  os_.config().datetime = true;
  // get before set -> OS err 4
  EXPECT_EQ(
      Run("08 00 00 01 00 00 01 04 a0"),
      ToHex(FromHex(
          "09 00 00 13 00 00 01 04 bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 63 04 ff ff")));
  // set "2024-05-01T12:34:56"
  EXPECT_EQ(Run("0a 00 00 1e 00 00 01 04 a1 68 64 61 74 65 74 69 6d 65 73 32 30 32 34 2d 30 35 2d "
                "30 31 54 31 32 3a 33 34 3a 35 36"),
            ToHex(FromHex("0b 00 00 02 00 00 01 04 bf ff")));
  EXPECT_EQ(hooks_.rtc.year, 2024);
  EXPECT_EQ(hooks_.rtc.second, 56);
  EXPECT_EQ(Run("08 00 00 01 00 00 01 04 a0"),
            ToHex(FromHex("09 00 00 1f 00 00 01 04 bf 68 64 61 74 65 74 69 6d 65 73 32 30 32 34 2d "
                          "30 35 2d 30 31 54 31 32 3a 33 34 3a 35 36 ff")));
  EXPECT_FALSE(ParseDateTime("2024-13-01T12:34:56", false).ok());
  EXPECT_FALSE(ParseDateTime("2024-05-01T12:34:56.123456+02:00", false).ok());  // > 25 chars
  EXPECT_EQ(ParseDateTime("2024-05-01T12:34:56.789", true)->millisecond, 789);
}

}  // namespace
}  // namespace smpkit::mgmt
