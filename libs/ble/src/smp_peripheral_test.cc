#include "smpkit/ble/smp_peripheral.h"

#include <gtest/gtest.h>

#include <vector>

namespace smpkit::ble {
namespace {

using std::chrono::milliseconds;

// An SMP request (version 1, write, group 0, id 0) with sequence number `seq` and the payload
// {} (one CBOR byte).
std::vector<uint8_t> Request(uint8_t seq) { return {0x02, 0, 0, 1, 0, 0, seq, 0, 0xa0}; }

struct PeripheralFixture {
  PeripheralFixture() : link(sched, Cfg()), server(link, 498), client(link, 498) {
    client.SetNotificationHandler([this](ConstByteSpan v) {
      answers.emplace_back(v.begin(), v.end());
      answer_times.push_back(sched.Now());
    });
  }
  static LinkConfig Cfg() {
    LinkConfig c;
    c.phy = Phy::k2M;
    c.data_length = 251;
    c.params.interval = 6;  // 7.5 ms
    return c;
  }
  void Ready() {
    ASSERT_TRUE(link.Connect().ok());
    ASSERT_TRUE(client.ExchangeMtu([this](uint16_t) { (void)client.SetNotifications(true); }).ok());
    sched.RunUntilIdle();
    ASSERT_TRUE(server.notifications_enabled());
  }
  sim::Scheduler sched;
  Link link;
  GattSmpServer server;
  GattSmpClient client;
  std::vector<std::vector<uint8_t>> answers;
  std::vector<sim::Time> answer_times;
};

TEST(SmpPeripheralTest, RequestsHoldBuffersUntilAnsweredAndAnswersKeepOrder) {
  PeripheralFixture f;
  f.Ready();
  SmpPeripheralConfig pc;
  pc.buf_size = 64;
  pc.buf_count = 2;
  std::vector<uint8_t> handled;
  bool registered = true;
  std::vector<std::string> logs;
  SmpPeripheral p(
      f.sched, f.link, f.server, pc,
      [&](ConstByteSpan packet, smp::FrameCollector& frames) {
        handled.push_back(packet[6]);
        std::vector<uint8_t> rsp(packet.begin(), packet.end());
        rsp[0] = 0x03;  // write response
        frames.SendResponse(rsp);
        SmpPeripheral::Work w;
        w.flash = milliseconds(20);  // each answer waits for its flash work
        return w;
      },
      [&] { return registered; }, [&](std::string_view m) { logs.emplace_back(m); });

  const sim::Time sent = f.sched.Now();
  for (uint8_t seq = 1; seq <= 3; ++seq)
    ASSERT_TRUE(f.client.WriteWithoutResponse(Request(seq)).ok());
  f.sched.RunFor(milliseconds(200));
  // Two buffers: the third request found none free and was dropped, as smp_bt drops it.
  EXPECT_EQ(handled, (std::vector<uint8_t>{1, 2}));
  EXPECT_EQ(p.dropped_no_buffer(), 1u);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("no free SMP buffer"), std::string::npos);
  ASSERT_EQ(f.answers.size(), 2u);
  EXPECT_EQ(f.answers[0][6], 1);
  EXPECT_EQ(f.answers[1][6], 2);
  EXPECT_EQ(f.answers[0][0], 0x03);
  // The flash work runs one job after another: the second answer follows the first by 20 ms.
  EXPECT_GE(f.answer_times[0] - sent, milliseconds(20));
  EXPECT_GE(f.answer_times[1] - f.answer_times[0], milliseconds(20) - milliseconds(8));
  EXPECT_EQ(p.buffers_in_use(), 0u);

  // The buffers are free again; before the service registers, writes are ignored.
  registered = false;
  ASSERT_TRUE(f.client.WriteWithoutResponse(Request(4)).ok());
  f.sched.RunFor(milliseconds(100));
  EXPECT_EQ(handled.size(), 2u);
  registered = true;
  ASSERT_TRUE(f.client.WriteWithoutResponse(Request(5)).ok());
  f.sched.RunFor(milliseconds(100));
  EXPECT_EQ(handled.back(), 5);
  EXPECT_EQ(f.answers.size(), 3u);
}

TEST(SmpPeripheralTest, AMalformedPacketIsLoggedAndTheNextOneStillServed) {
  PeripheralFixture f;
  f.Ready();
  SmpPeripheralConfig pc;
  pc.buf_size = 64;
  std::vector<std::string> logs;
  int handled = 0;
  SmpPeripheral p(
      f.sched, f.link, f.server, pc,
      [&](ConstByteSpan, smp::FrameCollector&) {
        ++handled;
        return SmpPeripheral::Work{};
      },
      {}, [&](std::string_view m) { logs.emplace_back(m); });
  const uint8_t short_header[] = {0x02, 0, 0};  // shorter than an SMP header
  ASSERT_TRUE(f.client.WriteWithoutResponse(short_header).ok());
  f.sched.RunFor(milliseconds(50));
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("SMP reassembly"), std::string::npos);
  ASSERT_TRUE(f.client.WriteWithoutResponse(Request(9)).ok());
  f.sched.RunFor(milliseconds(50));
  EXPECT_EQ(handled, 1);
}

}  // namespace
}  // namespace smpkit::ble
