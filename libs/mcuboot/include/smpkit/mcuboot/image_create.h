#pragma once
// Building images like `imgtool sign` 2.4.0 (shared/spec/mcuboot.md §7.1): byte-identical
// output for the same inputs and flags (ECDSA signatures aside, which are randomized).
// Host-side; allocates.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/keys.h"

namespace smpkit::mcuboot {

struct CreateOptions {
  uint16_t header_size = kImageHeaderSize;   // -H/--header-size
  bool pad_header = false;                   // --pad-header: prepend hdr_size erased bytes
  uint32_t align = 1;                        // --align: 1,2,4,8,16,32 (trailer size only)
  std::optional<uint32_t> max_align;         // --max-align (default max(8, align))
  uint32_t slot_size = 0;                    // -S/--slot-size; 0 = no size check
  uint32_t max_sectors = 128;                // -M/--max-sectors
  ImageVersion version;                      // -v/--version
  uint32_t load_addr = 0;                    // -L/--load-addr (sets RAM_LOAD when != 0)
  std::optional<uint32_t> rom_fixed;         // -F/--rom-fixed (sets ROM_FIXED)
  bool non_bootable = false;                 // --non-bootable
  bool pad = false;                          // --pad: erased fill + trailer magic to slot end
  bool confirm = false;                      // --confirm: implies pad, sets image_ok
  bool overwrite_only = false;               // --overwrite-only: small trailer, no image_ok
  uint8_t erased_val = 0xFF;                 // -R/--erased-val
  std::optional<uint32_t> security_counter;  // -s N (use AutoSecurityCounter for "auto")
  std::vector<Dependency> dependencies;      // -d "(idx,ver), ..."
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> custom_tlvs;  // --custom-tlv
  const PrivateKey* key = nullptr;                                     // -k; nullptr = hash only
  bool public_key_full = false;     // --public-key-format full (PUBKEY, not KEYHASH)
  HashAlg hash = HashAlg::kSha256;  // --sha
};

// imgtool's `-s auto`: (major << 24) + (minor << 16) + revision.
uint32_t AutoSecurityCounter(const ImageVersion& version);

// Trailer bytes imgtool reserves (and checks) at the slot end (§9.2):
// swap: max_sectors*3*align + 4*max_align + round_up(16, max_align); overwrite-only:
// 2*max_align + round_up(16, max_align). Errors: kInvalidArgument for a bad alignment.
Result<uint32_t> ImgtoolTrailerSize(uint32_t align, uint32_t max_align, uint32_t max_sectors,
                                    bool overwrite_only);
// The 16-byte trailer magic for max_align (§9.3): classic for 8, alignment-encoded otherwise.
std::array<uint8_t, 16> TrailerMagicFor(uint32_t max_align);

// Parses imgtool's dependency syntax "(1,0.5.0+7)" or "(1, 1.0.0), (2, 0.3.0+1)".
// Errors: kInvalidArgument naming the bad part.
Result<std::vector<Dependency>> ParseDependencies(std::string_view text);

// Builds a complete image file from a raw binary (§7.1 steps 2-8).
// Errors: kInvalidArgument (header area not zero without pad_header, bad alignment, pad
// without slot size, load_addr with rom_fixed, sizes over 16/32 bits); kNoSpace ("image size
// 0x... + trailer 0x... exceeds slot size 0x..."); kCrypto (signing failed).
Result<std::vector<uint8_t>> CreateImage(ConstByteSpan payload, const CreateOptions& options);

}  // namespace smpkit::mcuboot
