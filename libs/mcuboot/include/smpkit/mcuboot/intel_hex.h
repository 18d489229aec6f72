#pragma once
// Intel HEX as imgtool reads and writes it (through Python's `intelhex` package), so that
// `smpkit image sign in.hex out.hex` is byte-identical to `imgtool sign in.hex out.hex`.
//
// Reading (IntelHex.loadhex): lines end in LF, CR LF or CR; empty lines are skipped; each
// record is ':' + an even number of hex digits (either case) of at least 5 bytes whose
// length byte matches, type 0-5, checksum sum == 0 mod 256. Data (00) lands at record address
// + the current offset (02: segment * 16, 04: upper 16 bits << 16), without wrapping inside
// a 64 KiB segment; a byte given twice is an error (overlap="error"); 01 (length 0) ends the
// file, whatever follows is ignored; a missing 01 is accepted; 02/04 need length 2 and
// address 0, 03/05 length 4 and address 0, and at most one start address. The image is
// tobinarray(): minaddr..maxaddr with gaps filled with 0xff.
//
// Writing (IntelHex.tofile(path, "hex")): data records of at most 16 bytes, each within one
// 64 KiB segment and one contiguous run of bytes; an extended linear address record (04)
// before the first record and whenever the upper 16 bits grow, only when the highest address
// is above 0xffff; uppercase hex, LF line ends, ":00000001FF" last.
//
// Host-side; allocates.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::mcuboot {

struct HexImage {
  bool has_data = false;      // false: no data record at all (minaddr() is None)
  uint32_t base = 0;          // lowest data address
  std::vector<uint8_t> data;  // base..highest address, gaps filled with 0xff
};

// Parses Intel HEX text. `max_size` bounds the decoded image (highest - lowest address + 1)
// and the sum of the data records, so that memory stays bounded whatever the input.
// Errors: kInvalidArgument naming the line and what is wrong with it ("line 3: checksum
// mismatch"), or the size above `max_size`.
Result<HexImage> ParseIntelHex(std::string_view text, size_t max_size);

// A run of bytes at an absolute address, for WriteIntelHex.
struct HexChunk {
  uint64_t address = 0;
  ConstByteSpan bytes;
};

// Formats `chunks` (any order; adjacent chunks join) as Intel HEX text.
// Errors: kInvalidArgument for overlapping chunks or data beyond 0xffffffff.
Result<std::string> WriteIntelHex(std::span<const HexChunk> chunks);

}  // namespace smpkit::mcuboot
