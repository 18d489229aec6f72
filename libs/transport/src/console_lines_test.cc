// The console line filter against Zephyr's uart_mcumgr receive rule, and a packet through it.
#include "smpkit/transport/console_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/transport/serial.h"

namespace smpkit::transport {
namespace {

std::vector<std::string> Lines(ConsoleLineFilter& f, const std::string& in) {
  std::vector<std::string> out;
  f.Feed(ConstByteSpan(reinterpret_cast<const uint8_t*>(in.data()), in.size()),
         [&](ConstByteSpan l) { out.emplace_back(l.begin(), l.end()); });
  return out;
}

TEST(ConsoleLineFilterTest, LinesUpToTheBufferPassLongerOnesAreDroppedWhole) {
  std::vector<uint8_t> buf(8);
  ConsoleLineFilter f(buf);
  EXPECT_EQ(Lines(f, "abc\n1234567\n"), (std::vector<std::string>{"abc\n", "1234567\n"}));
  // 9 bytes with the newline: dropped, the next line is whole again.
  EXPECT_EQ(Lines(f, "12345678\nok\n"), (std::vector<std::string>{"ok\n"}));
  EXPECT_EQ(f.dropped_lines(), 1u);
  // A line split across reads.
  EXPECT_TRUE(Lines(f, "ab").empty());
  EXPECT_EQ(Lines(f, "c\n"), (std::vector<std::string>{"abc\n"}));
  // A long line split across reads is still dropped whole.
  EXPECT_TRUE(Lines(f, "123456").empty());
  EXPECT_TRUE(Lines(f, "7890\n").empty());
  EXPECT_EQ(f.dropped_lines(), 2u);
}

TEST(ConsoleLineFilterTest, ZephyrEncodedPacketsPassTheDefault128ByteBuffer) {
  // Zephyr's encoder keeps lines within 127 bytes: a 2 KiB packet passes line by line and
  // decodes; the same packet re-cut into 200-byte lines does not.
  std::vector<uint8_t> packet(2048);
  for (size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> wire(SerialEncoder::EncodedSize(packet.size()));
  ASSERT_TRUE(SerialEncoder::Encode(packet, wire).ok());
  std::vector<uint8_t> line_buf(128), decode_buf(4096);
  ConsoleLineFilter filter(line_buf);
  SerialDecoder decoder(decode_buf);
  int packets = 0;
  filter.Feed(wire, [&](ConstByteSpan line) {
    auto r = decoder.Feed(line);
    if (r.packet.ok() && r.packet->has_value()) ++packets;
  });
  EXPECT_EQ(packets, 1);
  EXPECT_EQ(filter.dropped_lines(), 0u);
}

}  // namespace
}  // namespace smpkit::transport
