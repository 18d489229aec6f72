#include "smpkit/smp/header.h"

namespace smpkit::smp {

Result<Header> DecodeHeader(ConstByteSpan bytes) {
  if (bytes.size() < kHeaderSize) {
    return Error::Format(Errc::kTruncated, "SMP header needs 8 bytes, got %zu", bytes.size());
  }
  Header h;
  h.reserved = static_cast<uint8_t>(bytes[0] >> 5);
  h.version = static_cast<uint8_t>((bytes[0] >> 3) & 0x3);
  h.op = static_cast<uint8_t>(bytes[0] & 0x7);
  h.flags = bytes[1];
  h.length = LoadBe16(&bytes[2]);
  h.group = LoadBe16(&bytes[4]);
  h.seq = bytes[6];
  h.id = bytes[7];
  return h;
}

Status EncodeHeader(const Header& h, ByteSpan out) {
  if (out.size() < kHeaderSize) return Error(Errc::kNoSpace, "SMP header needs 8 bytes");
  out[0] = static_cast<uint8_t>((h.reserved & 0x7) << 5 | (h.version & 0x3) << 3 | (h.op & 0x7));
  out[1] = h.flags;
  StoreBe16(&out[2], h.length);
  StoreBe16(&out[4], h.group);
  out[6] = h.seq;
  out[7] = h.id;
  return Ok();
}

}  // namespace smpkit::smp
