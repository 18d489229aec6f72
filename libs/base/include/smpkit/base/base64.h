#pragma once
// RFC 4648 base64 (standard alphabet, '=' padding) over caller-provided buffers.
#include <cstddef>

#include "smpkit/base/bytes.h"

namespace smpkit {

constexpr size_t Base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }
// Upper bound of the decoded size of n base64 characters.
constexpr size_t Base64DecodedMax(size_t n) { return n / 4 * 3; }

// Encodes `in` into `out`; returns the number of characters written.
// Errors: kNoSpace if out is smaller than Base64EncodedSize(in.size()).
Result<size_t> Base64Encode(ConstByteSpan in, std::span<char> out);

// Decodes `in` (length a multiple of 4, padding only at the end) into `out`.
// Errors: kInvalidArgument on a bad character, length or padding; kNoSpace if out is short.
Result<size_t> Base64Decode(std::string_view in, ByteSpan out);

}  // namespace smpkit
