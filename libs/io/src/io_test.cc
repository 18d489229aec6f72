// libs/io and the client CLI against real I/O: connection strings, and integration tests that
// start `smpkit device` as a process on loopback UDP and on a pty (bounded in time, killed at
// the end) and run `smpkit upgrade` and the error paths against it.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/device/device.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/smp/header.h"
#include "smpkit/testing/device_process.h"
#include "smpkit/testing/run_process.h"

namespace smpkit::io {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string Smpkit() { return std::string(SMPKIT_BINARY_DIR) + "/apps/smpkit/smpkit"; }
std::string Vector(const char* name) {
  return std::string(SMPKIT_SHARED_DIR) + "/vectors/mcuboot/" + name;
}

TEST(ConnectionTest, ParsesConnectionStrings) {
  auto u = ParseConnection("udp:192.0.2.1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "192.0.2.1");
  EXPECT_EQ(u->port, 1337);
  u = ParseConnection("udp:localhost:2000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 2000);
  u = ParseConnection("udp:[::1]:1400");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 1400);
  u = ParseConnection("udp:fe80::1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "fe80::1");
  EXPECT_EQ(u->port, 1337);
  auto s = ParseConnection("serial:/dev/ttyACM0,1000000");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, ConnectionSpec::Kind::kSerial);
  EXPECT_EQ(s->path, "/dev/ttyACM0");
  EXPECT_EQ(s->baud, 1000000u);
  s = ParseConnection("serial:/dev/ttyUSB0");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->baud, 115200u);
  EXPECT_FALSE(ParseConnection("udp:host:0").ok());
  EXPECT_FALSE(ParseConnection("udp:host:70000").ok());
  EXPECT_FALSE(ParseConnection("serial:").ok());
  auto b = ParseConnection("ble:F4:CE:36:00:16:01");  // opened by libs/bluez, not here
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kind, ConnectionSpec::Kind::kBle);
  EXPECT_EQ(b->path, "F4:CE:36:00:16:01");
  b = ParseConnection("ble:Desktop Mouse");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path, "Desktop Mouse");
  EXPECT_FALSE(ParseConnection("ble:").ok());
  EXPECT_FALSE(ParseConnection("bl:foo").ok());
  EXPECT_THAT(std::string(ParseConnection("tcp:x").error().message()),
              HasSubstr("unknown connection"));
}

using smpkit::testing::ProcResult;
using smpkit::testing::RunProcess;
using smpkit::testing::DeviceProcess;

std::string TempFlash(const char* tag) {
  std::string p =
      std::string("/tmp/smpkit-io-test-") + tag + "-" + std::to_string(getpid()) + ".flash";
  std::remove(p.c_str());
  return p;
}

void ExpectUpgraded(const ProcResult& r, const std::string& hash) {
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& s : j["state"]) {
    if (s["hash"] == hash) {
      found = true;
      EXPECT_EQ(s["slot"], 0);
      EXPECT_TRUE(s["active"].get<bool>());
      EXPECT_TRUE(s["confirmed"].get<bool>());
    }
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_EQ(j["version"], "1.2.3.4");
}

const char* kVectorHash = "9863d04619fbb2c886c21c8571e18c795c16e4d27e01ec421253218634456c5a";

TEST(IntegrationTest, UpgradeOverUdpEndsActiveAndConfirmed) {
  std::string flash = TempFlash("udp");
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  auto r = RunProcess({Smpkit(), "--conn", conn, "--json", "upgrade",
                       Vector("unsigned-hashonly.bin"), "--reset-wait", "10"},
                      std::chrono::seconds(60));
  ExpectUpgraded(r, kVectorHash);
  // Through the library too: the device runs the new image, confirmed.
  asio::io_context io;
  AsioExecutor ex(io);
  auto link = UdpLink::Open(io, "127.0.0.1", static_cast<uint16_t>(dev.udp_port()));
  ASSERT_TRUE(link.ok());
  client::Session session(**link, ex);
  client::Client c(session);
  auto state = c.ImageState();
  ASSERT_TRUE(state.ok()) << state.error().message();
  EXPECT_EQ((*state)[0].version, "1.2.3.4");
  EXPECT_TRUE((*state)[0].active && (*state)[0].confirmed);
  std::remove(flash.c_str());
}

TEST(IntegrationTest, UpgradeOverPtyEndsActiveAndConfirmed) {
  std::string flash = TempFlash("pty");
  DeviceProcess dev(Smpkit(), {"--serial-pty", "--flash", flash, "--quiet"});
  ASSERT_FALSE(dev.pty().empty());
  auto r = RunProcess({Smpkit(), "--conn", "serial:" + dev.pty() + ",115200", "--json", "upgrade",
                       Vector("unsigned-hashonly.bin"), "--reset-wait", "10"},
                      std::chrono::seconds(60));
  ExpectUpgraded(r, kVectorHash);
  std::remove(flash.c_str());
}

TEST(IntegrationTest, ErrorPathsPrintOneLineAndTheirExitCode) {
  std::string flash = TempFlash("err");
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet", "--slot-size", "131072"});
  ASSERT_NE(dev.udp_port(), 0);
  std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  auto one_line = [](const ProcResult& r) {
    return r.err.size() > 8 && r.err.find('\n') == r.err.size() - 1 &&
           r.err.rfind("smpkit: ", 0) == 0;
  };
  // Unreachable: nothing listens on the port the device had before (use a fresh socket).
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::string silent = "udp:127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r =
      RunProcess({Smpkit(), "--conn", silent, "--timeout", "0.2", "--retries", "1", "echo", "hi"},
                 std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("unreachable"));

  // A device that answers v1 only (header version 0), with --require-v2.
  auto legacy = [fd] {
    uint8_t buf[2048];
    sockaddr_in from{};
    socklen_t fl = sizeof(from);
    ssize_t n =
        recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 8) return;
    uint8_t rsp[12] = {static_cast<uint8_t>(smp::ResponseOp(buf[0] & 7)),
                       0,
                       0,
                       4,
                       buf[4],
                       buf[5],
                       buf[6],
                       buf[7],
                       0xa1,
                       0x61,
                       'r',
                       0x60};
    sendto(fd, rsp, sizeof(rsp), 0, reinterpret_cast<sockaddr*>(&from), fl);
  };
  r = RunProcess({Smpkit(), "--conn", silent, "--timeout", "1", "echo", "hi", "--require-v2"},
                 std::chrono::seconds(20), legacy);
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("SMP v1 only"));
  // Without --require-v2 the client falls back and works.
  r = RunProcess({Smpkit(), "--conn", silent, "--timeout", "1", "echo", "hi"},
                 std::chrono::seconds(20), legacy);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  close(fd);

  // Wrong file type.
  r = RunProcess({Smpkit(), "--conn", conn, "upgrade", Vector("in.bin")}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not an MCUboot image"));

  // Image too large for the 128 KiB slot.
  auto big = device::MakeFactoryImage("9.0.0", 0x21000, 2);
  ASSERT_TRUE(big.ok());
  std::string big_path = TempFlash("big") + ".bin";
  std::ofstream(big_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(big->data()), static_cast<std::streamsize>(big->size()));
  r = RunProcess({Smpkit(), "--conn", conn, "upgrade", big_path}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("does not fit slot 1"));

  // A file that is no image is refused before anything is sent (exit 3).
  r = RunProcess({Smpkit(), "--conn", conn, "image", "upload", Vector("in.bin")},
                 std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not an MCUboot image"));

  // Rejected chunk: with --upgrade the device refuses an image older than the running one.
  auto old = device::MakeFactoryImage("0.5.0", 0x1000, 3);
  ASSERT_TRUE(old.ok());
  std::string old_path = TempFlash("old") + ".bin";
  std::ofstream(old_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(old->data()), static_cast<std::streamsize>(old->size()));
  r = RunProcess({Smpkit(), "--conn", conn, "image", "upload", "--upgrade", old_path},
                 std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("image upload: image group (1) error"));
  std::remove(old_path.c_str());
  std::remove(big_path.c_str());
  std::remove(flash.c_str());
}

}  // namespace
}  // namespace smpkit::io
