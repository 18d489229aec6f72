// `smpkit device` as a process at its limits: 2 MiB slots upgraded with a 1.5 MiB image,
// a serial host that never reads (memory stays flat: the pty reader stops, as a UART with
// flow control), a fatal boot failure (non-zero exit), a first upload chunk longer than
// `len`, text that is not UTF-8, and a --buf-size no UDP datagram could carry.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process_util.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/device/device.h"
#include "smpkit/mcuboot/image.h"

namespace smpkit::testing {
namespace {

using namespace std::chrono_literals;

std::string TempPath(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("smpkit-limits-" + name + "-" + std::to_string(getpid()) + ".flash");
  std::filesystem::remove(p);
  return p.string();
}

// Raw SMP requests with bounded waits (3 attempts).
class Raw : public RawCaller {
 public:
  explicit Raw(RawLink& link) : RawCaller(link, 70000) {}
  // Uploads `image` in `chunk`-byte pieces; returns the final offset (or UINT64_MAX).
  uint64_t Upload(const std::vector<uint8_t>& image, size_t chunk) {
    uint64_t off = 0;
    for (int guard = 0; off < image.size() && guard < 100000; ++guard) {
      const size_t n = std::min<size_t>(chunk, image.size() - off);
      auto r = Call(
          2, 1, 1,
          [&](cbor::Writer& w) {
            if (off == 0) w.Key("len").Uint(image.size());
            w.Key("off").Uint(off).Key("data").Bytes(ConstByteSpan(image.data() + off, n));
          },
          off == 0 ? 20000ms : 3000ms);
      uint64_t next = UINT64_MAX;
      if (!r || !r->ok() || !cbor::DecodeMap(r->payload, {cbor::UintField("off", &next)}).ok()) {
        return UINT64_MAX;
      }
      off = next;
    }
    return off;
  }
  // The running image's version (slot 0), or "".
  std::string Running() {
    auto r = Call(0, 1, 0, [](cbor::Writer&) {});
    if (!r || !r->ok()) return "";
    cbor::RawValue images;
    if (!cbor::DecodeMap(r->payload, {cbor::RawField("images", &images)}).ok()) return "";
    cbor::Reader reader(images.encoded);
    if (!reader.Next().ok()) return "";
    while (true) {
      auto item = reader.Next();
      if (!item.ok() || item->type != cbor::Type::kMap) return "";
      uint64_t slot = 9;
      bool active = false;
      std::string_view version;
      if (!cbor::DecodeMapBody(
               reader, *item,
               std::initializer_list<cbor::Field>{cbor::UintField("slot", &slot),
                                                  cbor::TextField("version", &version),
                                                  cbor::BoolField("active", &active)})
               .ok()) {
        return "";
      }
      if (slot == 0 && active) return std::string(version);
    }
  }

 private:
};

uint16_t ImgErr(const std::optional<smp::Response>& r) {
  return r && r->err && r->err->group == 1 ? r->err->rc : 0xffff;
}

std::vector<uint8_t> Image(const char* version, uint32_t body, uint32_t seed) {
  auto img = device::MakeFactoryImage(version, body, seed);
  EXPECT_TRUE(img.ok());
  return img.ok() ? *img : std::vector<uint8_t>{};
}

// Issue 12 item 2: MCUboot's default BOOT_MAX_IMG_SECTORS (128) cannot swap 2 MiB slots of
// 4 KiB sectors; the device sizes the table from the partitions.
TEST(DeviceLimitsTest, UpgradesA1Point5MiBImageIn2MiBSlots) {
  const auto flash = TempPath("large");
  DeviceProcess dev(SmpkitBinary(),
                    {"--flash", flash, "--slot-size", "0x200000", "--udp-mtu", "65507", "--udp",
                     "127.0.0.1:0", "--buf-size", "4096", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0) << "the device did not start with 2 MiB slots";
  UdpLink link(dev.udp_port());
  Raw c(link);
  EXPECT_EQ(c.Running(), "1.0.0");
  const auto image = Image("2.0.0", 1536 * 1024, 9);
  ASSERT_EQ(c.Upload(image, 3900), image.size());
  auto parsed = mcuboot::Parse(image);
  ASSERT_TRUE(parsed.ok());
  auto hash = mcuboot::StoredHash(*parsed);
  ASSERT_TRUE(hash.ok());
  auto test = c.Call(2, 1, 0, [&](cbor::Writer& w) {
    w.Key("hash").Bytes(hash->view()).Key("confirm").Bool(true);
  });
  ASSERT_TRUE(test && test->ok());
  auto reset = c.Call(2, 0, 5, [](cbor::Writer&) {});
  ASSERT_TRUE(reset && reset->ok());
  std::string running;
  for (int i = 0; i < 100 && running != "2.0.0"; ++i) {
    std::this_thread::sleep_for(100ms);
    running = c.Running();
  }
  EXPECT_EQ(running, "2.0.0") << "the permanent swap of 384 sectors did not complete";
  dev.Kill(SIGTERM);
  std::filesystem::remove(flash);
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

pid_t DevicePid(const std::string& marker) {
  // The child of this test whose command line holds `marker`.
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string text((std::istreambuf_iterator<char>(cmd)), {});
    if (text.find(marker) != std::string::npos && text.find("device") != std::string::npos) {
      std::ifstream st(e.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(st)), {});
      const auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      int ppid = 0;
      char state = 0;
      if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid()) {
        return static_cast<pid_t>(std::stoi(name));
      }
    }
  }
  return -1;
}

// Issue 12 item 3: a serial host that writes requests and never reads the answers.
TEST(DeviceLimitsTest, SerialHostThatNeverReadsKeepsMemoryFlat) {
  const std::string marker = "--factory-version=7.7.7";  // finds the child's pid
  DeviceProcess dev(SmpkitBinary(), {"--serial-pty", "--buf-size", "2048", marker, "--quiet"});
  ASSERT_FALSE(dev.pty().empty());
  const pid_t pid = DevicePid(marker);
  ASSERT_GT(pid, 0);
  const int fd = open(dev.pty().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  termios t{};
  tcgetattr(fd, &t);
  cfmakeraw(&t);
  tcsetattr(fd, TCSANOW, &t);
  // One echo request of ~1.5 KB, its answer as large.
  std::vector<uint8_t> frame_buf(4096);
  smp::Header h;
  h.op = 2;
  const std::string text(1500, 'e');
  auto frame = smp::BuildFrame(h, frame_buf, [&](cbor::Writer& w) { w.Key("d").Text(text); });
  ASSERT_TRUE(frame.ok());
  std::vector<uint8_t> wire(transport::SerialEncoder::EncodedSize(frame->size()));
  ASSERT_TRUE(transport::SerialEncoder::Encode(*frame, wire).ok());
  // Writes whole requests for `d` (non-blocking: a full line just waits), returns how many.
  auto pump = [&](std::chrono::milliseconds d) {
    size_t sent = 0, pos = 0;
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      const ssize_t w = write(fd, wire.data() + pos, wire.size() - pos);
      if (w > 0) {
        pos += static_cast<size_t>(w);
        if (pos == wire.size()) {
          pos = 0;
          ++sent;
        }
      } else {
        std::this_thread::sleep_for(2ms);
      }
    }
    return sent;
  };
  const size_t first = pump(1500ms);
  const long rss1 = RssKb(pid);
  const size_t second = pump(1500ms);
  const long rss2 = RssKb(pid);
  ASSERT_GT(rss1, 0);
  // The device took some requests, then stopped reading: the host's writes stall.
  EXPECT_GT(first, 5u);
  EXPECT_LT(first + second, 400u) << "the device kept reading while nobody read its answers";
  EXPECT_LT(rss2 - rss1, 512) << "resident memory grew from " << rss1 << " to " << rss2 << " KB";
  // The host reads again: the device answers again.
  std::vector<uint8_t> drain(65536);
  for (int i = 0; i < 200; ++i) {
    if (read(fd, drain.data(), drain.size()) <= 0) std::this_thread::sleep_for(5ms);
  }
  close(fd);
  PtyLink link(dev.pty());
  ASSERT_TRUE(link.ok());
  Raw c(link);
  for (int i = 0; i < 50; ++i) {
    auto r = c.Call(
        2, 0, 0, [](cbor::Writer& w) { w.Key("d").Text("alive"); }, 300ms);
    if (r && r->ok()) {
      std::string_view echoed;
      ASSERT_TRUE(cbor::DecodeMap(r->payload, {cbor::TextField("r", &echoed)}).ok());
      EXPECT_EQ(echoed, "alive");
      return;
    }
  }
  FAIL() << "no answer after the host read again";
}

// Issue 12 item 4: the flash file is truncated while the device runs; the reset's boot
// fails and the process ends with a failure status.
TEST(DeviceLimitsTest, FatalBootFailureExitsNonZero) {
  const auto flash = TempPath("fatal");
  DeviceProcess dev(SmpkitBinary(), {"--flash", flash, "--udp", "127.0.0.1:0", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  UdpLink link(dev.udp_port());
  Raw c(link);
  ASSERT_EQ(c.Running(), "1.0.0");
  std::filesystem::resize_file(flash, 0x10000);
  auto reset = c.Call(2, 0, 5, [](cbor::Writer&) {});
  ASSERT_TRUE(reset && reset->ok());
  int status = -1;
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(100ms);
    if (!c.Call(
            2, 0, 0, [](cbor::Writer& w) { w.Key("d").Text("x"); }, 100ms))
      break;
  }
  dev.Kill(SIGTERM);  // reaps it (already exited) or ends it if it did not
  status = dev.exit_status();
  ASSERT_TRUE(WIFEXITED(status)) << "the process did not exit on its own";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::filesystem::remove(flash);
}

// Issue 12 items 5 and 7 over UDP.
TEST(DeviceLimitsTest, FirstChunkLongerThanLenAndTextThatIsNotUtf8) {
  // Whole images in one datagram: above Zephyr's 1500-byte UDP limit, so raise it.
  DeviceProcess dev(SmpkitBinary(), {"--udp", "127.0.0.1:0", "--quiet", "--udp-mtu", "65507"});
  ASSERT_NE(dev.udp_port(), 0);
  UdpLink link(dev.udp_port());
  Raw c(link);
  const auto image = Image("2.0.0", 3000, 4);
  // len 100, 1500 bytes of data: IMG 31 "data overrun", nothing started.
  auto over = c.Call(2, 1, 1, [&](cbor::Writer& w) {
    w.Key("len").Uint(100).Key("off").Uint(0).Key("data").Bytes(ConstByteSpan(image.data(), 1500));
  });
  EXPECT_EQ(ImgErr(over), 31);
  // No session: a continuation is told to start at 0.
  auto cont = c.Call(2, 1, 1, [&](cbor::Writer& w) {
    w.Key("off").Uint(100).Key("data").Bytes(ConstByteSpan(image.data(), 10));
  });
  uint64_t off = 99;
  ASSERT_TRUE(cont && cont->ok());
  ASSERT_TRUE(cbor::DecodeMap(cont->payload, {cbor::UintField("off", &off)}).ok());
  EXPECT_EQ(off, 0u);
  // A first chunk of exactly len bytes is a whole upload.
  const auto small = Image("2.0.1", 900, 5);
  ASSERT_LT(small.size(), 2200u);
  EXPECT_EQ(c.Upload(small, small.size()), small.size());

  // Echo of a text string that is not UTF-8: rc 3 (EINVAL), never echoed back.
  const uint8_t bad_echo[] = {0xa1, 0x61, 0x64, 0x63, 'a', 0xff, 'b'};
  smp::Header h;
  h.op = 2;
  h.seq = 200;
  h.length = sizeof(bad_echo);
  std::vector<uint8_t> frame(8 + sizeof(bad_echo));
  ASSERT_TRUE(smp::EncodeHeader(h, ByteSpan(frame.data(), 8)).ok());
  std::copy(std::begin(bad_echo), std::end(bad_echo), frame.begin() + 8);
  ASSERT_TRUE(link.Send(frame));
  std::optional<smp::Response> r;
  std::vector<uint8_t> rx;
  for (int i = 0; i < 5 && !r; ++i) {
    auto got = link.Receive(1000ms);
    if (!got) break;
    auto p = smp::ParseResponse(*got);
    if (p.ok() && p->header.seq == 200) {
      rx = std::move(*got);
      r = *smp::ParseResponse(rx);
    }
  }
  ASSERT_TRUE(r.has_value()) << "no answer to the echo";
  EXPECT_EQ(r->rc, 3) << "MGMT_ERR_EINVAL, as for a text field of the wrong type";
  cbor::RawValue echoed;
  bool has_r = false;
  (void)cbor::DecodeMap(r->payload, {cbor::RawField("r", &echoed, &has_r)});
  EXPECT_FALSE(has_r) << "the invalid text was echoed";
}

// Issue 12 item 6: answers are at most --buf-size bytes; over UDP they must fit a datagram.
TEST(DeviceLimitsTest, BufSizeAboveTheLargestDatagramIsRefusedForUdp) {
  DeviceProcess dev(SmpkitBinary(), {"--udp", "127.0.0.1:0", "--buf-size", "65508"});
  EXPECT_EQ(dev.udp_port(), 0);
  dev.Kill(SIGKILL);
  ASSERT_TRUE(WIFEXITED(dev.exit_status()));
  EXPECT_EQ(WEXITSTATUS(dev.exit_status()), 2);
  DeviceProcess ok(SmpkitBinary(), {"--udp", "127.0.0.1:0", "--buf-size", "65507", "--quiet"});
  EXPECT_NE(ok.udp_port(), 0) << "the largest size that fits is accepted";
}

}  // namespace
}  // namespace smpkit::testing
