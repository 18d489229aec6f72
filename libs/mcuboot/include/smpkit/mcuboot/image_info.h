#pragma once
// Human and JSON descriptions of an image file, like `imgtool dumpinfo` (-f json).
// Host-side; allocates.

#include <string>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::mcuboot {

// JSON with imgtool dumpinfo's structure: {filename, header{magic, load_addr, hdr_size,
// protected_tlv_size, img_size, flags, version "M.m.r+b"}, tlv_area{tlv_hdr_prot,
// tlvs_prot[], tlv_hdr, tlvs[{type, type_name, len, data hex}]}, trailer{magic hex,
// image_ok, copy_done, swap_info, swap_size} (trailer only when the file extends past the
// TLVs)}. Errors: Parse() errors (lenient mode) for a file that is not an image.
Result<std::string> ImageInfoJson(ConstByteSpan file, std::string_view filename, int indent = 2);

// Multi-line human-readable summary (header, version, hash, TLVs, trailer).
Result<std::string> ImageInfoText(ConstByteSpan file, std::string_view filename);

}  // namespace smpkit::mcuboot
