// Settings management group (group 3) against hand-encoded bytes built from Zephyr's
// smp_group_3.rst and settings_mgmt.c (3.5 to 4.2: key order, max_size, the errno mapping per
// command, v1 translation, results of commit/load/save ignored) and its settings_mgmt test.
#include "smpkit/mgmt/settings_group.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "test_util.h"

namespace smpkit::mgmt {
namespace {

std::string Frame(uint8_t op_ver, uint8_t id, const std::string& payload_hex) {
  return testing::ResponseHex(op_ver, SettingsGroup::kGroupId, 1, id, payload_hex);
}
const std::string kName = "64 6e616d65 ";
const std::string kVal = "63 76616c ";
const std::string kMaxSize = "68 6d61785f73697a65 ";
std::string GroupErr(int rc) {
  return "bf 63 657272 bf 65 67726f7570 03 62 7263 0" + std::to_string(rc) + " ff ff";
}

// Zephyr's test handler "test_val": one 4-byte value; others: no root handler.
class Backend : public SettingsBackend {
 public:
  int RuntimeGet(std::string_view name, ByteSpan out) override {
    ++gets;
    if (name.substr(0, 3) == "ro/") return kEnotsup;
    if (name.substr(0, 5) != "test/") return kEinval;
    auto it = values.find(std::string(name));
    if (it == values.end()) return kEnoent;
    const size_t n = std::min(out.size(), it->second.size());
    std::copy(it->second.begin(), it->second.begin() + static_cast<long>(n), out.begin());
    return static_cast<int>(n);
  }
  int RuntimeSet(std::string_view name, ConstByteSpan v) override {
    if (name.substr(0, 3) == "ro/") return kEnotsup;
    if (name.substr(0, 5) != "test/") return kEinval;
    values[std::string(name)] = std::vector<uint8_t>(v.begin(), v.end());
    return 0;
  }
  int Delete(std::string_view name) override {
    deleted.push_back(std::string(name));
    return name == "nostore/x" ? kEnoent : 0;
  }
  int Commit() override {
    ++commits;
    return -5;
  }  // ignored by the group
  int Load() override {
    ++loads;
    return -5;
  }
  int Save() override {
    ++saves;
    return kEnoent;
  }
  std::map<std::string, std::vector<uint8_t>> values;
  std::vector<std::string> deleted;
  int gets = 0, commits = 0, loads = 0, saves = 0;
};

class SettingsGroupTest : public ::testing::Test {
 protected:
  SettingsGroupTest() : group_(SettingsGroupConfig{}, backend_) {
    EXPECT_TRUE(registry_.Register(group_).ok());
    config_.buf_size = 256;
    backend_.values["test/val"] = {0x01, 0x02, 0x03, 0x04};
  }
  std::string Call(const std::string& hex) { return testing::ProcessHex(registry_, config_, hex); }
  Backend backend_;
  SettingsGroup group_;
  smp::Registry registry_;
  smp::ServerConfig config_;
};

const std::string kTestVal = "68 746573742f76616c ";  // "test/val"

TEST_F(SettingsGroupTest, ReadWithAndWithoutMaxSize) {
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + kTestVal)),
            Frame(0x09, 0, "bf " + kVal + "44 01020304 ff"));
  // max_size 2: cut to 2 bytes, nothing said.
  EXPECT_EQ(Call(Frame(0x08, 0, "a2 " + kName + kTestVal + kMaxSize + "02")),
            Frame(0x09, 0, "bf " + kVal + "42 0102 ff"));
  // max_size above CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN (32): lowered, and said after "val".
  EXPECT_EQ(Call(Frame(0x08, 0, "a2 " + kName + kTestVal + kMaxSize + "19 0fb3")),
            Frame(0x09, 0, "bf " + kVal + "44 01020304 " + kMaxSize + "18 20 ff"));
}

TEST_F(SettingsGroupTest, WriteIsRuntimeOnlyAndTheOtherCommandsAnswerEmptyMaps) {
  EXPECT_EQ(Call(Frame(0x0a, 0, "a2 " + kName + kTestVal + kVal + "42 aabb")),
            Frame(0x0b, 0, "bf ff"));
  EXPECT_EQ(backend_.values["test/val"], (std::vector<uint8_t>{0xaa, 0xbb}));
  // No "val": a zero-length value.
  EXPECT_EQ(Call(Frame(0x0a, 0, "a1 " + kName + kTestVal)), Frame(0x0b, 0, "bf ff"));
  EXPECT_TRUE(backend_.values["test/val"].empty());
  EXPECT_EQ(Call(Frame(0x0a, 1, "a1 " + kName + kTestVal)), Frame(0x0b, 1, "bf ff"));
  EXPECT_EQ(backend_.deleted, (std::vector<std::string>{"test/val"}));
  // Commit, load and save: an empty map whatever the settings API said.
  EXPECT_EQ(Call(Frame(0x0a, 2, "a0")), Frame(0x0b, 2, "bf ff"));
  EXPECT_EQ(Call(Frame(0x08, 3, "a0")), Frame(0x09, 3, "bf ff"));
  EXPECT_EQ(Call(Frame(0x0a, 3, "a0")), Frame(0x0b, 3, "bf ff"));
  EXPECT_EQ(backend_.commits + backend_.loads + backend_.saves, 3);
  // Reads of delete and commit: no handler.
  EXPECT_EQ(Call(Frame(0x08, 1, "a1 " + kName + kTestVal)), Frame(0x09, 1, "bf 62 7263 08 ff"));
  EXPECT_EQ(Call(Frame(0x08, 2, "a0")), Frame(0x09, 2, "bf 62 7263 08 ff"));
}

TEST_F(SettingsGroupTest, ErrorsAsSettingsMgmtMapsThem) {
  // Missing or empty name, name of another type, max_size of another type: EINVAL.
  const std::string einval = Frame(0x09, 0, "bf 62 7263 03 ff");
  EXPECT_EQ(Call(Frame(0x08, 0, "a0")), einval);
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "60")), einval);
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "01")), einval);
  EXPECT_EQ(Call(Frame(0x08, 0, "a2 " + kName + kTestVal + kMaxSize + "20")), einval);
  // A name of NAME_LEN (32) bytes or more: KEY_TOO_LONG; 31 is fine (no such key).
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "78 20 " + std::string(64, '6') /* 32 x 'f' */)),
            Frame(0x09, 0, GroupErr(2)));
  const std::string name31 = "74657374 2f " + std::string(52, '6');  // "test/" + 26 x 'f'
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "78 1f " + name31)), Frame(0x09, 0, GroupErr(3)));
  // No root handler: ROOT_KEY_NOT_FOUND; no such key: KEY_NOT_FOUND; no h_get: READ_NOT_SUPPORTED.
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "63 782f79")), Frame(0x09, 0, GroupErr(5)));
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "66 746573742f78")), Frame(0x09, 0, GroupErr(3)));
  EXPECT_EQ(Call(Frame(0x08, 0, "a1 " + kName + "64 726f2f78")), Frame(0x09, 0, GroupErr(4)));
  // Writes: WRITE_NOT_SUPPORTED; deletes without storage: KEY_NOT_FOUND.
  EXPECT_EQ(Call(Frame(0x0a, 0, "a2 " + kName + "64 726f2f78 " + kVal + "40")),
            Frame(0x0b, 0, GroupErr(6)));
  EXPECT_EQ(Call(Frame(0x0a, 1, "a1 " + kName + "69 6e6f73746f72652f78")),
            Frame(0x0b, 1, GroupErr(3)));
  // v1: KEY_NOT_FOUND -> ENOENT, KEY_TOO_LONG -> EINVAL, ROOT_KEY_NOT_FOUND -> EUNKNOWN.
  EXPECT_EQ(Call(Frame(0x00, 0, "a1 " + kName + "66 746573742f78")),
            Frame(0x01, 0, "bf 62 7263 05 ff"));
  EXPECT_EQ(Call(Frame(0x00, 0, "a1 " + kName + "78 20 " + std::string(64, '6'))),
            Frame(0x01, 0, "bf 62 7263 03 ff"));
  EXPECT_EQ(Call(Frame(0x00, 0, "a1 " + kName + "63 782f79")), Frame(0x01, 0, "bf 62 7263 01 ff"));
}

}  // namespace
}  // namespace smpkit::mgmt
