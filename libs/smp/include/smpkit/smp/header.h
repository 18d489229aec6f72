#pragma once
// The 8-byte SMP header (smp-protocol.md §1.1), encoded byte by byte.

#include <cstdint>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::smp {

inline constexpr size_t kHeaderSize = 8;

enum class Op : uint8_t { kRead = 0, kReadRsp = 1, kWrite = 2, kWriteRsp = 3 };

// Header version bits: 0 = SMP v1 (legacy, rc only), 1 = SMP v2 (err maps).
inline constexpr uint8_t kVersion1 = 0;
inline constexpr uint8_t kVersion2 = 1;

struct Header {
  uint8_t op = 0;        // 0..7 as on the wire (values 4..7 are invalid ops)
  uint8_t version = kVersion2;
  uint8_t reserved = 0;  // top 3 bits of byte 0
  uint8_t flags = 0;
  uint16_t length = 0;   // payload length (header excluded)
  uint16_t group = 0;
  uint8_t seq = 0;
  uint8_t id = 0;

  friend bool operator==(const Header&, const Header&) = default;
};

// Errors: kTruncated if fewer than 8 bytes.
Result<Header> DecodeHeader(ConstByteSpan bytes);
// Writes exactly 8 bytes. Errors: kNoSpace if out is shorter.
Status EncodeHeader(const Header& header, ByteSpan out);

// The op a server answers with: READ -> READ_RSP, anything else -> WRITE_RSP.
inline uint8_t ResponseOp(uint8_t request_op) {
  return request_op == static_cast<uint8_t>(Op::kRead) ? static_cast<uint8_t>(Op::kReadRsp)
                                                        : static_cast<uint8_t>(Op::kWriteRsp);
}

}  // namespace smpkit::smp
