// The whole DFU flow against the in-process device, with raw SMP frames: upload a vector
// image, test, reset (the bootloader swaps), confirm; then an unconfirmed test reverts.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "smpkit/cbor/reader.h"
#include "smpkit/device/device.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/frame_collector.h"
#include "smpkit/smp/message.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::device {
namespace {

using smpkit::testing::ReadVector;

using Capture = smp::FrameCollector;

class DeviceTest : public ::testing::Test {
 protected:
  DeviceTest() : flash_(Config().Geometry()), dev_(flash_, Config()) {}
  static DeviceConfig Config() {
    DeviceConfig c;
    c.slot_size = 0x20000;
    c.server.buf_size = 1024;
    return c;
  }
  void SetUp() override {
    auto factory = MakeFactoryImage("1.0.0", 3000);
    ASSERT_TRUE(factory.ok());
    ASSERT_TRUE(dev_.Provision(*factory).ok());
    auto boot = dev_.Boot();
    ASSERT_TRUE(boot.ok()) << boot.error().message();
  }
  template <typename Body>
  smp::Response Send(uint8_t op, uint16_t group, uint8_t id, Body&& body) {
    smp::Header h;
    h.op = op;
    h.group = group;
    h.id = id;
    h.seq = seq_++;
    auto frame = smp::BuildFrame(h, buf_, body);
    EXPECT_TRUE(frame.ok());
    Capture cap;
    dev_.HandlePacket(*frame, cap);
    EXPECT_EQ(cap.frames.size(), 1u);
    last_ = cap.frames.empty() ? std::vector<uint8_t>{} : cap.frames.back();
    auto r = smp::ParseResponse(last_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : smp::Response{};
  }
  uint64_t Upload(const std::vector<uint8_t>& image, size_t chunk) {
    uint64_t off = 0;
    while (off < image.size()) {
      const size_t n = std::min(chunk, image.size() - off);
      auto r = Send(2, 1, 1, [&](cbor::Writer& w) {
        if (off == 0) w.Key("image").Uint(0).Key("len").Uint(image.size());
        w.Key("off").Uint(off).Key("data").Bytes(ConstByteSpan(image.data() + off, n));
      });
      EXPECT_TRUE(r.ok());
      uint64_t next = 0;
      EXPECT_TRUE(cbor::DecodeMap(r.payload, {cbor::UintField("off", &next)}).ok());
      EXPECT_EQ(next, off + n);
      off = next;
    }
    return off;
  }
  void Reset() {
    auto r = Send(2, 0, 5, [](cbor::Writer&) {});
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(dev_.reset_requested());
    auto boot = dev_.Boot();
    ASSERT_TRUE(boot.ok()) << boot.error().message();
  }
  const mcuboot::ImageSlotState* Slot(const mcuboot::ImageStateList& list, uint8_t slot) {
    for (const auto& s : list.view())
      if (s.slot == slot) return &s;
    return nullptr;
  }

  flash::RamFlash flash_;
  Device dev_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(1024);
  std::vector<uint8_t> last_;
  uint8_t seq_ = 0;
};

TEST_F(DeviceTest, UploadTestResetConfirmThenRevert) {
  const auto image = ReadVector("mcuboot/unsigned-hashonly.bin");
  auto parsed = mcuboot::Parse(image);
  ASSERT_TRUE(parsed.ok());
  auto hash = mcuboot::StoredHash(*parsed);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(Upload(image, 700), image.size());

  auto state = dev_.ImageState();
  ASSERT_TRUE(state.ok());
  const auto* s1 = Slot(*state, 1);
  ASSERT_NE(s1, nullptr);
  EXPECT_TRUE(std::equal(s1->hash.begin(), s1->hash.end(), hash->view().begin()));

  // test
  auto t = Send(2, 1, 0, [&](cbor::Writer& w) { w.Key("hash").Bytes(hash->view()).Key("confirm").Bool(false); });
  ASSERT_TRUE(t.ok());
  Reset();
  state = dev_.ImageState();
  const auto* active = Slot(*state, 0);
  ASSERT_NE(active, nullptr);
  EXPECT_TRUE(active->active);
  EXPECT_FALSE(active->confirmed);  // running the test image
  EXPECT_TRUE(std::equal(active->hash.begin(), active->hash.end(), hash->view().begin()));
  // confirm
  auto c = Send(2, 1, 0, [](cbor::Writer& w) { w.Key("confirm").Bool(true); });
  ASSERT_TRUE(c.ok());
  state = dev_.ImageState();
  EXPECT_TRUE(Slot(*state, 0)->confirmed);
  Reset();
  state = dev_.ImageState();
  EXPECT_TRUE(std::equal(Slot(*state, 0)->hash.begin(), Slot(*state, 0)->hash.end(),
                         hash->view().begin()));  // permanent

  // A second upgrade (back to a 1.0.1 image) tested but never confirmed reverts.
  auto other = MakeFactoryImage("1.0.1", 2000, 7);
  ASSERT_TRUE(other.ok());
  auto other_parsed = mcuboot::Parse(*other);
  auto other_hash = mcuboot::StoredHash(*other_parsed);
  EXPECT_EQ(Upload(*other, 500), other->size());
  ASSERT_TRUE(Send(2, 1, 0, [&](cbor::Writer& w) {
                w.Key("hash").Bytes(other_hash->view()).Key("confirm").Bool(false);
              }).ok());
  Reset();  // runs 1.0.1 unconfirmed
  state = dev_.ImageState();
  EXPECT_TRUE(std::equal(Slot(*state, 0)->hash.begin(), Slot(*state, 0)->hash.end(),
                         other_hash->view().begin()));
  Reset();  // no confirm: revert
  state = dev_.ImageState();
  EXPECT_TRUE(std::equal(Slot(*state, 0)->hash.begin(), Slot(*state, 0)->hash.end(),
                         hash->view().begin()));
  EXPECT_TRUE(Slot(*state, 0)->confirmed);
}

TEST_F(DeviceTest, ProgressiveEraseOverADirtySlot) {
  // Re-create the device with progressive erase on; the slot already holds an upload.
  const auto first = ReadVector("mcuboot/unsigned-hashonly.bin");
  EXPECT_EQ(Upload(first, 512), first.size());
  DeviceConfig c = Config();
  c.img.erase_progressively = true;
  Device dev2(flash_, c);
  ASSERT_TRUE(dev2.Boot().ok());
  auto second = MakeFactoryImage("2.0.0", 9000, 3);  // spans three pages of the old image
  ASSERT_TRUE(second.ok());
  auto parsed = mcuboot::Parse(*second);
  auto hash = mcuboot::StoredHash(*parsed);
  uint64_t off = 0;
  while (off < second->size()) {
    const size_t n = std::min<size_t>(900, second->size() - off);
    smp::Header h;
    h.op = 2;
    h.group = 1;
    h.id = 1;
    auto frame = smp::BuildFrame(h, buf_, [&](cbor::Writer& w) {
      if (off == 0) w.Key("len").Uint(second->size());
      w.Key("off").Uint(off).Key("data").Bytes(ConstByteSpan(second->data() + off, n));
    });
    ASSERT_TRUE(frame.ok());
    Capture cap;
    dev2.HandlePacket(*frame, cap);
    ASSERT_EQ(cap.frames.size(), 1u);
    auto r = smp::ParseResponse(cap.frames[0]);
    ASSERT_TRUE(r.ok() && r->ok()) << "upload failed at " << off;
    uint64_t next = 0;
    ASSERT_TRUE(cbor::DecodeMap(r->payload, {cbor::UintField("off", &next)}).ok());
    ASSERT_EQ(next, off + n);
    off = next;
  }
  auto state = dev2.ImageState();
  ASSERT_TRUE(state.ok());
  const auto* s1 = Slot(*state, 1);
  ASSERT_NE(s1, nullptr);
  EXPECT_TRUE(std::equal(s1->hash.begin(), s1->hash.end(), hash->view().begin()));
}

TEST_F(DeviceTest, PacketsDuringResetAreLost) {
  auto r = Send(2, 0, 5, [](cbor::Writer&) {});
  ASSERT_TRUE(r.ok());
  Capture cap;
  const uint8_t echo[] = {0x0a, 0, 0, 1, 0, 0, 0, 0, 0xa0};
  EXPECT_EQ(dev_.HandlePacket(echo, cap), 0u);
  EXPECT_TRUE(cap.frames.empty());
}

// Slots up to the CLI's 8 MiB limit (2048 sectors, far above MCUboot's default
// BOOT_MAX_IMG_SECTORS of 128): the device sizes the swap-status table from the partition,
// and a permanent swap of an image filling almost the whole slot moves it into place.
TEST(DeviceLargeSlotTest, EightMiBSlotsBootAndSwap) {
  DeviceConfig c;
  c.slot_size = 0x800000;
  flash::RamFlash flash(c.Geometry());
  Device dev(flash, c);
  auto factory = MakeFactoryImage("1.0.0", 3000);
  ASSERT_TRUE(factory.ok());
  ASSERT_TRUE(dev.Provision(*factory).ok());
  auto boot = dev.Boot();
  ASSERT_TRUE(boot.ok()) << boot.error().message();
  const uint32_t max = dev.bootloader().MaxImageSize();
  EXPECT_GT(max, 0x7E0000u) << "all but the spare sector and the trailer's sectors";
  auto big = MakeFactoryImage("2.0.0", max - 0x1000, 5);
  ASSERT_TRUE(big.ok());
  ASSERT_LE(big->size(), max);
  const auto& secondary = dev.layout().images[0].secondary;
  ASSERT_TRUE(secondary.EraseAll().ok());
  const size_t whole = big->size() / 4 * 4;
  ASSERT_TRUE(secondary.Write(0, ConstByteSpan(big->data(), whole)).ok());
  std::array<uint8_t, 4> tail{0xff, 0xff, 0xff, 0xff};
  std::copy(big->begin() + static_cast<std::ptrdiff_t>(whole), big->end(), tail.begin());
  if (whole < big->size()) {
    ASSERT_TRUE(secondary.Write(static_cast<uint32_t>(whole), tail).ok());
  }
  ASSERT_TRUE(dev.bootloader().RequestUpgrade(0, true).ok());
  boot = dev.Boot();
  ASSERT_TRUE(boot.ok()) << boot.error().message();
  char v[32];
  EXPECT_EQ(boot->images[0].version.Format(v), "2.0.0");
  EXPECT_EQ(boot->images[0].swap, mcuboot::SwapType::kPerm);
  EXPECT_EQ(boot->images[0].rejected, mcuboot::ImageFault::kNone);
  // The old image now sits in the secondary, whole.
  auto state = dev.ImageState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->count, 2u);
  char v1[32];
  EXPECT_EQ(state->slots[1].version.Format(v1), "1.0.0");
}

// The device's shell through group 9: its commands read the device's real state.
TEST(DeviceShellTest, CommandsSeeTheDeviceAndRebootDropsTheAnswer) {
  class Clock : public DeviceHooks {
   public:
    uint64_t NowMs() override { return now; }
    uint64_t now = 1000;
  } clock;
  DeviceConfig c;
  c.slot_size = 0x20000;
  c.server.buf_size = 1024;
  c.shell_group = true;
  flash::RamFlash flash(c.Geometry());
  Device dev(flash, c, &clock);
  auto factory = MakeFactoryImage("1.2.3", 3000);
  ASSERT_TRUE(factory.ok());
  ASSERT_TRUE(dev.Provision(*factory).ok());
  ASSERT_TRUE(dev.Boot().ok());
  std::vector<uint8_t> buf(1024);
  auto exec = [&](std::vector<std::string> argv, std::string* o, int64_t* ret) {
    smp::Header h;
    h.op = 2;
    h.group = 9;
    auto frame = smp::BuildFrame(h, buf, [&](cbor::Writer& w) {
      w.Key("argv").BeginArray();
      for (const auto& a : argv) w.Text(a);
      w.End();
    });
    EXPECT_TRUE(frame.ok());
    Capture cap;
    dev.HandlePacket(*frame, cap);
    if (cap.frames.empty()) return false;
    auto r = smp::ParseResponse(cap.frames[0]);
    EXPECT_TRUE(r.ok() && r->ok());
    std::string_view text;
    EXPECT_TRUE(cbor::DecodeMap(r->payload, {cbor::TextField("o", &text), cbor::IntField("ret", ret)}).ok());
    *o = std::string(text);
    return true;
  };
  std::string o;
  int64_t ret = 99;
  clock.now = 3500;
  ASSERT_TRUE(exec({"kernel", "uptime"}, &o, &ret));
  EXPECT_EQ(o, "Uptime: 2500 ms\r\n");
  EXPECT_EQ(ret, 0);
  ASSERT_TRUE(exec({"mcuboot"}, &o, &ret));
  EXPECT_EQ(o, "image 0 slot 0: 1.2.3+0 active confirmed\r\n");
  ASSERT_TRUE(exec({"dfu"}, &o, &ret));
  EXPECT_EQ(o, "upload: idle\r\nboots: 1\r\n");
  ASSERT_TRUE(exec({"kernel", "uptime", "x"}, &o, &ret));
  EXPECT_EQ(ret, -22);
  ASSERT_TRUE(exec({"nope"}, &o, &ret));
  EXPECT_EQ(o, "nope: command not found\r\n");
  EXPECT_EQ(ret, -8);
  // kernel reboot: the system goes down before answering; the runner reboots it.
  EXPECT_FALSE(exec({"kernel", "reboot", "cold"}, &o, &ret));
  EXPECT_TRUE(dev.reset_requested());
  clock.now = 9000;
  ASSERT_TRUE(dev.Boot().ok());
  clock.now = 9042;
  ASSERT_TRUE(exec({"kernel", "uptime"}, &o, &ret));
  EXPECT_EQ(o, "Uptime: 42 ms\r\n");
  ASSERT_TRUE(exec({"dfu"}, &o, &ret));
  EXPECT_EQ(o, "upload: idle\r\nboots: 2\r\n");
}

// The device's settings through group 3: write is runtime only, save stores in the settings
// partition, a reboot loads what was saved, delete removes it from storage.
TEST(DeviceSettingsTest, SaveSurvivesRebootsAndDeleteRemovesFromStorage) {
  DeviceConfig c;
  c.slot_size = 0x20000;
  c.server.buf_size = 1024;
  c.settings_group = true;
  c.settings_size = 0x2000;
  flash::RamFlash flash(c.Geometry());
  Device dev(flash, c);
  auto factory = MakeFactoryImage("1.0.0", 3000);
  ASSERT_TRUE(factory.ok());
  ASSERT_TRUE(dev.Provision(*factory).ok());
  ASSERT_TRUE(dev.Boot().ok());
  std::vector<uint8_t> buf(1024);
  // Sends one request; the answer's payload, or its group rc (negated) when it is an error.
  auto call = [&](uint8_t op, uint8_t id, const std::function<void(cbor::Writer&)>& body,
                  std::string* val) -> int {
    smp::Header h;
    h.op = op;
    h.group = 3;
    h.id = id;
    auto frame = smp::BuildFrame(h, buf, body);
    EXPECT_TRUE(frame.ok());
    Capture cap;
    dev.HandlePacket(*frame, cap);
    EXPECT_EQ(cap.frames.size(), 1u);
    auto r = smp::ParseResponse(cap.frames[0]);
    EXPECT_TRUE(r.ok());
    if (r->err) return -r->err->rc;
    ConstByteSpan v;
    if (val && cbor::DecodeMap(r->payload, {cbor::BytesField("val", &v)}).ok()) {
      *val = std::string(v.begin(), v.end());
    }
    return r->rc;
  };
  auto set = [&](const std::string& n, const std::string& v) {
    return call(2, 0, [&](cbor::Writer& w) { w.Key("name").Text(n).Key("val").Bytes(AsBytes(v)); }, nullptr);
  };
  auto get = [&](const std::string& n, std::string* v) {
    return call(0, 0, [&](cbor::Writer& w) { w.Key("name").Text(n); }, v);
  };
  auto simple = [&](uint8_t op, uint8_t id, const std::string& n) {
    return call(op, id, [&](cbor::Writer& w) { if (!n.empty()) w.Key("name").Text(n); }, nullptr);
  };
  std::string v;
  ASSERT_EQ(set("app/name", "Mouse"), 0);
  ASSERT_EQ(set("app/unsaved", "x"), 0);
  ASSERT_EQ(get("app/name", &v), 0);
  EXPECT_EQ(v, "Mouse");
  ASSERT_EQ(get("dev/boots", &v), 0);
  EXPECT_EQ(v, "1");
  EXPECT_EQ(set("dev/boots", "9"), -6);   // WRITE_NOT_SUPPORTED
  EXPECT_EQ(get("nope/x", &v), -5);        // ROOT_KEY_NOT_FOUND
  EXPECT_EQ(get("app/missing", &v), -3);   // KEY_NOT_FOUND
  ASSERT_EQ(simple(2, 3, ""), 0);          // save
  ASSERT_EQ(set("app/unsaved", "y"), 0);   // after the save: runtime only
  ASSERT_TRUE(dev.Boot().ok());
  ASSERT_EQ(get("app/name", &v), 0);
  EXPECT_EQ(v, "Mouse");
  ASSERT_EQ(get("app/unsaved", &v), 0);
  EXPECT_EQ(v, "x");  // what was saved, not the later runtime value
  ASSERT_EQ(get("dev/boots", &v), 0);
  EXPECT_EQ(v, "2");
  // Delete: from storage; the runtime value stays until the next load or boot.
  ASSERT_EQ(simple(2, 1, "app/name"), 0);
  ASSERT_EQ(get("app/name", &v), 0);
  ASSERT_EQ(set("app/name", "Other"), 0);
  ASSERT_EQ(simple(0, 3, ""), 0);  // load: storage has no app/name, so Other stays
  ASSERT_EQ(get("app/name", &v), 0);
  EXPECT_EQ(v, "Other");
  ASSERT_TRUE(dev.Boot().ok());
  EXPECT_EQ(get("app/name", &v), -3);
  ASSERT_EQ(get("app/unsaved", &v), 0);
  // The partition holds it: a device on a copy of the flash reads it too, the slots untouched.
  EXPECT_EQ(dev.layout().storage.offset(), c.bootloader_size + 2 * c.slot_size);
}

}  // namespace
}  // namespace smpkit::device

namespace smpkit::device {
namespace {

// The shared command table (smpkit/smp/commands.h, what the client names and sends) agrees
// with the operations every group of the device takes, both ways.
TEST(CommandTable, MatchesWhatTheDevicesGroupsTake) {
  mgmt::RamFileSystem files(4096);
  DeviceConfig c;
  c.slot_size = 0x20000;
  c.os.taskstat = c.os.datetime = true;
  c.stat_group = c.enum_group = c.fs_group = c.shell_group = c.settings_group = true;
  c.file_system = &files;
  c.settings_size = 0x2000;
  flash::RamFlash flash(c.Geometry());
  Device dev(flash, c);
  auto factory = MakeFactoryImage("1.0.0", 3000);
  ASSERT_TRUE(factory.ok());
  ASSERT_TRUE(dev.Provision(*factory).ok());
  ASSERT_TRUE(dev.Boot().ok());  // the groups are registered at boot
  const smp::Registry& reg = dev.server().registry();
  ASSERT_EQ(reg.size(), 7u);
  // Zephyr's os_mgmt defines these two ids, without a handler in the versions smpkit follows.
  auto unimplemented = [](const smp::CommandInfo& e) {
    return e.group == smp::kGroupOs && (e.id == smp::os::kConsoleEcho || e.id == smp::os::kMpStat);
  };
  for (const auto& e : smp::kCommands) {
    const smp::Group* g = reg.Find(e.group);
    ASSERT_NE(g, nullptr) << e.name;
    if (unimplemented(e)) continue;
    EXPECT_EQ(g->Supports(e.id, smp::Op::kRead), e.read) << e.name;
    EXPECT_EQ(g->Supports(e.id, smp::Op::kWrite), e.write) << e.name;
  }
  for (size_t i = 0; i < reg.size(); ++i) {
    const smp::Group& g = reg.at(i);
    for (unsigned id = 0; id < 32; ++id) {
      if (g.Supports(static_cast<uint8_t>(id), smp::Op::kRead) ||
          g.Supports(static_cast<uint8_t>(id), smp::Op::kWrite)) {
        EXPECT_NE(smp::FindCommand(g.id(), static_cast<uint8_t>(id)), nullptr)
            << "group " << g.id() << " command " << id << " is not in the table";
      }
    }
  }
}

}  // namespace
}  // namespace smpkit::device
