#include "smpkit/transport/serial.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smpkit/base/base64.h"
#include "smpkit/base/crc.h"
#include "smpkit/testing/hex.h"

namespace smpkit::transport {
namespace test_support {
size_t AllocationCount();  // alloc_counter_test.cc
}  // namespace test_support
namespace {

using Bytes = std::vector<uint8_t>;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

using smpkit::testing::FromHex;

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes FromString(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes EncodeOrDie(const Bytes& packet) {
  Bytes out(SerialEncoder::EncodedSize(packet.size()));
  auto n = SerialEncoder::Encode(packet, out);
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message());
  if (!n.ok()) return {};
  EXPECT_EQ(*n, out.size());
  return out;
}

// Splits wire bytes into lines (each including its '\n').
std::vector<Bytes> Lines(const Bytes& wire) {
  std::vector<Bytes> lines;
  Bytes cur;
  for (uint8_t b : wire) {
    cur.push_back(b);
    if (b == '\n') {
      lines.push_back(cur);
      cur.clear();
    }
  }
  EXPECT_TRUE(cur.empty()) << "trailing bytes without newline";
  return lines;
}

// Raw body bytes one line carries, decoding its base64 on its own (which must succeed).
Bytes LineBody(const Bytes& line) {
  std::string_view text(reinterpret_cast<const char*>(line.data()) + 2, line.size() - 3);
  Bytes out(text.size());
  auto n = Base64Decode(text, out);
  EXPECT_TRUE(n.ok()) << "line does not decode on its own: " << text;
  out.resize(n.ok() ? *n : 0);
  return out;
}

struct Decoded {
  std::vector<Bytes> packets;
  std::vector<Error> errors;
};

Decoded DecodeAll(SerialDecoder& decoder, const Bytes& wire) {
  Decoded d;
  ConstByteSpan rest(wire);
  while (!rest.empty()) {
    auto r = decoder.Feed(rest);
    EXPECT_GT(r.consumed, 0u);
    rest = rest.subspan(r.consumed);
    if (!r.packet.ok()) {
      d.errors.push_back(r.packet.error());
    } else if (r.packet->has_value()) {
      d.packets.emplace_back((*r.packet)->begin(), (*r.packet)->end());
    }
  }
  return d;
}

// smp-protocol.md §12.2 I.
const Bytes kSpecIPacket = FromHex("0a 00 00 06 00 00 01 00 a1 61 64 62 68 69");
const Bytes kSpecILine =
    FromHex("06 09 41 42 41 4b 41 41 41 47 41 41 41 42 41 4b 46 68 5a 47 4a 6f 61 61 57 76 0a");

TEST(SerialEncoder, SpecVectorI) {
  EXPECT_EQ(SerialEncoder::EncodedSize(kSpecIPacket.size()), kSpecILine.size());
  EXPECT_THAT(EncodeOrDie(kSpecIPacket), ElementsAreArray(kSpecILine));
}

TEST(SerialDecoder, SpecVectorI) {
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, kSpecILine);
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_THAT(d.packets[0], ElementsAreArray(kSpecIPacket));
}

// ---------------------------------------------------------------------------------------------
// Zephyr 3.4 captures: request_hex is what was written to the pty, response_hex what Zephyr's
// own encoder sent back.

nlohmann::json LoadCaptures() {
  std::ifstream in(std::string(SMPKIT_SHARED_DIR) + "/vectors/smp/zephyr-3.4-captures.json");
  EXPECT_TRUE(in.good()) << "cannot open captures under " << SMPKIT_SHARED_DIR;
  if (!in.good()) return nlohmann::json::array();
  return nlohmann::json::parse(in);
}

// Checks a decoded packet against the capture's own description of it (lines, prefix, CRC,
// header fields), reconstructed from the recorded base64 text rather than from our decoder.
void CheckAgainstDescription(const Bytes& packet, const nlohmann::json& desc) {
  Bytes body;
  for (const auto& line : desc["lines"]) {
    const std::string b64 = line["base64"];
    Bytes part(b64.size());
    auto n = Base64Decode(b64, part);
    ASSERT_TRUE(n.ok());
    part.resize(*n);
    body.insert(body.end(), part.begin(), part.end());
  }
  const auto& pkt = desc["packet"];
  ASSERT_EQ(body.size(), packet.size() + 4);
  EXPECT_EQ(LoadBe16(body.data()), pkt["length_prefix"].get<int>());
  EXPECT_EQ(Bytes(body.begin() + 2, body.end() - 2), packet);
  EXPECT_EQ(Bytes(body.end() - 2, body.end()), FromHex(pkt["crc_hex"].get<std::string>()));
  ASSERT_EQ(pkt["frames"].size(), 1u);
  const auto& f = pkt["frames"][0];
  ASSERT_GE(packet.size(), 8u);
  EXPECT_EQ(packet[0] & 7, f["op"].get<int>());
  EXPECT_EQ(packet[0] >> 3 & 3, f["ver"].get<int>());
  EXPECT_EQ(packet[1], f["flags"].get<int>());
  EXPECT_EQ(LoadBe16(&packet[2]), f["len"].get<int>());
  EXPECT_EQ(LoadBe16(&packet[4]), f["group"].get<int>());
  EXPECT_EQ(packet[6], f["seq"].get<int>());
  EXPECT_EQ(packet[7], f["id"].get<int>());
  EXPECT_EQ(packet.size(), 8u + f["len"].get<size_t>());
}

TEST(SerialCaptures, DecodeRequestsAndResponsesEncodeResponsesByteForByte) {
  const nlohmann::json captures = LoadCaptures();
  int serial_cases = 0;
  int multi_line_responses = 0;
  for (const auto& c : captures) {
    if (c["transport"] != "serial") continue;
    ++serial_cases;
    SCOPED_TRACE(c["name"].get<std::string>());
    const Bytes request_wire = FromHex(c["request_hex"].get<std::string>());
    const Bytes response_wire = FromHex(c["response_hex"].get<std::string>());

    SerialDecoderBuffer<1024> decoder;
    Decoded req = DecodeAll(decoder, request_wire);
    EXPECT_TRUE(req.errors.empty());
    ASSERT_EQ(req.packets.size(), 1u);
    CheckAgainstDescription(req.packets[0], c["request_decoded"]);

    Decoded rsp = DecodeAll(decoder, response_wire);
    EXPECT_TRUE(rsp.errors.empty());
    ASSERT_EQ(rsp.packets.size(), 1u);
    CheckAgainstDescription(rsp.packets[0], c["response_decoded"]);
    // The response's header echoes the request's group, seq and id.
    EXPECT_EQ(rsp.packets[0][6], req.packets[0][6]);

    // Zephyr's line split, reproduced byte for byte.
    EXPECT_EQ(SerialEncoder::EncodedSize(rsp.packets[0].size()), response_wire.size());
    EXPECT_THAT(EncodeOrDie(rsp.packets[0]), ElementsAreArray(response_wire));
    if (Lines(response_wire).size() > 1) ++multi_line_responses;
  }
  EXPECT_EQ(serial_cases, 4);
  EXPECT_EQ(multi_line_responses, 2);
}

TEST(SerialCaptures, SpecVectorIWasAcceptedVerbatim) {
  const nlohmann::json captures = LoadCaptures();
  bool found = false;
  for (const auto& c : captures) {
    if (c["name"] != "serial-spec-12.2I-echo") continue;
    found = true;
    EXPECT_EQ(FromHex(c["request_hex"].get<std::string>()), kSpecILine);
  }
  EXPECT_TRUE(found);
}

// ---------------------------------------------------------------------------------------------
// Line split rule

Bytes Pattern(size_t n, uint8_t seed = 0) {
  Bytes p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 37 + seed);
  return p;
}

std::vector<size_t> LineBodySizes(const Bytes& packet) {
  std::vector<size_t> sizes;
  for (const Bytes& line : Lines(EncodeOrDie(packet))) sizes.push_back(LineBody(line).size());
  return sizes;
}

TEST(SerialEncoder, SplitEdgesKeepCrcInOneLine) {
  // Raw body bytes per line (length prefix + packet + CRC), from §8.3: <= 93 in the first line,
  // <= 90 later, the CRC never split from the last data bytes.
  EXPECT_THAT(LineBodySizes(Pattern(1)), ElementsAre(5));
  EXPECT_THAT(LineBodySizes(Pattern(88)), ElementsAre(92));
  EXPECT_THAT(LineBodySizes(Pattern(89)), ElementsAre(93));
  EXPECT_THAT(LineBodySizes(Pattern(90)), ElementsAre(90, 4));  // one data byte moves along
  EXPECT_THAT(LineBodySizes(Pattern(91)), ElementsAre(90, 5));
  EXPECT_THAT(LineBodySizes(Pattern(92)), ElementsAre(93, 3));
  EXPECT_THAT(LineBodySizes(Pattern(179)), ElementsAre(93, 90));
  EXPECT_THAT(LineBodySizes(Pattern(180)), ElementsAre(93, 87, 4));
  EXPECT_THAT(LineBodySizes(Pattern(181)), ElementsAre(93, 87, 5));
  EXPECT_THAT(LineBodySizes(Pattern(182)), ElementsAre(93, 90, 3));
}

// Zephyr's loop, transcribed in its own int arithmetic (mcumgr_serial_tx_pkt), producing the
// sequence of raw body bytes per line; used as an oracle for every size.
std::vector<size_t> ZephyrLineSizes(int len) {
  std::vector<size_t> lines;
  int max_input = ((127 - 3) >> 2) * 3;
  int src_off = 0;
  bool first = true;
  bool last = false;
  while (src_off < len) {
    size_t raw = 0;
    if (first) {
      raw += 3;
      ++src_off;
      max_input -= 3;
    }
    int to_process = std::min(max_input, len - src_off);
    const int reminder = max_input - (len - src_off);
    if (reminder == 0 || reminder == 1) {
      to_process -= 1;
      last = false;
    } else if (reminder >= 2) {
      last = true;
    }
    while (to_process >= 3) {
      raw += 3;
      src_off += 3;
      to_process -= 3;
    }
    if (last) {
      raw += static_cast<size_t>(len - src_off) + 2;
      src_off = len;
    }
    lines.push_back(raw);
    first = false;
  }
  return lines;
}

TEST(SerialEncoder, MatchesZephyrSplitForEverySizeAndLinesStandAlone) {
  for (size_t n = 1; n <= 700; ++n) {
    SCOPED_TRACE(n);
    const Bytes packet = Pattern(n, static_cast<uint8_t>(n));
    const Bytes wire = EncodeOrDie(packet);
    ASSERT_EQ(wire.size(), SerialEncoder::EncodedSize(n));
    const std::vector<Bytes> lines = Lines(wire);
    ASSERT_EQ(LineBodySizes(packet), ZephyrLineSizes(static_cast<int>(n)));
    Bytes body;
    for (size_t i = 0; i < lines.size(); ++i) {
      const Bytes& line = lines[i];
      EXPECT_LE(line.size(), kSerialMaxLineSize);
      EXPECT_EQ(line[0], i == 0 ? 0x06 : 0x04);
      EXPECT_EQ(line[1], i == 0 ? 0x09 : 0x14);
      const Bytes part = LineBody(line);
      EXPECT_LE(part.size(), i == 0 ? 93u : 90u);
      if (i + 1 < lines.size()) {
        EXPECT_EQ(part.size() % 3, 0u);
      }
      body.insert(body.end(), part.begin(), part.end());
    }
    // body = BE16(n + 2) || P || BE16(CRC16/XMODEM(P)); the last line holds the whole CRC.
    ASSERT_EQ(body.size(), n + 4);
    EXPECT_EQ(LoadBe16(body.data()), n + 2);
    EXPECT_TRUE(std::equal(packet.begin(), packet.end(), body.begin() + 2));
    EXPECT_EQ(LoadBe16(&body[n + 2]), Crc16Xmodem(packet));
    EXPECT_GE(LineBody(lines.back()).size(), 2u);

    SerialDecoderBuffer<700> decoder;
    Decoded d = DecodeAll(decoder, wire);
    ASSERT_EQ(d.packets.size(), 1u);
    EXPECT_EQ(d.packets[0], packet);
  }
}

TEST(SerialEncoder, StreamsLineByLine) {
  const Bytes packet = Pattern(300);
  auto encoder = SerialEncoder::Create(packet);
  ASSERT_TRUE(encoder.ok());
  Bytes wire;
  uint8_t line[kSerialMaxLineSize];
  uint8_t tiny[10];
  EXPECT_EQ(encoder->NextLine(tiny).error().code(), Errc::kNoSpace);  // consumes nothing
  while (!encoder->Done()) {
    auto n = encoder->NextLine(line);
    ASSERT_TRUE(n.ok());
    ASSERT_GT(*n, 0u);
    wire.insert(wire.end(), line, line + *n);
  }
  EXPECT_EQ(*encoder->NextLine(line), 0u);
  EXPECT_EQ(wire, EncodeOrDie(packet));
}

TEST(SerialEncoder, Errors) {
  uint8_t out[16];
  EXPECT_EQ(SerialEncoder::Encode({}, out).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(SerialEncoder::EncodedSize(0), 0u);
  Bytes huge(kSerialMaxPacketSize + 1);
  EXPECT_EQ(SerialEncoder::Create(huge).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(SerialEncoder::EncodedSize(huge.size()), 0u);
  auto r = SerialEncoder::Encode(kSpecIPacket, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("needs 27"));
}

TEST(SerialEncoder, LargestPacketStaysWithinLengthPrefix) {
  Bytes big = Pattern(kSerialMaxPacketSize);
  Bytes wire = EncodeOrDie(big);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(LineBody(Lines(wire)[0])[0], 0xFF);
  EXPECT_EQ(LineBody(Lines(wire)[0])[1], 0xFF);
}

// ---------------------------------------------------------------------------------------------
// Decoder behaviour

TEST(SerialDecoder, SkipsLogLinesInterleavedBetweenLines) {
  const Bytes packet = Pattern(250);
  const std::vector<Bytes> lines = Lines(EncodeOrDie(packet));
  ASSERT_EQ(lines.size(), 3u);
  const Bytes wire = Concat({FromString("[00:00:01.000] <inf> app: booting\r\n"), lines[0],
                             FromString("uart:~$ "), FromString("log: 0x04 and 0x06 alone\n"),
                             lines[1], FromString("\n\n"), lines[2], FromString("tail text")});
  SerialDecoderBuffer<512> decoder;
  Decoded d = DecodeAll(decoder, wire);
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], packet);
}

TEST(SerialDecoder, AcceptsMarkerAfterPromptWithoutNewlineAndCrLf) {
  Bytes line = kSpecILine;
  line.insert(line.end() - 1, '\r');
  const Bytes wire = Concat({FromString("uart:~$ "), line});
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, wire);
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);
}

TEST(SerialDecoder, GarbageProducesNothing) {
  Bytes garbage;
  for (int i = 0; i < 4096; ++i) {
    uint8_t b = static_cast<uint8_t>(i * 131 + 7);
    if (b == 0x06 || b == 0x04) b = 'x';
    garbage.push_back(b);
  }
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, garbage);
  EXPECT_TRUE(d.packets.empty());
  EXPECT_TRUE(d.errors.empty());
  EXPECT_FALSE(decoder.in_progress());
  // And it still decodes afterwards.
  d = DecodeAll(decoder, kSpecILine);
  ASSERT_EQ(d.packets.size(), 1u);
}

TEST(SerialDecoder, ContinuationWithoutStartIsIgnored) {
  const std::vector<Bytes> lines = Lines(EncodeOrDie(Pattern(150)));
  ASSERT_EQ(lines.size(), 2u);
  SerialDecoderBuffer<256> decoder;
  Decoded d = DecodeAll(decoder, Concat({lines[1], kSpecILine}));
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);
}

TEST(SerialDecoder, NewPacketLineResetsPartialPacket) {
  const std::vector<Bytes> lines = Lines(EncodeOrDie(Pattern(150)));
  SerialDecoderBuffer<256> decoder;
  // First line of a long packet, then a complete short one, then the orphaned continuation.
  Decoded d = DecodeAll(decoder, Concat({lines[0], kSpecILine, lines[1]}));
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);
  EXPECT_FALSE(decoder.in_progress());
}

TEST(SerialDecoder, BadCrcIsReportedAndDecoderRecovers) {
  // §12.2 I with the CRC's last base64 character changed ("aaWv" -> "aaWw").
  Bytes bad = kSpecILine;
  bad[bad.size() - 2] = 'w';
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, Concat({bad, kSpecILine}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code(), Errc::kCorrupt);
  EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr("CRC mismatch"));
  EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr("0xa5af"));
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);
}

TEST(SerialDecoder, CorruptedPacketByteFailsCrc) {
  Bytes packet = kSpecIPacket;
  Bytes wire = EncodeOrDie(packet);
  wire[5] = wire[5] == 'A' ? 'B' : 'A';
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, wire);
  EXPECT_TRUE(d.packets.empty());
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code(), Errc::kCorrupt);
}

TEST(SerialDecoder, MoreDataThanLengthPrefix) {
  Bytes wire = kSpecILine;
  const Bytes extra = FromString("AAAA");
  wire.insert(wire.end() - 1, extra.begin(), extra.end());
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, Concat({wire, kSpecILine}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code(), Errc::kCorrupt);
  EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr("more than the 16 bytes"));
  ASSERT_EQ(d.packets.size(), 1u);  // recovered at the next line
}

TEST(SerialDecoder, PacketAboveCapacity) {
  const Bytes packet = Pattern(100);
  SerialDecoderBuffer<99> small;
  Decoded d = DecodeAll(small, Concat({EncodeOrDie(packet), kSpecILine}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr("100 bytes"));
  // The continuation line of the refused packet is ignored; the next packet decodes.
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);

  SerialDecoderBuffer<100> exact;
  d = DecodeAll(exact, EncodeOrDie(packet));
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], packet);
}

TEST(SerialDecoder, SpanBackedDecoder) {
  uint8_t storage[16];  // 14-byte packet + CRC
  SerialDecoder decoder(storage);
  EXPECT_EQ(decoder.max_packet_size(), 14u);
  auto r = decoder.Feed(kSpecILine);
  ASSERT_TRUE(r.packet.ok() && r.packet->has_value());
  EXPECT_EQ((*r.packet)->data(), storage);  // a view into the caller's buffer
  EXPECT_EQ(Bytes((*r.packet)->begin(), (*r.packet)->end()), kSpecIPacket);
}

TEST(SerialDecoder, BadBase64) {
  struct Case {
    const char* name;
    Bytes wire;
    Errc code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"bad character", FromHex("06 09 41 42 41 2a 0a"), Errc::kInvalidArgument, "0x2a"},
      {"ends inside quad", Concat({FromHex("06 09"), FromString("ABAKAAA\n")}),
       Errc::kInvalidArgument, "3 characters left over"},
      {"padding mid line", Concat({FromHex("06 09"), FromString("AA==ABAK\n")}),
       Errc::kInvalidArgument, "after '=' padding"},
      {"misplaced padding", Concat({FromHex("06 09"), FromString("A=AA\n")}),
       Errc::kInvalidArgument, "padding"},
      {"no length prefix", Concat({FromHex("06 09"), FromString("\n")}), Errc::kInvalidArgument,
       "length prefix"},
      {"length prefix too small", Concat({FromHex("06 09"), FromString("AAIA\n")}), Errc::kCorrupt,
       "length prefix 2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SerialDecoderBuffer<64> decoder;
    Decoded d = DecodeAll(decoder, Concat({c.wire, kSpecILine}));
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].code(), c.code);
    EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr(c.message));
    ASSERT_EQ(d.packets.size(), 1u) << "decoder must recover at the next line";
    EXPECT_EQ(d.packets[0], kSpecIPacket);
  }
}

TEST(SerialDecoder, MarkerInsideSmpLineStartsOver) {
  // A line cut short (e.g. the device reset) followed directly by a new frame.
  const Bytes wire = Concat({FromHex("06 09"), FromString("ABAKAAAG"), kSpecILine});
  SerialDecoderBuffer<64> decoder;
  Decoded d = DecodeAll(decoder, wire);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_THAT(std::string(d.errors[0].message()), HasSubstr("0x06"));
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_EQ(d.packets[0], kSpecIPacket);
}

TEST(SerialDecoder, SplitAtEveryByteBoundary) {
  const Bytes packet_a = Pattern(200, 1);
  const Bytes packet_b = kSpecIPacket;
  const Bytes wire = Concat(
      {FromString("log\n"), EncodeOrDie(packet_a), FromString("shell> "), EncodeOrDie(packet_b)});
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    SCOPED_TRACE(cut);
    SerialDecoderBuffer<256> decoder;
    Decoded d1 = DecodeAll(decoder, Bytes(wire.begin(), wire.begin() + cut));
    Decoded d2 = DecodeAll(decoder, Bytes(wire.begin() + cut, wire.end()));
    EXPECT_TRUE(d1.errors.empty() && d2.errors.empty());
    d1.packets.insert(d1.packets.end(), d2.packets.begin(), d2.packets.end());
    ASSERT_EQ(d1.packets.size(), 2u);
    EXPECT_EQ(d1.packets[0], packet_a);
    EXPECT_EQ(d1.packets[1], packet_b);
  }
}

TEST(SerialDecoder, ByteAtATime) {
  const Bytes wire = Concat({EncodeOrDie(Pattern(300)), kSpecILine});
  SerialDecoderBuffer<512> decoder;
  std::vector<Bytes> packets;
  for (size_t i = 0; i < wire.size(); ++i) {
    PacketResult r = decoder.Process(wire[i]);
    ASSERT_TRUE(r.ok());
    if (r->has_value()) {
      packets.emplace_back((*r)->begin(), (*r)->end());
      EXPECT_EQ(wire[i], '\n');  // emitted on the newline that completes it
    }
  }
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0], Pattern(300));
  EXPECT_EQ(packets[1], kSpecIPacket);
}

TEST(SerialDecoder, FeedStopsAtEachPacket) {
  const Bytes wire = Concat({kSpecILine, kSpecILine});
  SerialDecoderBuffer<64> decoder;
  auto r = decoder.Feed(wire);
  EXPECT_EQ(r.consumed, kSpecILine.size());
  ASSERT_TRUE(r.packet.ok() && r.packet->has_value());
  r = decoder.Feed(ConstByteSpan(wire).subspan(kSpecILine.size()));
  EXPECT_EQ(r.consumed, kSpecILine.size());
  ASSERT_TRUE(r.packet.ok() && r.packet->has_value());
}

TEST(SerialDecoder, ResetDropsPartialPacket) {
  const std::vector<Bytes> lines = Lines(EncodeOrDie(Pattern(150)));
  SerialDecoderBuffer<256> decoder;
  DecodeAll(decoder, lines[0]);
  EXPECT_TRUE(decoder.in_progress());
  decoder.Reset();
  EXPECT_FALSE(decoder.in_progress());
  Decoded d = DecodeAll(decoder, lines[1]);
  EXPECT_TRUE(d.packets.empty());
  EXPECT_TRUE(d.errors.empty());
}

TEST(SerialTransport, EncodeAndDecodeAllocateNothing) {
  const Bytes packet = Pattern(2048);
  Bytes wire(SerialEncoder::EncodedSize(packet.size()));
  SerialDecoderBuffer<2048> decoder;
  const size_t before = test_support::AllocationCount();
  auto n = SerialEncoder::Encode(packet, wire);
  auto r = decoder.Feed(wire);
  const size_t after = test_support::AllocationCount();
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(r.packet.ok() && r.packet->has_value());
  EXPECT_TRUE(std::equal(packet.begin(), packet.end(), (*r.packet)->begin()));
  EXPECT_EQ(after, before);
  // The counter does see heap use.
  std::vector<uint8_t> heap(64);
  EXPECT_GT(test_support::AllocationCount(), after);
}

}  // namespace
}  // namespace smpkit::transport
