// `smpkit device` as a real process on loopback UDP and on a pty: uploads of golden vector
// images with raw SMP frames, test / reset / confirm / revert, a kill mid-upload, and the
// spec's answers to bad input. Every wait is bounded.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "process_util.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/mcuboot/image.h"

namespace smpkit::testing {
namespace {

using namespace std::chrono_literals;

std::string TempFlash(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("smpkit-it-" + name + "-" + std::to_string(getpid()) + ".flash");
  std::filesystem::remove(p);
  return p.string();
}

std::vector<uint8_t> Vector(const std::string& name) {
  return ReadFile(std::string(SMPKIT_SHARED_DIR) + "/vectors/mcuboot/" + name);
}

std::array<uint8_t, 32> TlvHash(const std::vector<uint8_t>& image) {
  std::array<uint8_t, 32> h{};
  auto parsed = mcuboot::Parse(image);
  EXPECT_TRUE(parsed.ok());
  auto d = mcuboot::StoredHash(*parsed);
  EXPECT_TRUE(d.ok());
  std::copy_n(d->bytes.begin(), 32, h.begin());
  return h;
}

std::array<uint8_t, 32> FileSha(const std::vector<uint8_t>& image) {
  auto d = mcuboot::Hash(mcuboot::HashAlg::kSha256, image);
  std::array<uint8_t, 32> h{};
  std::copy_n(d->bytes.begin(), 32, h.begin());
  return h;
}

struct SlotInfo {
  bool present = false;
  std::array<uint8_t, 32> hash{};
  bool active = false, confirmed = false, pending = false, permanent = false;
};

class Client : public RawCaller {
 public:
  explicit Client(RawLink& link) : RawCaller(link, 16384) {}

  // Sends a request and waits for the response with the same seq (bounded, 3 tries).

  uint64_t UploadChunk(const std::vector<uint8_t>& image, uint64_t off, size_t n,
                       const std::array<uint8_t, 32>* sha, smp::Response* out = nullptr) {
    auto r = Call(
        2, 1, 1,
        [&](cbor::Writer& w) {
          if (off == 0) {
            w.Key("image").Uint(0).Key("len").Uint(image.size());
            if (sha) w.Key("sha").Bytes(*sha);
          }
          w.Key("off").Uint(off).Key("data").Bytes(ConstByteSpan(image.data() + off, n));
        },
        off == 0 ? 10000ms : 3000ms);
    if (!r) return UINT64_MAX;
    if (out) *out = *r;
    uint64_t next = UINT64_MAX;
    (void)cbor::DecodeMap(r->payload, {cbor::UintField("off", &next)});
    return next;
  }

  bool Upload(const std::vector<uint8_t>& image, size_t chunk) {
    const auto sha = FileSha(image);
    uint64_t off = 0;
    int guard = 0;
    while (off < image.size() && ++guard < 10000) {
      const uint64_t next =
          UploadChunk(image, off, std::min<size_t>(chunk, image.size() - off), &sha);
      if (next == UINT64_MAX) return false;
      off = next;
    }
    return off == image.size();
  }

  std::vector<SlotInfo> State() {
    std::vector<SlotInfo> slots(2);
    auto r = Call(0, 1, 0, [](cbor::Writer&) {});
    if (!r || !r->ok()) return slots;
    cbor::RawValue images;
    if (!cbor::DecodeMap(r->payload, {cbor::RawField("images", &images)}).ok()) return slots;
    cbor::Reader reader(images.encoded);
    auto head = reader.Next();
    while (head.ok()) {
      auto item = reader.Next();
      if (!item.ok() || item->type != cbor::Type::kMap) break;
      uint64_t slot = 0;
      ConstByteSpan hash;
      SlotInfo s;
      s.present = true;
      if (!cbor::DecodeMapBody(
               reader, *item,
               std::initializer_list<cbor::Field>{
                   cbor::UintField("slot", &slot), cbor::BytesField("hash", &hash),
                   cbor::BoolField("active", &s.active), cbor::BoolField("confirmed", &s.confirmed),
                   cbor::BoolField("pending", &s.pending),
                   cbor::BoolField("permanent", &s.permanent)})
               .ok())
        break;
      if (hash.size() == 32) std::copy(hash.begin(), hash.end(), s.hash.begin());
      if (slot < 2) slots[slot] = s;
    }
    return slots;
  }

  std::optional<smp::Response> StateWrite(const std::array<uint8_t, 32>* hash, bool confirm,
                                          size_t hash_len = 32) {
    return Call(2, 1, 0, [&](cbor::Writer& w) {
      if (hash) w.Key("hash").Bytes(ConstByteSpan(hash->data(), hash_len));
      w.Key("confirm").Bool(confirm);
    });
  }

  bool Reset() {
    auto r = Call(2, 0, 5, [](cbor::Writer&) {});
    if (!r || !r->ok()) return false;
    // The device restarts 250 ms after answering; wait until it echoes again (bounded).
    std::this_thread::sleep_for(300ms);
    for (int i = 0; i < 20; ++i) {
      auto e = Call(
          2, 0, 0, [](cbor::Writer& w) { w.Key("d").Text("up?"); }, 200ms);
      if (e && e->ok()) return true;
    }
    return false;
  }

 private:
};

void FullFlow(RawLink& link, size_t chunk) {
  Client c(link);
  const auto image = Vector("unsigned-hashonly.bin");
  const auto hash = TlvHash(image);
  const auto factory = c.State()[0].hash;
  ASSERT_TRUE(c.Upload(image, chunk));
  auto st = c.State();
  ASSERT_TRUE(st[1].present);
  EXPECT_EQ(st[1].hash, hash) << "slot 1 holds the uploaded image";
  auto t = c.StateWrite(&hash, false);
  ASSERT_TRUE(t && t->ok());
  ASSERT_TRUE(c.Reset());
  st = c.State();
  EXPECT_EQ(st[0].hash, hash);
  EXPECT_TRUE(st[0].active);
  EXPECT_FALSE(st[0].confirmed) << "runs unconfirmed after test + reset";
  auto conf = c.StateWrite(nullptr, true);
  ASSERT_TRUE(conf && conf->ok());
  st = c.State();
  EXPECT_TRUE(st[0].confirmed);
  ASSERT_TRUE(c.Reset());
  st = c.State();
  EXPECT_EQ(st[0].hash, hash) << "confirmed image stays after reset";

  // Test the factory image (now in slot 1) and reset twice without confirming: revert.
  ASSERT_TRUE(st[1].present);
  EXPECT_EQ(st[1].hash, factory);
  ASSERT_TRUE(c.StateWrite(&factory, false)->ok());
  ASSERT_TRUE(c.Reset());
  EXPECT_EQ(c.State()[0].hash, factory);
  ASSERT_TRUE(c.Reset());
  st = c.State();
  EXPECT_EQ(st[0].hash, hash) << "unconfirmed test image reverted";
  EXPECT_TRUE(st[0].confirmed);
}

TEST(DeviceProcessTest, UdpUploadTestResetConfirmRevert) {
  const auto flash = TempFlash("udp");
  DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--udp", "127.0.0.1:0", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0) << "device did not report its UDP port";
  UdpLink link(dev.udp_port());
  FullFlow(link, 512);
  dev.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(dev.exit_status()) && WEXITSTATUS(dev.exit_status()) == 0)
      << "clean shutdown on SIGTERM";
  std::filesystem::remove(flash);
}

TEST(DeviceProcessTest, Ipv6AndIpv4AtOnceWithLargeDatagrams) {
  DeviceProcess dev(SmpkitBinary(), {"--udp", "127.0.0.1:0", "--udp", "[::1]:0", "--buf-size",
                                     "8192", "--udp-mtu", "65507", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  ASSERT_NE(dev.udp6_port(), 0);
  for (bool v6 : {false, true}) {
    UdpLink link(v6 ? dev.udp6_port() : dev.udp_port(), v6);
    Client c(link);
    const std::string big(6000, 'x');  // one 6 KB datagram each way
    auto r = c.Call(2, 0, 0, [&](cbor::Writer& w) { w.Key("d").Text(big); });
    ASSERT_TRUE(r && r->ok()) << (v6 ? "IPv6" : "IPv4");
    std::string_view echoed;
    ASSERT_TRUE(cbor::DecodeMap(r->payload, {cbor::TextField("r", &echoed)}).ok());
    EXPECT_EQ(echoed, big);
  }
}

TEST(DeviceProcessTest, SerialPtyUploadTestResetConfirmRevert) {
  const auto flash = TempFlash("pty");
  DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--serial-pty", "--quiet"});
  ASSERT_FALSE(dev.pty().empty()) << "device did not report its pty";
  PtyLink link(dev.pty());
  ASSERT_TRUE(link.ok());
  // Log output on the same line is ignored by the device.
  const std::string log = "[00:00:01.000] <inf> app: hello\n";
  ASSERT_TRUE(link.WriteAll(AsBytes(log)));
  FullFlow(link, 256);
  std::filesystem::remove(flash);
}

TEST(DeviceProcessTest, KillMidUploadThenRestart) {
  const auto flash = TempFlash("kill");
  const auto image = Vector("unsigned-hashonly.bin");  // its TLVs sit at the end
  const auto sha = FileSha(image);
  {
    DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--udp", "127.0.0.1:0", "--quiet"});
    ASSERT_NE(dev.udp_port(), 0);
    UdpLink link(dev.udp_port());
    Client c(link);
    uint64_t off = 0;
    while (off < image.size() / 2) off = c.UploadChunk(image, off, 256, &sha);
    ASSERT_NE(off, UINT64_MAX);
    // Resume with the same sha while the process lives: the server reports its offset.
    EXPECT_EQ(c.UploadChunk(image, 0, 256, &sha), off);
    dev.Kill(SIGKILL);
  }
  DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--udp", "127.0.0.1:0", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  UdpLink link(dev.udp_port());
  Client c(link);
  auto st = c.State();
  EXPECT_TRUE(st[0].present && st[0].active && st[0].confirmed) << "running image intact";
  EXPECT_FALSE(st[1].present) << "half an image is not listed";
  // The session did not survive the restart: a continuation is answered with off 0.
  EXPECT_EQ(c.UploadChunk(image, 1024, 256, nullptr), 0u);
  ASSERT_TRUE(c.Upload(image, 300));
  st = c.State();
  ASSERT_TRUE(st[1].present);
  EXPECT_EQ(st[1].hash, TlvHash(image));
  std::filesystem::remove(flash);
}

uint16_t ImgErr(const std::optional<smp::Response>& r) {
  return r && r->err && r->err->group == 1 ? r->err->rc : 0xffff;
}

TEST(DeviceProcessTest, BadInputAnsweredAndSlotIntact) {
  const auto flash = TempFlash("bad");
  // Datagrams up to 4000 bytes (the overrun chunk below is larger than Zephyr's 1500); the
  // image check on (CONFIG_IMG_ENABLE_IMAGE_CHECK, off by default as in Zephyr).
  DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--udp", "127.0.0.1:0", "--quiet",
                                     "--udp-mtu", "4000", "--image-check"});
  ASSERT_NE(dev.udp_port(), 0);
  UdpLink link(dev.udp_port());
  Client c(link);
  const auto image = Vector("unsigned-hashonly.bin");
  const auto hash = TlvHash(image);
  ASSERT_TRUE(c.Upload(image, 512));
  const auto before = c.State();
  ASSERT_TRUE(before[1].present);

  smp::Response r;
  // First chunk that is not an MCUboot header.
  std::vector<uint8_t> junk(64, 0x11);
  c.UploadChunk(junk, 0, junk.size(), nullptr, &r);
  EXPECT_EQ(r.err ? r.err->rc : 0, 23);
  // Image larger than the slot (default slot 0x69000).
  std::vector<uint8_t> big(image.begin(), image.begin() + 64);
  auto too_large = c.Call(2, 1, 1, [&](cbor::Writer& w) {
    w.Key("len").Uint(0x69001).Key("off").Uint(0).Key("data").Bytes(big);
  });
  EXPECT_EQ(ImgErr(too_large), 30);
  // State write with an unknown hash, a 31-byte hash, and test of the running image.
  std::array<uint8_t, 32> unknown{};
  unknown.fill(0x42);
  EXPECT_EQ(ImgErr(c.StateWrite(&unknown, false)), 8);
  EXPECT_EQ(ImgErr(c.StateWrite(&hash, false, 31)), 24);
  const auto running = before[0].hash;
  EXPECT_EQ(ImgErr(c.StateWrite(&running, false)), 33);
  // Nothing above touched the uploaded image.
  auto after = c.State();
  EXPECT_TRUE(after[1].present);
  EXPECT_EQ(after[1].hash, hash);

  // The slot holds the whole image: a first chunk with its full sha is answered off = len
  // with match true (the image check), nothing written.
  const auto sha = FileSha(image);
  EXPECT_EQ(c.UploadChunk(image, 0, 512, &sha), image.size());
  // Chunk past `len`: data overrun aborts that session (started on an erased slot).
  auto erased = c.Call(2, 1, 5, [](cbor::Writer&) {});
  ASSERT_TRUE(erased && erased->ok());
  ASSERT_EQ(c.UploadChunk(image, 0, 512, &sha), 512u);
  std::vector<uint8_t> extra(image);
  extra.resize(image.size() + 600, 0xee);
  auto over = c.Call(2, 1, 1, [&](cbor::Writer& w) {
    w.Key("off").Uint(512).Key("data").Bytes(ConstByteSpan(extra.data() + 512, extra.size() - 512));
  });
  EXPECT_EQ(ImgErr(over), 31);
  // Resume with a different sha is a fresh start, not a resume.
  auto other_sha = sha;
  other_sha[0] ^= 1;
  ASSERT_EQ(c.UploadChunk(image, 0, 512, &sha), 512u);
  ASSERT_EQ(c.UploadChunk(image, 512, 512, nullptr), 1024u);
  EXPECT_EQ(c.UploadChunk(image, 0, 512, &other_sha), 512u) << "wrong sha restarts at 0";
  std::filesystem::remove(flash);
}

}  // namespace
}  // namespace smpkit::testing
