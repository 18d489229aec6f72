#include "smpkit/smp/requests.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/base/hex.h"
#include "smpkit/testing/hex.h"
#include "typed_test_util.h"

namespace smpkit::smp {
namespace {

using smpkit::testing::FromHex;

using smpkit::smp::testing::Encoded;

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

TEST(TypedRequests, StatShowAndSettingsBothWays) {
  stat::ShowRequest show;
  show.name = "g";
  EXPECT_EQ(Encoded(show), "a1646e616d656167");
  EXPECT_EQ(Encoded(stat::ShowRequest{}), "a0");
  const auto no_name = FromHex("a0");
  auto parsed_show = stat::ShowRequest::Parse(no_name);
  ASSERT_TRUE(parsed_show.ok());
  EXPECT_FALSE(parsed_show->name.has_value());  // the device answers EINVAL

  settings::ReadRequest read;
  read.name = "a/b";
  read.max_size = 100;
  EXPECT_EQ(Encoded(read), "a2646e616d6563612f62686d61785f73697a651864");
  const std::vector<uint8_t> val = {1, 2};
  EXPECT_EQ(Encoded(settings::WriteRequest{"k", val}), "a2646e616d65616b6376616c420102");
  EXPECT_EQ(Encoded(settings::DeleteRequest{"k"}), "a1646e616d65616b");
  // Each command reads only its own keys, as Zephyr's: a read skips a "val" of any type.
  const auto read_bytes = FromHex("a2 64 6e616d65 61 6b 63 76616c 01");
  auto r = settings::ReadRequest::Parse(read_bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "k");
  EXPECT_FALSE(r->max_size.has_value());
  EXPECT_FALSE(settings::WriteRequest::Parse(read_bytes).ok());  // "val" not a bstr
}

TEST(TypedRequests, FileRequestsBothWays) {
  fs::DownloadRequest dl;
  dl.off = 0;
  dl.name = "/lfs/a";
  EXPECT_EQ(Encoded(dl), "a2636f666600646e616d65662f6c66732f61");
  const std::vector<uint8_t> xy = {'x', 'y'};
  fs::UploadRequest up;
  up.off = 0;
  up.data = xy;
  up.name = "/lfs/a";
  up.len = 2;
  EXPECT_EQ(Encoded(up),
            "a4636f666600646461746142787964"
            "6e616d65662f6c66732f61636c656e02");
  EXPECT_EQ(Encoded(fs::StatusRequest{"/lfs/a"}), "a1646e616d65662f6c66732f61");
  fs::HashRequest hash;
  hash.name = "/lfs/a";
  hash.type = "sha256";
  hash.off = 16;
  hash.len = 1000;
  EXPECT_EQ(Encoded(hash),
            "a4646e616d65662f6c66732f61"
            "6474797065667368613235366"
            "3"
            "6f666610636c656e1903e8");
  fs::HashRequest defaults;  // the device's first type, the whole file
  defaults.name = "/lfs/a";
  EXPECT_EQ(Encoded(defaults), "a1646e616d65662f6c66732f61");
  const auto later = FromHex("a3 63 6f6666 19 0400 64 6e616d65 61 66 64 64617461 41 00");
  auto p = fs::UploadRequest::Parse(later);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->off, 1024u);
  EXPECT_EQ(p->name, "f");
  EXPECT_EQ(p->data.size(), 1u);
  EXPECT_FALSE(p->len.has_value());
}

// The data that fits is the most whose request stays within the limit, across the bstr
// head's steps (1, 2, 3 and 5 bytes).
TEST(TypedRequests, FileUploadDataFitIsExact) {
  fs::UploadRequest base;
  base.off = 70000;
  base.name = "/lfs/file.bin";
  std::vector<uint8_t> data(70000);
  for (size_t limit = 10; limit < 70000; limit += limit < 400 ? 1 : 997) {
    const size_t fit = fs::UploadDataFit(base, limit);
    fs::UploadRequest r = base;
    r.data = ConstByteSpan(data.data(), fit);
    if (fit > 0) {
      EXPECT_LE(r.EncodedSize(), limit) << limit;
    }
    r.data = ConstByteSpan(data.data(), fit + 1);
    EXPECT_GT(r.EncodedSize(), limit) << limit;
  }
}

TEST(TypedRequests, ShellExecBothWays) {
  const std::string_view argv[] = {"echo", "hi"};
  shell::ExecRequest exec;
  exec.argv = argv;
  EXPECT_EQ(Encoded(exec), "a1646172677682646563686f626869");

  auto args = [](const shell::ExecRequest& r) {
    std::vector<std::string> out;
    r.ForEachArg([&](std::string_view a) {
      out.emplace_back(a);
      return true;
    });
    return out;
  };
  // Indefinite containers; the line ends at the first element that is not text.
  const auto ended = FromHex("bf 64 61726776 9f 64 6563686f 01 62 6869 ff ff");
  auto r = shell::ExecRequest::Parse(ended);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(args(*r), std::vector<std::string>{"echo"});
  // Only the first "argv" counts.
  const auto twice = FromHex("a2 64 61726776 81 61 61 64 61726776 81 61 62");
  r = shell::ExecRequest::Parse(twice);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(args(*r), std::vector<std::string>{"a"});
  const auto invalid_utf8 = FromHex("a1 64 61726776 82 61 61 61 ff");
  r = shell::ExecRequest::Parse(invalid_utf8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(args(*r), std::vector<std::string>{"a"});
  for (const char* bad : {"a0", "a1 01 02", "a1 64 61726776 61 61", "a1 64 61726776 82 61 61"}) {
    const auto bytes = FromHex(bad);
    EXPECT_FALSE(shell::ExecRequest::Parse(bytes).ok()) << bad;
  }
}

TEST(TypedRequests, EnumSingleAndDetailsBothWays) {
  EXPECT_EQ(Encoded(enumeration::SingleRequest{3}), "a165696e64657803");
  const uint16_t groups[] = {0, 1, 64};
  enumeration::DetailsRequest details;
  details.groups = groups;
  EXPECT_EQ(Encoded(details), "a16667726f7570738300011840");
  EXPECT_EQ(Encoded(enumeration::DetailsRequest{}), "a0");

  const auto mixed = FromHex("a1 66 67726f757073 9f 00 61 61 ff");
  auto r = enumeration::DetailsRequest::Parse(mixed);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_groups());
  EXPECT_EQ(r->CountGroups().value(), 2u);  // counted whatever the entries are
  EXPECT_EQ(r->GroupAt(0).value(), 0u);
  EXPECT_FALSE(r->GroupAt(1).ok());  // a text entry is no id
  const auto not_array = FromHex("a1 66 67726f757073 01");
  r = enumeration::DetailsRequest::Parse(not_array);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->CountGroups().ok());
  const auto none = FromHex("a0");
  r = enumeration::DetailsRequest::Parse(none);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_groups());
}

}  // namespace
}  // namespace smpkit::smp
