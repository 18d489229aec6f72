#include <gtest/gtest.h>

#include <vector>

#include "smpkit/smp/message.h"

namespace smpkit::smp {
namespace {

TEST(Header, DecodeEncodeByteByByte) {
  const uint8_t raw[] = {0x0a, 0xa5, 0x00, 0x05, 0x00, 0x01, 0xff, 0x07};
  auto h = DecodeHeader(raw);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->op, 2);
  EXPECT_EQ(h->version, kVersion2);
  EXPECT_EQ(h->flags, 0xa5);
  EXPECT_EQ(h->length, 5);
  EXPECT_EQ(h->group, 1);
  EXPECT_EQ(h->seq, 0xff);
  EXPECT_EQ(h->id, 7);
  uint8_t out[8];
  ASSERT_TRUE(EncodeHeader(*h, out).ok());
  EXPECT_EQ(std::vector<uint8_t>(out, out + 8), std::vector<uint8_t>(raw, raw + 8));
  // version bits 2 and reserved bits survive a round trip
  const uint8_t odd[] = {0xf7, 0, 0, 0, 0, 0, 0, 0};
  auto h2 = DecodeHeader(odd);
  EXPECT_EQ(h2->reserved, 7);
  EXPECT_EQ(h2->version, 2);
  EXPECT_EQ(h2->op, 7);
  EXPECT_FALSE(DecodeHeader(ConstByteSpan(raw, 7)).ok());
}

TEST(BuildFrame, Spec12_2C_EchoRequest) {
  uint8_t buf[64];
  Header h;
  h.op = 2;
  h.seq = 0x2a;
  auto frame = BuildFrame(h, buf, [](cbor::Writer& w) { w.Key("d").Text("hello"); });
  ASSERT_TRUE(frame.ok());
  const std::vector<uint8_t> want = {0x0a, 0, 0, 9, 0, 0, 0x2a, 0, 0xa1, 0x61, 0x64,
                                     0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
  EXPECT_EQ(std::vector<uint8_t>(frame->begin(), frame->end()), want);
}

TEST(ParseResponse, BothErrorShapes) {
  // {"err":{"group":1,"rc":9}} (spec §12.2 E, no free slot, v2)
  const std::vector<uint8_t> v2 = {0x0b, 0, 0, 0x13, 0, 1, 7, 1, 0xbf, 0x63, 0x65, 0x72, 0x72,
                                   0xbf, 0x65, 0x67, 0x72, 0x6f, 0x75, 0x70, 0x01, 0x62, 0x72,
                                   0x63, 0x09, 0xff, 0xff};
  auto r = ParseResponse(v2);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->err.has_value());
  EXPECT_EQ(r->err->group, 1);
  EXPECT_EQ(r->err->rc, 9);
  char text[128];
  EXPECT_EQ(DescribeError(*r, text), "image group (1) error 9 (NO_FREE_SLOT)");
  // {"rc":1,"rsn":"magic mismatch"} (capture step 83)
  const std::vector<uint8_t> v1 = {0x03, 0, 0, 0x19, 0, 1, 0x53, 1, 0xbf, 0x62, 0x72, 0x63,
                                   0x01, 0x63, 0x72, 0x73, 0x6e, 0x6e, 'm', 'a', 'g', 'i', 'c',
                                   ' ', 'm', 'i', 's', 'm', 'a', 't', 'c', 'h', 0xff};
  auto r1 = ParseResponse(v1);
  ASSERT_TRUE(r1.ok()) << r1.error().message();
  EXPECT_EQ(r1->rc, 1);
  EXPECT_EQ(r1->reason, "magic mismatch");
  EXPECT_EQ(DescribeError(*r1, text), "rc 1 (EUNKNOWN: unknown error), reason: magic mismatch");
  // success with rc 0 (legacy-rc servers)
  const std::vector<uint8_t> ok = {0x0b, 0, 0, 5, 0, 1, 1, 1, 0xa1, 0x62, 0x72, 0x63, 0x00};
  ASSERT_TRUE(ParseResponse(ok)->ok());
  // length mismatch
  EXPECT_FALSE(ParseResponse(ConstByteSpan(v2.data(), v2.size() - 1)).ok());
}

}  // namespace
}  // namespace smpkit::smp
