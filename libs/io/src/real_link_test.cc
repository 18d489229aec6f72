// The client against the limits of real links, through real sockets and the real device
// process: Zephyr's UDP datagram limit (smp-protocol.md §8.5), the packet-size fallback, and
// a seeded lossy relay (io::UdpRelay) between two sockets.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/device/device.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/io/udp_relay.h"
#include "smpkit/smp/header.h"
#include "smpkit/testing/device_process.h"
#include "smpkit/testing/run_process.h"
#include "smpkit/transport/serial.h"

namespace smpkit::io {
namespace {

using smpkit::testing::DeviceProcess;
using smpkit::testing::ProcResult;
using smpkit::testing::RunProcess;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string Smpkit() { return std::string(SMPKIT_BINARY_DIR) + "/apps/smpkit/smpkit"; }

std::string TempPath(const std::string& tag) {
  std::string p = "/tmp/smpkit-real-link-" + tag + "-" + std::to_string(getpid());
  std::remove(p.c_str());
  return p;
}

// Writes a hash-only MCUboot image of exactly `size` bytes; returns its path.
std::string WriteImage(const std::string& tag, const char* version, uint32_t size, uint32_t seed) {
  auto probe = device::MakeFactoryImage(version, size / 2, seed);
  EXPECT_TRUE(probe.ok());
  const uint32_t overhead = static_cast<uint32_t>(probe->size()) - size / 2;
  auto img = device::MakeFactoryImage(version, size - overhead, seed);
  EXPECT_TRUE(img.ok());
  EXPECT_EQ(img->size(), size);
  std::string path = TempPath(tag) + ".bin";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(img->data()), static_cast<std::streamsize>(img->size()));
  return path;
}

// One datagram to the device and the first answer (empty after 2 s).
std::vector<uint8_t> Exchange(uint16_t port, const std::vector<uint8_t>& datagram) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::vector<uint8_t> buf(65536);
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  close(fd);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

// An echo request whose datagram is exactly `size` bytes: {"d": "xxx..."}.
std::vector<uint8_t> EchoDatagram(size_t size) {
  const size_t text = size - 14;  // header, map head, key "d", 3-byte text head
  std::vector<uint8_t> d = {0x0a,
                            0,
                            static_cast<uint8_t>((size - 8) >> 8),
                            static_cast<uint8_t>(size - 8),
                            0,
                            0,
                            1,
                            0,
                            0xa1,
                            0x61,
                            'd',
                            0x79,
                            static_cast<uint8_t>(text >> 8),
                            static_cast<uint8_t>(text)};
  d.resize(size, 'x');
  return d;
}

TEST(RealLinkTest, DeviceTakesDatagramsUpToItsUdpMtuAsZephyrDoes) {
  std::string flash = TempPath("mtu") + ".flash";
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  // 1500 bytes: answered (the echo comes back); 1501: cut short, answered rc 9.
  auto ok = Exchange(dev.udp_port(), EchoDatagram(1500));
  ASSERT_GE(ok.size(), 8u);
  EXPECT_EQ(ok.size(), 1501u);  // the answer map is indefinite-length: one byte more
  auto cut = Exchange(dev.udp_port(), EchoDatagram(1501));
  const std::vector<uint8_t> rc9 = {0x0b, 0, 0, 6, 0, 0, 1, 0, 0xbf, 0x62, 'r', 'c', 0x09, 0xff};
  EXPECT_EQ(cut, rc9);
  std::remove(flash.c_str());
  // --udp-mtu raises the limit.
  DeviceProcess big(Smpkit(),
                    {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet", "--udp-mtu", "4000"});
  ASSERT_NE(big.udp_port(), 0);
  EXPECT_EQ(Exchange(big.udp_port(), EchoDatagram(2400)).size(), 2401u);
  std::remove(flash.c_str());
}

void ExpectUpgradeJson(const ProcResult& r, size_t max_packet) {
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], "2.0.0");
  // The device's defaults are Zephyr's: no image check, so no "match". The bootloader checks
  // the image's hash TLV before it boots it: 2.0.0 active below is the check.
  EXPECT_FALSE(j["upload"].contains("match") && !j["upload"]["match"].is_null()) << r.out;
  EXPECT_TRUE(j["upload"]["mtu_fallbacks"].empty()) << r.out;
  EXPECT_LE(j["upload"]["packet_size"].get<size_t>(), max_packet);
  bool active = false;
  for (const auto& s : j["state"]) {
    if (s["version"] == "2.0.0") active = s["active"].get<bool>() && s["confirmed"].get<bool>();
  }
  EXPECT_TRUE(active) << r.out;
}

TEST(RealLinkTest, Upgrade512KiBWithDefaultOptionsOverIpv4Ipv6AndPty) {
  const std::string image = WriteImage("512k", "2.0.0", 512 * 1024, 5);
  const std::vector<std::string> slot = {"--slot-size", "0x82000"};
  struct Case {
    const char* name;
    std::vector<std::string> args;
    size_t max_packet;
  } cases[] = {{"ipv4", {"--udp", "127.0.0.1:0"}, 1472},
               {"ipv6", {"--udp", "[::1]:0"}, 1452},
               {"pty", {"--serial-pty"}, 2475 - 4}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string flash = TempPath(c.name) + ".flash";
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--flash", flash, "--quiet"});
    args.insert(args.end(), slot.begin(), slot.end());
    DeviceProcess dev(Smpkit(), args);
    std::string conn;
    if (std::string(c.name) == "ipv4") conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
    if (std::string(c.name) == "ipv6") conn = "udp:[::1]:" + std::to_string(dev.udp6_port());
    if (std::string(c.name) == "pty") conn = "serial:" + dev.pty();
    ASSERT_FALSE(conn.empty() || conn.back() == ':' || conn == "serial:");
    auto r =
        RunProcess({Smpkit(), "--conn", conn, "--json", "upgrade", image, "--reset-wait", "20"},
                   std::chrono::seconds(180));
    ExpectUpgradeJson(r, c.max_packet);
    std::remove(flash.c_str());
  }
  std::remove(image.c_str());
}

TEST(RealLinkTest, ClientFallsBackFromAnMtuTheDeviceDoesNotTake) {
  std::string flash = TempPath("fallback") + ".flash";
  DeviceProcess dev(Smpkit(),
                    {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet", "--image-check"});
  ASSERT_NE(dev.udp_port(), 0);
  const std::string image = WriteImage("fallback", "2.0.0", 100000, 6);
  const std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  // --mtu 2400 is more than the device's 1500-byte UDP limit: rc 9, then 1472.
  auto r =
      RunProcess({Smpkit(), "--conn", conn, "--mtu", "2400", "--json", "image", "upload", image},
                 std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["match"], true);
  ASSERT_EQ(j["mtu_fallbacks"].size(), 1u) << r.out;
  EXPECT_EQ(j["mtu_fallbacks"][0]["from"], 2400);
  EXPECT_EQ(j["mtu_fallbacks"][0]["to"], 1472);
  EXPECT_THAT(j["mtu_fallbacks"][0]["reason"].get<std::string>(), HasSubstr("rc 9"));
  // Human output says so on stderr.
  auto again = RunProcess({Smpkit(), "--conn", conn, "--mtu", "2400", "image", "upload", image,
                           "--no-skip", "--progress", "none"},
                          std::chrono::seconds(60));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err,
              HasSubstr("2400-byte requests did not get through (rc 9 (ECORRUPT) to a 2400-byte "
                        "echo); continuing with 1472-byte requests"));
  std::remove(image.c_str());
  std::remove(flash.c_str());
}

TEST(RealLinkTest, FiftyUploadsThroughALossyRelayAllMatch) {
  // 10 % of datagrams lost each way, 3 % duplicated, 3 % reordered (held back 5 ms), between
  // two real sockets; default client options.
  std::string flash = TempPath("relay") + ".flash";
  // The image check on, so that every upload ends with the device's "match".
  DeviceProcess dev(Smpkit(),
                    {"--udp", "127.0.0.1:0", "--flash", flash, "--quiet", "--image-check"});
  ASSERT_NE(dev.udp_port(), 0);
  RelayConfig config;
  config.to_target = NoFaults();
  config.to_target.drop = 0.10;
  config.to_target.duplicate = 0.03;
  config.to_target.reorder = 0.03;
  config.to_target.reorder_delay = std::chrono::milliseconds(5);
  config.to_client = config.to_target;
  config.seed = 2026;
  auto relay = RelayThread::Start(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                  asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                          static_cast<uint16_t>(dev.udp_port())),
                                  config);
  ASSERT_TRUE(relay.ok()) << relay.error().message();
  const std::string conn = "udp:127.0.0.1:" + std::to_string((*relay)->port());
  // Two images in turn, so that the device never holds the one being uploaded already.
  const std::string images[2] = {WriteImage("relay-a", "2.0.0", 250000, 7),
                                 WriteImage("relay-b", "2.0.1", 250000, 8)};
  int matched = 0;
  double total_s = 0, worst_s = 0;
  uint64_t fallbacks = 0, fast = 0, timeouts = 0;
  for (int i = 0; i < 50; ++i) {
    // A datagram of the previous upload still held back in the relay (a reordered first
    // chunk of the other image) would restart the device's one upload: let them drain.
    usleep(30000);
    const auto start = Clock::now();
    auto r = RunProcess({Smpkit(), "--conn", conn, "--json", "image", "upload", images[i % 2]},
                        std::chrono::seconds(90));
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    total_s += s;
    worst_s = std::max(worst_s, s);
    ASSERT_EQ(r.exit_code, 0) << "upload " << i << ": " << r.err;
    auto j = nlohmann::json::parse(r.out);
    if (j["match"] == true) ++matched;
    fallbacks += j["mtu_fallbacks"].size();
    fast += j["fast_retransmits"].get<uint64_t>();
    timeouts += j["timeouts"].get<uint64_t>();
  }
  (*relay)->Stop();
  const RelayStats& st = (*relay)->stats();
  EXPECT_EQ(matched, 50);
  EXPECT_GT(st.to_target.dropped, 500u);  // the faults really hit
  EXPECT_GT(st.to_client.dropped, 500u);
  EXPECT_GT(st.to_target.duplicated + st.to_client.duplicated, 100u);
  EXPECT_GT(st.to_target.reordered + st.to_client.reordered, 100u);
  // Bounded: every upload's own limit above, and the whole run.
  EXPECT_LT(total_s, 600.0);
  std::printf(
      "50 uploads of 250 KB through the lossy relay: %d matched, %.1f s in all (worst %.2f s); "
      "%llu fast retransmits, %llu timeouts, %llu packet-size fallbacks; relay dropped %llu + "
      "%llu of %llu + %llu datagrams\n",
      matched, total_s, worst_s, static_cast<unsigned long long>(fast),
      static_cast<unsigned long long>(timeouts), static_cast<unsigned long long>(fallbacks),
      static_cast<unsigned long long>(st.to_target.dropped),
      static_cast<unsigned long long>(st.to_client.dropped),
      static_cast<unsigned long long>(st.to_target.packets),
      static_cast<unsigned long long>(st.to_client.packets));
  for (const auto& img : images) std::remove(img.c_str());
  std::remove(flash.c_str());
}

TEST(RelayTest, ParsesEndpointsAndForwardsBothWays) {
  EXPECT_TRUE(ParseUdpEndpoint("127.0.0.1:1337").ok());
  EXPECT_EQ(ParseUdpEndpoint("[::1]:9")->address().to_string(), "::1");
  EXPECT_EQ(ParseUdpEndpoint("4000")->port(), 4000);
  EXPECT_FALSE(ParseUdpEndpoint("host:x").ok());
  EXPECT_FALSE(ParseUdpEndpoint("[::1]9").ok());
  EXPECT_FALSE(ParseUdpEndpoint("nohost:1").ok());
}

}  // namespace
}  // namespace smpkit::io

namespace smpkit::io {
namespace {

// Reads what the pty gives within `ms` milliseconds.
std::string ReadFor(int fd, int ms) {
  std::string out;
  const auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Zephyr's uart_mcumgr drops a console line longer than its 128-byte receive buffer whole:
// the device process does too (--serial-line-max), while Zephyr-split lines pass.
TEST(RealLinkTest, ConsoleLinesLongerThanTheReceiveBufferAreDropped) {
  DeviceProcess dev(Smpkit(), {"--serial-pty", "--quiet"});
  ASSERT_FALSE(dev.pty().empty());
  const int fd = open(dev.pty().c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(fd, 0);
  termios t{};
  ASSERT_EQ(tcgetattr(fd, &t), 0);
  cfmakeraw(&t);
  ASSERT_EQ(tcsetattr(fd, TCSANOW, &t), 0);
  // An echo of 150 characters: Zephyr's encoder writes it as two lines of at most 127 bytes.
  const std::string text(150, 'z');
  const uint8_t head[] = {0x0a, 0,   0,    static_cast<uint8_t>(text.size() + 5), 0, 0, 9, 0, 0xa1,
                          0x61, 'd', 0x78, static_cast<uint8_t>(text.size())};
  std::vector<uint8_t> packet(sizeof(head) + text.size());
  std::copy(std::begin(head), std::end(head), packet.begin());
  std::copy(text.begin(), text.end(), packet.begin() + sizeof(head));
  std::vector<uint8_t> wire(transport::SerialEncoder::EncodedSize(packet.size()));
  ASSERT_TRUE(transport::SerialEncoder::Encode(packet, wire).ok());
  std::string split(wire.begin(), wire.end());
  // The same bytes as one line: drop the continuation markers (base64 stays aligned).
  std::string joined = split;
  for (size_t at; (at = joined.find("\n\x04\x14")) != std::string::npos;) joined.erase(at, 3);
  ASSERT_GT(joined.size(), 128u);
  ASSERT_EQ(joined.find('\n'), joined.size() - 1);
  ASSERT_EQ(write(fd, joined.data(), joined.size()), static_cast<ssize_t>(joined.size()));
  EXPECT_EQ(ReadFor(fd, 800), "") << "a 229-byte line must be dropped";
  ASSERT_EQ(write(fd, split.data(), split.size()), static_cast<ssize_t>(split.size()));
  const std::string answer = ReadFor(fd, 800);
  EXPECT_EQ(answer.rfind("\x06\x09", 0), 0u) << "the Zephyr-split request is answered";
  close(fd);
}

}  // namespace
}  // namespace smpkit::io
