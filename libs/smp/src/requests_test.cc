#include "smpkit/smp/requests.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/base/hex.h"
#include "smpkit/testing/hex.h"

namespace smpkit::smp {
namespace {

using smpkit::testing::FromHex;

template <typename R>
std::string Encoded(const R& r) {
  std::vector<uint8_t> out(r.EncodedSize());
  auto n = r.Encode(out);
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(*n, out.size());
  return HexEncode(out);
}

// The bytes are written by hand from smp-protocol.md §6 (definite maps, as smpmgr sends).
TEST(TypedRequests, EchoBothWays) {
  EXPECT_EQ(Encoded(os::EchoRequest{"hello"}),
            "a1616465"
            "68656c6c6f");
  const auto indefinite = FromHex("bf 61 64 65 68 65 6c 6c 6f ff");
  auto r = os::EchoRequest::Parse(indefinite);  // d points into `indefinite`
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->d, "hello");
  EXPECT_FALSE(os::EchoRequest::Parse(FromHex("a1 61 64 01")).ok());  // "d" not text
}

TEST(TypedRequests, ResetBothWays) {
  EXPECT_EQ(Encoded(os::ResetRequest{}), "a0");
  os::ResetRequest forced;
  forced.force = true;
  EXPECT_EQ(Encoded(forced), "a165666f726365f5");
  auto r = os::ResetRequest::Parse(FromHex("a2 69 626f6f745f6d6f6465 01 65 666f726365 f5"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->force);
  EXPECT_EQ(r->boot_mode, 1u);
  EXPECT_FALSE(os::ResetRequest::Parse(FromHex("a1 65 666f726365 01")).ok());  // not a bool
}

TEST(TypedRequests, ImageStateWriteBothWays) {
  img::StateWriteRequest confirm_running;
  confirm_running.confirm = true;
  EXPECT_EQ(Encoded(confirm_running), "a167636f6e6669726df5");
  const std::vector<uint8_t> hash(32, 0x11);
  img::StateWriteRequest test;
  test.hash = ConstByteSpan(hash);
  EXPECT_EQ(Encoded(test),
            "a2646861736858"
            "20" +
                std::string(64, '1') + "67636f6e6669726df4");
  const auto bytes = FromHex("a1 64 68617368 43 010203");
  auto r = img::StateWriteRequest::Parse(bytes);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->hash.has_value());
  EXPECT_EQ(r->hash->size(), 3u);
  EXPECT_FALSE(r->confirm);
}

TEST(TypedRequests, ImageEraseBothWays) {
  EXPECT_EQ(Encoded(img::EraseRequest{}), "a0");
  img::EraseRequest slot1;
  slot1.slot = 1;
  EXPECT_EQ(Encoded(slot1), "a164736c6f7401");
  const auto bytes = FromHex("a1 64 736c6f74 00");
  auto r = img::EraseRequest::Parse(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->slot, 0u);
  const auto bad = FromHex("a1 64 736c6f74 f5");  // "slot": true
  EXPECT_FALSE(img::EraseRequest::Parse(bad).ok());
}

TEST(TypedRequests, OsDateTimeInfoAndBootloaderInfoBothWays) {
  os::DateTimeWriteRequest dt;
  dt.datetime = "2026-12-07T04:50:00";
  // {"datetime": "2026-12-07T04:50:00"}: an 8-byte key, a 19-byte text.
  EXPECT_EQ(Encoded(dt),
            "a168"
            "6461746574696d65"
            "73"
            "323032362d31322d30375430343a35303a3030");
  EXPECT_EQ(Encoded(os::InfoRequest{"sv"}),
            "a166666f726d61746273"
            "76");
  os::BootloaderInfoRequest mode;
  mode.query = "mode";
  EXPECT_EQ(Encoded(mode),
            "a16571756572796"
            "4"
            "6d6f6465");
  EXPECT_EQ(Encoded(os::BootloaderInfoRequest{}), "a0");
  const auto empty = FromHex("a0");
  auto none = os::DateTimeWriteRequest::Parse(empty);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->datetime.has_value());  // the device answers rc 3
  auto info = os::InfoRequest::Parse(empty);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->format.empty());  // the device reads it as "s"
  const auto not_text = FromHex("a1 65 7175657279 01");
  EXPECT_FALSE(os::BootloaderInfoRequest::Parse(not_text).ok());
}

}  // namespace
}  // namespace smpkit::smp
