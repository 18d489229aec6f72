#include "smpkit/testing/hex.h"
#include "smpkit/transport/ble_sar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smpkit::transport {
namespace {

using Bytes = std::vector<uint8_t>;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using smpkit::testing::FromHex;

// smp-protocol.md §12.2 E: first upload chunk, 105 bytes.
Bytes SpecEUploadRequest() {
  Bytes p = FromHex(
      "0a 00 00 61 00 01 07 01 a5"
      " 65 69 6d 61 67 65 00"
      " 63 6c 65 6e 19 12 34"
      " 63 6f 66 66 00"
      " 63 73 68 61 58 20");
  for (int i = 0; i < 32; ++i) p.push_back(static_cast<uint8_t>(i));
  const Bytes data = FromHex(
      "64 64 61 74 61 58 20"
      " 3d b8 f3 96 00 00 00 00 00 02 00 00 00 10 00 00"
      " 00 00 00 00 01 02 03 00 00 00 00 00 00 00 00 00");
  p.insert(p.end(), data.begin(), data.end());
  return p;
}

// An SMP packet of `total` bytes (header + payload) with a consistent length field.
Bytes MakePacket(size_t total, uint8_t seq = 0) {
  Bytes p(total);
  p[0] = 0x0a;
  StoreBe16(&p[2], static_cast<uint16_t>(total - kSmpHeaderSize));
  StoreBe16(&p[4], 1);
  p[6] = seq;
  p[7] = 1;
  for (size_t i = kSmpHeaderSize; i < total; ++i) p[i] = static_cast<uint8_t>(i * 7 + seq);
  return p;
}

std::vector<Bytes> Fragments(const Bytes& packet, size_t mtu) {
  auto frag = BleFragmenter::Create(packet, mtu);
  EXPECT_TRUE(frag.ok());
  std::vector<Bytes> out;
  if (!frag.ok()) return out;
  while (!frag->Done()) {
    ConstByteSpan f = frag->Next();
    out.emplace_back(f.begin(), f.end());
  }
  EXPECT_EQ(out.size(), frag->FragmentCount());
  return out;
}

std::vector<size_t> Sizes(const std::vector<Bytes>& frags) {
  std::vector<size_t> s;
  for (const auto& f : frags) s.push_back(f.size());
  return s;
}

TEST(BleFragmenter, SpecE105BytesAtMtu23) {
  const Bytes packet = SpecEUploadRequest();
  ASSERT_EQ(packet.size(), 105u);
  ASSERT_EQ(*SmpPacketSize(packet), 105u);  // 8 + 0x61
  const auto frags = Fragments(packet, 23);
  EXPECT_THAT(Sizes(frags), ElementsAre(20, 20, 20, 20, 20, 5));

  BleReassemblerBuffer<384> reassembler;
  for (size_t i = 0; i < frags.size(); ++i) {
    PacketResult r = reassembler.Feed(frags[i]);
    ASSERT_TRUE(r.ok()) << r.error().message();
    if (i + 1 < frags.size()) {
      EXPECT_FALSE(r->has_value());
      EXPECT_EQ(reassembler.expected(), 105u);
    } else {
      ASSERT_TRUE(r->has_value());
      EXPECT_EQ(Bytes((*r)->begin(), (*r)->end()), packet);
    }
  }
  EXPECT_FALSE(reassembler.in_progress());
}

TEST(BleFragmenter, MtuLimitsAndVariableChunks) {
  const Bytes packet = MakePacket(2475);
  EXPECT_THAT(Sizes(Fragments(packet, 498)), ElementsAre(495, 495, 495, 495, 495));
  EXPECT_THAT(Sizes(Fragments(packet, 517)), ElementsAre(514, 514, 514, 514, 419));
  EXPECT_EQ(BleFragmenter::Create(packet, 22).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(BleFragmenter::Create(packet, 518).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(AttPayloadSize(247), 244u);

  // A server halving its chunk size when it runs out of buffers (down to 20).
  auto frag = BleFragmenter::Create(packet, 247);
  ASSERT_TRUE(frag.ok());
  EXPECT_EQ(frag->Next().size(), 244u);
  EXPECT_EQ(frag->Next(122).size(), 122u);
  EXPECT_EQ(frag->Next(20).size(), 20u);
  EXPECT_EQ(frag->Next(0).size(), 0u);
  size_t rest = 0;
  while (!frag->Done()) rest += frag->Next().size();
  EXPECT_EQ(rest, 2475u - 244 - 122 - 20);
  EXPECT_TRUE(frag->Next().empty());
}

TEST(BleReassembler, LargePacketAtMtu498) {
  const Bytes packet = MakePacket(2475, 9);
  BleReassemblerBuffer<2475> reassembler;
  const auto frags = Fragments(packet, 498);
  for (size_t i = 0; i < frags.size(); ++i) {
    PacketResult r = reassembler.Feed(frags[i]);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->has_value(), i + 1 == frags.size());
    if (r->has_value()) {
      EXPECT_EQ(Bytes((*r)->begin(), (*r)->end()), packet);
    }
  }
}

TEST(BleReassembler, SeveralPacketsInARowAndHeaderOnlyPacket) {
  BleReassemblerBuffer<256> reassembler;
  const Bytes header_only = MakePacket(8);
  PacketResult r = reassembler.Feed(header_only);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->size(), 8u);
  for (uint8_t seq = 0; seq < 5; ++seq) {
    const Bytes packet = MakePacket(50 + seq * 13, seq);
    std::vector<Bytes> frags = Fragments(packet, 23);
    for (size_t i = 0; i < frags.size(); ++i) {
      r = reassembler.Feed(frags[i]);
      ASSERT_TRUE(r.ok());
    }
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(Bytes((*r)->begin(), (*r)->end()), packet);
  }
}

TEST(BleReassembler, FirstFragmentShorterThanHeader) {
  BleReassemblerBuffer<256> reassembler;
  const Bytes packet = MakePacket(30);
  PacketResult r = reassembler.Feed(ConstByteSpan(packet).first(7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTruncated);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("7 bytes"));
  EXPECT_FALSE(reassembler.in_progress());
  EXPECT_EQ(reassembler.Feed({}).error().code(), Errc::kTruncated);
  // A proper packet afterwards is accepted.
  r = reassembler.Feed(packet);
  ASSERT_TRUE(r.ok() && r->has_value());
}

TEST(BleReassembler, PacketAboveCapacity) {
  BleReassemblerBuffer<100> reassembler;
  const Bytes packet = MakePacket(101);
  PacketResult r = reassembler.Feed(ConstByteSpan(packet).first(20));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("101 bytes"));
  EXPECT_FALSE(reassembler.in_progress());
  // Exactly the capacity fits.
  const Bytes fits = MakePacket(100);
  r = reassembler.Feed(fits);
  ASSERT_TRUE(r.ok() && r->has_value());
}

TEST(BleReassembler, FragmentBeyondPacketEndDropsPartialPacket) {
  BleReassemblerBuffer<256> reassembler;
  const Bytes a = MakePacket(30, 1);
  const Bytes b = MakePacket(30, 2);
  // Packet a's tail packed together with the start of packet b: not allowed.
  Bytes packed(a.begin() + 20, a.end());
  packed.insert(packed.end(), b.begin(), b.begin() + 10);
  ASSERT_TRUE(reassembler.Feed(ConstByteSpan(a).first(20)).ok());
  EXPECT_TRUE(reassembler.in_progress());
  PacketResult r = reassembler.Feed(packed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("runs 10 bytes past"));
  EXPECT_FALSE(reassembler.in_progress());
  // The next write starts a new packet.
  r = reassembler.Feed(b);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(Bytes((*r)->begin(), (*r)->end()), b);
}

TEST(BleReassembler, SingleWriteLongerThanPacket) {
  BleReassemblerBuffer<256> reassembler;
  Bytes two = MakePacket(12, 1);
  const Bytes second = MakePacket(12, 2);
  two.insert(two.end(), second.begin(), second.end());
  PacketResult r = reassembler.Feed(two);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
  EXPECT_FALSE(reassembler.in_progress());
}

TEST(BleReassembler, ResetOnDisconnectAndEmptyFragments) {
  BleReassemblerBuffer<256> reassembler;
  const Bytes a = MakePacket(60, 1);
  ASSERT_TRUE(reassembler.Feed(ConstByteSpan(a).first(20)).ok());
  EXPECT_EQ(reassembler.received(), 20u);
  PacketResult r = reassembler.Feed({});  // empty write mid-packet changes nothing
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(reassembler.received(), 20u);
  reassembler.Reset();  // CCC disabled / disconnect
  EXPECT_FALSE(reassembler.in_progress());
  EXPECT_EQ(reassembler.expected(), 0u);
  const Bytes b = MakePacket(20, 2);
  r = reassembler.Feed(b);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(Bytes((*r)->begin(), (*r)->end()), b);
}

TEST(BleReassembler, SpanBacked) {
  uint8_t storage[64];
  BleReassembler reassembler(storage);
  EXPECT_EQ(reassembler.capacity(), 64u);
  const Bytes p = MakePacket(64);
  PacketResult r = reassembler.Feed(p);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->data(), storage);
}

TEST(SmpPacketSize, ReadsHeaderLength) {
  EXPECT_EQ(*SmpPacketSize(FromHex("0b 00 01 02 00 00 00 00")), 8u + 0x102);
  EXPECT_EQ(SmpPacketSize(FromHex("0b 00 01")).error().code(), Errc::kTruncated);
}

}  // namespace
}  // namespace smpkit::transport
