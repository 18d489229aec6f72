#pragma once
// Byte-order helpers and bounded readers/writers over spans. Wire formats are encoded
// byte by byte with these, never with struct memcpy or bit-fields.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "smpkit/base/result.h"

namespace smpkit {

using ByteSpan = std::span<uint8_t>;
using ConstByteSpan = std::span<const uint8_t>;

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint16_t LoadLe16(const uint8_t* p) { return static_cast<uint16_t>(p[1] << 8 | p[0]); }
inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void StoreLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void StoreLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

enum class Endian { kBig, kLittle };

// Reads fixed-width integers and byte runs from a span; every read is bounds-checked.
class ByteReader {
 public:
  explicit ByteReader(ConstByteSpan data, Endian endian = Endian::kBig)
      : data_(data), endian_(endian) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  ConstByteSpan rest() const { return data_.subspan(pos_); }

  Result<uint8_t> U8() {
    if (remaining() < 1) return Truncated(1);
    return data_[pos_++];
  }
  Result<uint16_t> U16() {
    if (remaining() < 2) return Truncated(2);
    const uint8_t* p = data_.data() + pos_;
    pos_ += 2;
    return endian_ == Endian::kBig ? LoadBe16(p) : LoadLe16(p);
  }
  Result<uint32_t> U32() {
    if (remaining() < 4) return Truncated(4);
    const uint8_t* p = data_.data() + pos_;
    pos_ += 4;
    return endian_ == Endian::kBig ? LoadBe32(p) : LoadLe32(p);
  }
  Result<ConstByteSpan> Bytes(size_t n) {
    if (remaining() < n) return Truncated(n);
    ConstByteSpan out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  Status Skip(size_t n) {
    if (remaining() < n) return Truncated(n);
    pos_ += n;
    return Ok();
  }

 private:
  Error Truncated(size_t want) const {
    return Error::Format(Errc::kTruncated, "need %zu bytes at offset %zu, only %zu left", want,
                         pos_, remaining());
  }
  ConstByteSpan data_;
  Endian endian_;
  size_t pos_ = 0;
};

// Writes fixed-width integers and byte runs into a span; fails cleanly when full.
class ByteWriter {
 public:
  explicit ByteWriter(ByteSpan out, Endian endian = Endian::kBig) : out_(out), endian_(endian) {}

  size_t size() const { return pos_; }
  size_t remaining() const { return out_.size() - pos_; }
  ConstByteSpan written() const { return ConstByteSpan(out_.data(), pos_); }

  Status U8(uint8_t v) {
    if (remaining() < 1) return Full(1);
    out_[pos_++] = v;
    return Ok();
  }
  Status U16(uint16_t v) {
    if (remaining() < 2) return Full(2);
    endian_ == Endian::kBig ? StoreBe16(&out_[pos_], v) : StoreLe16(&out_[pos_], v);
    pos_ += 2;
    return Ok();
  }
  Status U32(uint32_t v) {
    if (remaining() < 4) return Full(4);
    endian_ == Endian::kBig ? StoreBe32(&out_[pos_], v) : StoreLe32(&out_[pos_], v);
    pos_ += 4;
    return Ok();
  }
  Status Bytes(ConstByteSpan b) {
    if (remaining() < b.size()) return Full(b.size());
    if (!b.empty()) std::memcpy(&out_[pos_], b.data(), b.size());
    pos_ += b.size();
    return Ok();
  }

 private:
  Error Full(size_t want) const {
    return Error::Format(Errc::kNoSpace, "need %zu bytes at offset %zu, only %zu free", want, pos_,
                         remaining());
  }
  ByteSpan out_;
  Endian endian_;
  size_t pos_ = 0;
};

inline ConstByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ConstByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace smpkit
