// Statistics group (group 2) against hand-encoded bytes built from Zephyr's smp_group_2.rst
// (request and response shapes) and stat_mgmt.c (errors, v1 translation), not smpkit's
// encoder; the captured stat-list exchanges replay in capture_replay_test.cc.
#include "smpkit/mgmt/stat_group.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::RecordingSink;
using testing::ToHex;

// A response frame: the 8-byte header (its length field from the hand-written CBOR payload).
std::string Rsp(uint8_t op_ver, uint8_t seq, uint8_t id, const std::string& payload_hex) {
  return testing::ResponseHex(op_ver, StatGroup::kGroupId, seq, id, payload_hex);
}

// The smp_svr sample's own group: one counter, "ticks".
class SampleStats : public StatSource {
 public:
  size_t GroupCount() const override { return 2; }
  std::string_view GroupName(size_t g) const override {
    return g == 0 ? "smp_svr_stats" : "empty";
  }
  size_t FieldCount(size_t g) const override { return g == 0 ? 1 : 0; }
  StatField Field(size_t, size_t) const override { return {"ticks", ticks}; }
  uint32_t ticks = 7;
};

class StatGroupTest : public ::testing::Test {
 protected:
  StatGroupTest() : group_(StatGroupConfig{}, stats_) {
    EXPECT_TRUE(registry_.Register(group_).ok());
    config_.buf_size = 256;
  }
  std::string Call(const std::string& request_hex) {
    return testing::ProcessHex(registry_, config_, request_hex);
  }
  SampleStats stats_;
  StatGroup group_;
  smp::Registry registry_;
  smp::ServerConfig config_;
};

TEST_F(StatGroupTest, ListAsZephyr41) {
  // v2 read, group 2, command 1, {} -> {"stat_list": ["smp_svr_stats", "empty"]}
  EXPECT_EQ(Call("08 00 00 01 00 02 05 01 a0"),
            Rsp(0x09, 5, 1,
                "bf 69 737461745f6c697374 9f 6d 736d705f7376725f7374617473 65 656d707479 ff ff"));
}

TEST_F(StatGroupTest, ShowGivesTheGroupsFieldsAsUints) {
  // {"name": "smp_svr_stats"} -> {"name": "smp_svr_stats", "fields": {"ticks": 7}}
  const std::string name = "6d 736d705f7376725f7374617473";
  const std::string request = "08 00 00 14 00 02 06 00 a1 64 6e616d65 " + name;
  EXPECT_EQ(Call(request),
            Rsp(0x09, 6, 0, "bf 64 6e616d65 " + name + " 66 666965 6c6473 bf 65 7469636b73 07 ff ff"));
  stats_.ticks = 300;  // a two-byte uint: 19 012c
  EXPECT_EQ(Call(request), Rsp(0x09, 6, 0,
                               "bf 64 6e616d65 " + name +
                                   " 66 666965 6c6473 bf 65 7469636b73 19 012c ff ff"));
  // A group without counters: an empty fields map.
  EXPECT_EQ(Call("08 00 00 0c 00 02 06 00 a1 64 6e616d65 65 656d707479"),
            Rsp(0x09, 6, 0, "bf 64 6e616d65 65 656d707479 66 666965 6c6473 bf ff ff"));
}

TEST_F(StatGroupTest, BadRequestsGetZephyrsErrors) {
  // No name, an empty name, a name of another type: EINVAL (rc 3).
  const std::string einval_v2 = "0900000600020600 bf 627263 03 ff";
  EXPECT_EQ(Call("08 00 00 01 00 02 06 00 a0"), ToHex(FromHex(einval_v2)));
  EXPECT_EQ(Call("08 00 00 06 00 02 06 00 a1 64 6e616d65 60"), ToHex(FromHex(einval_v2)));
  EXPECT_EQ(Call("08 00 00 07 00 02 06 00 a1 64 6e616d65 01"), ToHex(FromHex(einval_v2)));
  // A name of CONFIG_MCUMGR_GRP_STAT_MAX_NAME_LEN (32) characters or more: EINVAL.
  std::string hex = "08 00 00 28 00 02 06 00 a1 64 6e616d65 78 20";  // 40 bytes of CBOR
  for (int i = 0; i < 32; ++i) hex += "61";
  EXPECT_EQ(Call(hex), ToHex(FromHex(einval_v2)));
  // 31 characters fit: looked up (and not found).
  hex = "08 00 00 27 00 02 06 00 a1 64 6e616d65 78 1f";  // 39 bytes
  for (int i = 0; i < 31; ++i) hex += "61";
  EXPECT_EQ(Call(hex), Rsp(0x09, 6, 0, "bf 63 657272 bf 65 67726f7570 02 62 7263 03 ff ff"));
  // An unknown group name: the group's INVALID_STAT_NAME (3) in v2, ENOENT (5) in v1.
  EXPECT_EQ(Call("08 00 00 0b 00 02 06 00 a1 64 6e616d65 64 6e6f7065"),
            Rsp(0x09, 6, 0, "bf 63 657272 bf 65 67726f7570 02 62 7263 03 ff ff"));
  EXPECT_EQ(Call("00 00 00 0b 00 02 06 00 a1 64 6e616d65 64 6e6f7065"),
            Rsp(0x01, 6, 0, "bf 62 7263 05 ff"));
  // Writes are not handled: rc 8.
  EXPECT_EQ(Call("0a 00 00 01 00 02 06 01 a0"), Rsp(0x0b, 6, 1, "bf 62 7263 08 ff"));
}

TEST_F(StatGroupTest, Zephyr34PutsRcZeroFirst) {
  StatGroupConfig c;
  c.list_rc0 = true;
  StatGroup legacy(c, stats_);
  smp::Registry r;
  ASSERT_TRUE(r.Register(legacy).ok());
  EXPECT_EQ(testing::ProcessHex(r, config_, "00 00 00 01 00 02 05 01 a0"),
            Rsp(0x01, 5, 1,
                "bf 62 7263 00 69 737461745f6c697374 9f 6d 736d705f7376725f7374617473 65 "
                "656d707479 ff ff"));
}

TEST_F(StatGroupTest, ServerCountsRequestsAndErrorsPerGroup) {
  smp::Server server(registry_, config_);
  RecordingSink sink;
  uint8_t scratch[256];
  server.Process(FromHex("08 00 00 01 00 02 05 01 a0"), scratch, sink);                     // ok
  server.Process(FromHex("08 00 00 0b 00 02 06 00 a1 64 6e616d65 64 6e6f7065"), scratch, sink);  // err
  server.Process(FromHex("08 00 00 01 00 00 07 00 a0"), scratch, sink);  // no OS group: rc 8
  EXPECT_EQ(server.stats().requests, 3u);
  EXPECT_EQ(server.stats().errors, 2u);
  EXPECT_EQ(server.stats().group_requests[2], 2u);
  EXPECT_EQ(server.stats().group_errors[2], 1u);
  EXPECT_EQ(server.stats().group_errors[0], 1u);
}

}  // namespace
}  // namespace smpkit::mgmt
