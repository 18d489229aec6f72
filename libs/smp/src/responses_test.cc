#include "smpkit/smp/responses.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/base/hex.h"
#include "smpkit/testing/hex.h"

namespace smpkit::smp {
namespace {

using smpkit::testing::FromHex;

template <typename A>
std::string Encoded(const A& a) {
  std::vector<uint8_t> out(a.EncodedSize());
  auto n = a.Encode(out);
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(*n, out.size());
  return HexEncode(out);
}

// Bytes written by hand from smp-protocol.md §6; the answers Zephyr's MCUmgr server gave in
// the captures are parsed through these types by the client's capture test, and the device's
// writing is replayed against them in the mgmt capture test.
TEST(TypedResponses, OsAnswersBothWays) {
  EXPECT_EQ(Encoded(os::EchoResponse{"hi"}), "a16172626869");
  EXPECT_EQ(Encoded(os::ParamsResponse{2475, 4}),
            "a2686275665f73697a651909ab696275665f636f756e7404");
  EXPECT_EQ(Encoded(os::InfoResponse{"Zephyr"}),
            "a1666f757470757466"
            "5a6570687972");
  // A legacy "rc": 0 next to the entries is skipped; a missing entry names itself.
  const auto legacy = FromHex("bf 62 7263 00 61 72 62 6869 ff");
  auto echo = os::EchoResponse::Parse(legacy);
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->r, "hi");
  const auto only_size = FromHex("a1 68 6275665f73697a65 19 09ab");
  auto params = os::ParamsResponse::Parse(only_size);
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().code(), Errc::kCorrupt);
  EXPECT_NE(params.error().message().find("buf_count"), std::string_view::npos);
}

TEST(TypedResponses, ImageUploadBothWays) {
  EXPECT_EQ(Encoded(img::UploadResponse{512, std::nullopt}), "a1636f6666190200");
  EXPECT_EQ(Encoded(img::UploadResponse{263000, true}),
            "a2636f66661a000403586"
            "56d61746368f5");
  const auto bytes = FromHex("a2 63 6f6666 19 0200 65 6d61746368 f4");
  auto a = img::UploadResponse::Parse(bytes);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->off, 512u);
  EXPECT_EQ(a->match, false);
  const auto no_off = FromHex("a0");
  EXPECT_FALSE(img::UploadResponse::Parse(no_off).ok());
}

TEST(TypedResponses, SettingsAndFileAnswersBothWays) {
  const std::vector<uint8_t> val = {1, 2};
  EXPECT_EQ(Encoded(settings::ReadResponse{val, 64}), "a26376616c420102686d61785f73697a651840");
  const std::vector<uint8_t> data = {'a', 'b'};
  EXPECT_EQ(Encoded(fs::DownloadResponse{0, data, 2}),
            "a3636f66660064646174614261626"
            "3"
            "6c656e02");
  EXPECT_EQ(Encoded(fs::UploadResponse{2}), "a1636f666602");
  EXPECT_EQ(Encoded(fs::StatusResponse{70000}), "a1636c656e1a00011170");
  fs::HashResponse crc;
  crc.type = "crc32";
  crc.len = 2;
  crc.checksum = 0x9e83486d;
  EXPECT_EQ(Encoded(crc),
            "a364747970656563726333"
            "32636c656e02666f75747075741a9e83486d");
  const std::vector<uint8_t> digest(32, 0xab);
  fs::HashResponse sha;
  sha.type = "sha256";
  sha.off = 1;
  sha.len = 1;
  sha.digest = digest;
  auto bytes = FromHex(Encoded(sha));
  auto parsed = fs::HashResponse::Parse(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->type, "sha256");
  EXPECT_EQ(parsed->off, 1u);
  EXPECT_FALSE(parsed->checksum.has_value());
  EXPECT_EQ(parsed->digest.size(), 32u);
  const auto text_output =
      FromHex("a3 64 74797065 65 6372633332 63 6c656e 02 66 6f7574707574 61 78");
  EXPECT_FALSE(fs::HashResponse::Parse(text_output).ok());
}

TEST(TypedResponses, ShellAndEnumAnswersBothWays) {
  EXPECT_EQ(Encoded(shell::ExecResponse{"ok", -8, false}), "a2616f626f6b6372657427");
  EXPECT_EQ(Encoded(shell::ExecResponse{"ok", 0, true}), "a2616f626f6b62726300");
  const auto legacy = FromHex("a2 61 6f 62 6f6b 62 7263 27");
  auto exec = shell::ExecResponse::Parse(legacy);
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ(exec->ret, -8);
  EXPECT_TRUE(exec->legacy_rc);
  EXPECT_EQ(Encoded(enumeration::CountResponse{5}), "a165636f756e7405");
  EXPECT_EQ(Encoded(enumeration::SingleResponse{63, true}), "a26567726f7570183f63656e64f5");
  EXPECT_EQ(Encoded(enumeration::SingleResponse{0, false}), "a16567726f757000");
}

}  // namespace
}  // namespace smpkit::smp
