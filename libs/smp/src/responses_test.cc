#include "smpkit/smp/responses.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "smpkit/base/hex.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/testing/hex.h"
#include "typed_test_util.h"

namespace smpkit::smp {
namespace {

using smpkit::testing::FromHex;

using smpkit::smp::testing::Encoded;

// What Write puts in the server's map, as the device writes it.
template <typename Fn>
std::vector<uint8_t> Written(Fn&& body) {
  std::vector<uint8_t> out(512);
  cbor::Writer w(out);
  w.BeginMap();
  body(w);
  w.End();
  EXPECT_TRUE(w.ok());
  out.resize(w.size());
  return out;
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
  // Written in place, as the device reads the file into the answer: the same bytes.
  const auto in_place = Written([&](cbor::Writer& w) {
    ByteSpan into = fs::DownloadResponse::WriteInPlace(w, 0, 2);
    ASSERT_EQ(into.size(), 2u);
    std::copy(data.begin(), data.end(), into.begin());
    fs::DownloadResponse::WriteLen(w, 2);
  });
  EXPECT_EQ(HexEncode(in_place), Encoded(fs::DownloadResponse{0, data, 2}));
  EXPECT_EQ(Encoded(fs::UploadResponse{2}), "a1636f666602");
  EXPECT_EQ(Encoded(fs::StatusResponse{70000}), "a1636c656e1a00011170");
  // FILE_OFFSET_NOT_VALID's entries: {"err": {...}, "len": 512}; "err" is skipped here.
  const auto offset_error = FromHex("a2 63 657272 a2 65 67726f7570 08 62 7263 0b 63 6c656e 19 0200");
  auto expected = fs::UploadOffsetResponse::Parse(offset_error);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(expected->len, 512u);
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


TEST(TypedResponses, OsDateTimeAndBootloaderInfoBothWays) {
  EXPECT_EQ(Encoded(os::DateTimeResponse{"2026-12-07T05:30:00"}),
            "a1686461746574696d6573323032362d31322d30375430353a33303a3030");
  os::BootloaderInfoResponse name;
  name.bootloader = "MCUboot";
  EXPECT_EQ(Encoded(name), "a16a626f6f746c6f61646572674d4355626f6f74");
  os::BootloaderInfoResponse mode;
  mode.mode = -1;
  mode.no_downgrade = true;
  EXPECT_EQ(Encoded(mode), "a2646d6f6465206c6e6f2d646f776e6772616465f5");
  const auto neither = FromHex("a0");
  EXPECT_FALSE(os::BootloaderInfoResponse::Parse(neither).ok());
}

// The image state list, written entry by entry as the device does, and walked by the client;
// the entry's bytes are smp-protocol.md §6.4.1's order.
TEST(TypedResponses, ImageStateListBothWays) {
  const std::vector<uint8_t> hash(32, 0x5a);
  img::StateEntry running;
  running.slot = 0;
  running.version = "1.0.0";
  running.hash = hash;
  running.bootable = running.confirmed = running.active = true;
  const auto bytes =
      Written([&](cbor::Writer& w) { img::StateResponse::Write(w, [&] { running.Write(w); }); });
  EXPECT_EQ(HexEncode(bytes),
            "a2"
            "66696d61676573"
            "81a8"  // one entry of 8 pairs
            "64736c6f7400"
            "6776657273696f6e65312e302e30"
            "6468617368"
            "5820" +
                HexEncode(hash) +
                "68626f6f7461626c65f5"
                "6770656e64696e67f4"
                "69636f6e6669726d6564f5"
                "66616374697665f5"
                "697065726d616e656e74f4"
                "6b73706c6974537461747573"
                "00");
  auto parsed = img::StateResponse::Parse(bytes);
  ASSERT_TRUE(parsed.ok());
  std::vector<img::StateEntry> entries;
  ASSERT_TRUE(parsed
                  ->ForEach([&](const img::StateEntry& e) -> Status {
                    entries.push_back(e);
                    return Status();
                  })
                  .ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].image.has_value());
  EXPECT_EQ(entries[0].version, "1.0.0");
  EXPECT_TRUE(entries[0].confirmed);
  EXPECT_FALSE(entries[0].pending);
  // An entry that does not parse fails the walk; fn's error stops it.
  const auto bad_entry = FromHex("a1 66 696d61676573 81 a1 64 736c6f74 f5");
  parsed = img::StateResponse::Parse(bad_entry);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->ForEach([](const img::StateEntry&) { return Status(); }).ok());
}

TEST(TypedResponses, SlotInfoTaskStatsStatsHashTypesAndGroupsRoundTrip) {
  const auto slots = Written([](cbor::Writer& w) {
    img::SlotInfoResponse::Write(w, [&] {
      img::SlotInfoImage::Write(w, 0, 0x6c000, [&] {
        img::SlotInfoSlot{0, 0x70000, std::nullopt}.Write(w);
        img::SlotInfoSlot{1, 0x70000, 0}.Write(w);
      });
    });
  });
  auto si = img::SlotInfoResponse::Parse(slots);
  ASSERT_TRUE(si.ok());
  int seen = 0;
  ASSERT_TRUE(si->ForEach([&](const img::SlotInfoImage& image) -> Status {
                  EXPECT_EQ(image.max_image_size, 0x6c000u);
                  return image.ForEachSlot([&](const img::SlotInfoSlot& slot) -> Status {
                    EXPECT_EQ(slot.slot, static_cast<uint64_t>(seen));
                    EXPECT_EQ(slot.upload_image_id.has_value(), seen == 1);
                    ++seen;
                    return Status();
                  });
                }).ok());
  EXPECT_EQ(seen, 2);

  // Task names may repeat (Zephyr 4.1 names tasks by priority).
  const auto tasks = Written([](cbor::Writer& w) {
    os::TaskStatResponse::Write(w, [&] {
      for (int i = 0; i < 2; ++i) {
        os::TaskStatEntry t;
        t.name = "15";
        t.prio = -1 - i;
        t.stkuse = 10;
        t.Write(w);
      }
    });
  });
  auto ts = os::TaskStatResponse::Parse(tasks);
  ASSERT_TRUE(ts.ok());
  std::vector<int64_t> prios;
  ASSERT_TRUE(ts->ForEach([&](const os::TaskStatEntry& t) -> Status {
                  EXPECT_EQ(t.name, "15");
                  EXPECT_EQ(t.stkuse, 10u);
                  EXPECT_FALSE(t.tid.has_value());
                  prios.push_back(*t.prio);
                  return Status();
                }).ok());
  EXPECT_EQ(prios, (std::vector<int64_t>{-1, -2}));

  const auto show = Written([](cbor::Writer& w) {
    stat::ShowResponse::Write(w, "smp", [&] { w.Key("rx").Uint(3).Key("tx").Uint(4); });
  });
  auto sh = stat::ShowResponse::Parse(show);
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->name, "smp");
  uint64_t sum = 0;
  ASSERT_TRUE(sh->ForEachField([&](std::string_view, uint64_t v) -> Status {
                  sum += v;
                  return Status();
                }).ok());
  EXPECT_EQ(sum, 7u);
  const auto signed_field = FromHex("a2 64 6e616d65 61 67 66 6669656c6473 a1 61 61 20");
  sh = stat::ShowResponse::Parse(signed_field);
  ASSERT_TRUE(sh.ok());
  EXPECT_FALSE(sh->ForEachField([](std::string_view, uint64_t) { return Status(); }).ok());

  const auto list = Written(
      [](cbor::Writer& w) { stat::ListResponse::Write(w, [&] { w.Text("smp").Text("ble"); }); });
  auto sl = stat::ListResponse::Parse(list);
  ASSERT_TRUE(sl.ok());
  std::string names;
  ASSERT_TRUE(sl->ForEach([&](std::string_view n) -> Status {
                  names += std::string(n) + ",";
                  return Status();
                }).ok());
  EXPECT_EQ(names, "smp,ble,");

  const auto hashes = Written([](cbor::Writer& w) {
    fs::SupportedHashesResponse::Write(w, [&] {
      fs::HashTypeEntry{"crc32", 0, 4}.Write(w);
      fs::HashTypeEntry{"sha256", 1, 32}.Write(w);
    });
  });
  EXPECT_EQ(HexEncode(hashes),
            "a1657479706573a2"
            "6563726333"
            "32a266666f726d6174006473697a6504"
            "66736861323536a266666f726d6174016473697a651820");
  auto sup = fs::SupportedHashesResponse::Parse(hashes);
  ASSERT_TRUE(sup.ok());
  uint64_t sizes = 0;
  ASSERT_TRUE(sup->ForEach([&](const fs::HashTypeEntry& e) -> Status {
                   sizes += e.size;
                   return Status();
                 })
                  .ok());
  EXPECT_EQ(sizes, 36u);

  const auto details = Written([](cbor::Writer& w) {
    enumeration::DetailsResponse::Write(w, [&] {
      enumeration::DetailsEntry e;
      e.group = 1;
      e.name = "img mgmt";
      e.handlers = 4;
      e.Write(w);
    });
  });
  auto de = enumeration::DetailsResponse::Parse(details);
  ASSERT_TRUE(de.ok());
  ASSERT_TRUE(de->ForEach([](const enumeration::DetailsEntry& e) -> Status {
                  EXPECT_EQ(e.group, 1u);
                  EXPECT_EQ(e.name, "img mgmt");
                  EXPECT_EQ(e.handlers, 4u);
                  return Status();
                }).ok());
  const auto ids = Written([](cbor::Writer& w) {
    enumeration::ListResponse::Write(w, [&] { w.Uint(0).Uint(1).Uint(63); });
  });
  EXPECT_EQ(HexEncode(ids),
            "a16667726f7570738300"
            "01183f");
  const auto text_id = FromHex("a1 66 67726f757073 81 61 61");
  auto el = enumeration::ListResponse::Parse(text_id);
  ASSERT_TRUE(el.ok());
  EXPECT_FALSE(el->ForEach([](uint64_t) { return Status(); }).ok());
}

}  // namespace
}  // namespace smpkit::smp
