#include "smpkit/bluez/notify_reassembler.h"

#include <gtest/gtest.h>

#include <vector>

namespace smpkit::bluez {
namespace {

std::vector<uint8_t> Packet(uint8_t seq, size_t payload) {
  std::vector<uint8_t> p = {0x03, 0x00, static_cast<uint8_t>(payload >> 8),
                            static_cast<uint8_t>(payload), 0x00, 0x01, seq, 0x01};
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(seq + i));
  return p;
}

struct Collector {
  std::vector<std::vector<uint8_t>> packets;
  NotifyReassembler::PacketFn Fn() {
    return [this](ConstByteSpan p) { packets.emplace_back(p.begin(), p.end()); };
  }
};

TEST(NotifyReassembler, WholePacketInOneNotification) {
  NotifyReassembler r;
  Collector c;
  auto p = Packet(1, 10);
  ASSERT_TRUE(r.Feed(p, c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0], p);
  EXPECT_EQ(r.pending(), 0u);
}

TEST(NotifyReassembler, SplitAcrossNotificationsOfAnySize) {
  auto p = Packet(7, 1200);
  for (size_t size : {1u, 3u, 8u, 20u, 244u, 495u}) {
    NotifyReassembler r;
    Collector c;
    for (size_t off = 0; off < p.size(); off += size) {
      const size_t n = std::min(size, p.size() - off);
      ASSERT_TRUE(r.Feed(ConstByteSpan(p.data() + off, n), c.Fn()).ok());
      EXPECT_EQ(c.packets.size(), off + n == p.size() ? 1u : 0u) << size;
    }
    ASSERT_EQ(c.packets.size(), 1u);
    EXPECT_EQ(c.packets[0], p);
  }
}

TEST(NotifyReassembler, HeaderSplitBeforeItsLength) {
  NotifyReassembler r;
  Collector c;
  auto p = Packet(2, 5);
  ASSERT_TRUE(r.Feed(ConstByteSpan(p.data(), 3), c.Fn()).ok());
  EXPECT_EQ(r.pending(), 3u);
  ASSERT_TRUE(r.Feed(ConstByteSpan(p.data() + 3, p.size() - 3), c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0], p);
}

TEST(NotifyReassembler, MergedPacketsInOneNotification) {
  NotifyReassembler r;
  Collector c;
  auto a = Packet(1, 4), b = Packet(2, 0), d = Packet(3, 30);
  std::vector<uint8_t> stream = a;
  stream.insert(stream.end(), b.begin(), b.end());
  stream.insert(stream.end(), d.begin(), d.begin() + 12);  // d continues in the next one
  ASSERT_TRUE(r.Feed(stream, c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 2u);
  EXPECT_EQ(c.packets[0], a);
  EXPECT_EQ(c.packets[1], b);
  EXPECT_EQ(r.pending(), 12u);
  ASSERT_TRUE(r.Feed(ConstByteSpan(d.data() + 12, d.size() - 12), c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 3u);
  EXPECT_EQ(c.packets[2], d);
}

TEST(NotifyReassembler, OversizedHeaderDropsTheBufferAndRecovers) {
  NotifyReassembler r(64);
  Collector c;
  auto big = Packet(1, 100);
  Status st = r.Feed(ConstByteSpan(big.data(), 20), c.Fn());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kNoSpace);
  EXPECT_EQ(r.pending(), 0u);
  auto ok = Packet(2, 10);
  ASSERT_TRUE(r.Feed(ok, c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0], ok);
}

TEST(NotifyReassembler, ResetDropsPartialPacket) {
  NotifyReassembler r;
  Collector c;
  auto p = Packet(1, 40);
  ASSERT_TRUE(r.Feed(ConstByteSpan(p.data(), 20), c.Fn()).ok());
  r.Reset();
  EXPECT_EQ(r.pending(), 0u);
  ASSERT_TRUE(r.Feed(p, c.Fn()).ok());
  ASSERT_EQ(c.packets.size(), 1u);
  EXPECT_EQ(c.packets[0], p);
}

}  // namespace
}  // namespace smpkit::bluez
