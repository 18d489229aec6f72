// Enumeration group (group 10) against hand-encoded bytes built from Zephyr's smp_group_10.rst
// (shapes) and enum_mgmt.c (errors, v1 translation), not smpkit's encoder.
#include "smpkit/mgmt/enum_group.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/mgmt/stat_group.h"
#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::RecordingSink;
using testing::ToHex;

std::string Rsp(uint8_t op_ver, uint8_t id, const std::string& payload_hex) {
  return testing::ResponseHex(op_ver, EnumGroup::kGroupId, 1, id, payload_hex);
}

class NoStats : public StatSource {
 public:
  size_t GroupCount() const override { return 0; }
  std::string_view GroupName(size_t) const override { return {}; }
  size_t FieldCount(size_t) const override { return 0; }
  StatField Field(size_t, size_t) const override { return {}; }
};

// A server with the enumeration group and the statistics group, registered in that order.
class EnumGroupTest : public ::testing::Test {
 protected:
  EnumGroupTest() : enum_(EnumGroupConfig{}, registry_), stat_(StatGroupConfig{}, stats_) {
    EXPECT_TRUE(registry_.Register(enum_).ok());
    EXPECT_TRUE(registry_.Register(stat_).ok());
    config_.buf_size = 256;
  }
  std::string Call(const std::string& request_hex) {
    return testing::ProcessHex(registry_, config_, request_hex);
  }
  smp::Registry registry_;
  NoStats stats_;
  EnumGroup enum_;
  StatGroup stat_;
  smp::ServerConfig config_;
};

TEST_F(EnumGroupTest, CountListSingleDetails) {
  EXPECT_EQ(Call("08 00 00 01 00 0a 01 00 a0"), Rsp(0x09, 0, "bf 65 636f756e74 02 ff"));
  EXPECT_EQ(Call("08 00 00 01 00 0a 01 01 a0"), Rsp(0x09, 1, "bf 66 67726f757073 9f 0a 02 ff ff"));
  // No index: the first group; the last one says "end": true.
  EXPECT_EQ(Call("08 00 00 01 00 0a 01 02 a0"), Rsp(0x09, 2, "bf 65 67726f7570 0a ff"));
  EXPECT_EQ(Call("08 00 00 08 00 0a 01 02 a1 65 696e646578 01"),
            Rsp(0x09, 2, "bf 65 67726f7570 02 63 656e64 f5 ff"));
  // Details of all groups: id, name, handler count.
  EXPECT_EQ(Call("08 00 00 01 00 0a 01 03 a0"),
            Rsp(0x09, 3,
                "bf 66 67726f757073 9f"
                " bf 65 67726f7570 0a 64 6e616d65 69 656e756d206d676d74 68 68616e646c657273 04 ff"
                " bf 65 67726f7570 02 64 6e616d65 69 73746174206d676d74 68 68616e646c657273 02 ff"
                " ff ff"));
  // Only the listed ids; an id the server does not have is left out.
  EXPECT_EQ(Call("08 00 00 0c 00 0a 01 03 a1 66 67726f757073 82 02 18 63"),
            Rsp(0x09, 3,
                "bf 66 67726f757073 9f"
                " bf 65 67726f7570 02 64 6e616d65 69 73746174206d676d74 68 68616e646c657273 02 ff"
                " ff ff"));
}

TEST_F(EnumGroupTest, BadRequestsGetZephyrsErrors) {
  // Index past the last group: INDEX_TOO_LARGE (4); v1 translates it to EUNKNOWN (1).
  EXPECT_EQ(Call("08 00 00 08 00 0a 01 02 a1 65 696e646578 02"),
            Rsp(0x09, 2, "bf 63 657272 bf 65 67726f7570 0a 62 7263 04 ff ff"));
  EXPECT_EQ(Call("00 00 00 08 00 0a 01 02 a1 65 696e646578 02"), Rsp(0x01, 2, "bf 62 7263 01 ff"));
  // An index of another type, or above 65535: EINVAL (3).
  EXPECT_EQ(Call("08 00 00 08 00 0a 01 02 a1 65 696e646578 20"), Rsp(0x09, 2, "bf 62 7263 03 ff"));
  EXPECT_EQ(Call("08 00 00 0c 00 0a 01 02 a1 65 696e646578 1a 00010000"),
            Rsp(0x09, 2, "bf 62 7263 03 ff"));
  // Details: "groups" that is not an array, or holds a text: EINVAL; 17 ids: TOO_MANY (2).
  EXPECT_EQ(Call("08 00 00 09 00 0a 01 03 a1 66 67726f757073 01"), Rsp(0x09, 3, "bf 62 7263 03 ff"));
  EXPECT_EQ(Call("08 00 00 0b 00 0a 01 03 a1 66 67726f757073 81 61 78"),
            Rsp(0x09, 3, "bf 62 7263 03 ff"));
  std::string many = "08 00 00 1a 00 0a 01 03 a1 66 67726f757073 91";
  for (int i = 0; i < 17; ++i) many += " 00";
  EXPECT_EQ(Call(many), Rsp(0x09, 3, "bf 63 657272 bf 65 67726f7570 0a 62 7263 02 ff ff"));
  // Writes: rc 8.
  EXPECT_EQ(Call("0a 00 00 01 00 0a 01 00 a0"), Rsp(0x0b, 0, "bf 62 7263 08 ff"));
}

TEST_F(EnumGroupTest, WithoutDetailsTheCommandIsAbsent) {
  EnumGroupConfig c;
  c.details = false;
  smp::Registry r;
  EnumGroup g(c, r);
  ASSERT_TRUE(r.Register(g).ok());
  EXPECT_EQ(testing::ProcessHex(r, config_, "08 00 00 01 00 0a 01 03 a0"),
            Rsp(0x09, 3, "bf 62 7263 08 ff"));
}

}  // namespace
}  // namespace smpkit::mgmt
