#pragma once
// Allocation-free CBOR writer over libcbor's encoding functions.
//
// Containers are opened with BeginMap/BeginArray and closed with End. In kDefinite style
// (the default) the count is patched in at End; in kIndefinite style containers are
// written as BF/9F ... FF, as Zephyr's zcbor does by default. Errors are sticky: after the
// buffer overflows every call is a no-op and status() reports kNoSpace.

#include <cstdint>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::cbor {

// Bytes of a CBOR head carrying `v` (an unsigned integer's value, a string's or a container's
// length): 1, 2, 3, 5 or 9.
constexpr size_t HeadSize(uint64_t v) {
  return v < 24 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x100000000ull ? 5 : 9;
}
// The most bytes a byte string can carry in `room` bytes counted with a 1-byte head (an
// empty string's): a longer string's head takes up to 8 more of them.
constexpr size_t BstrFit(size_t room) {
  for (size_t k = 0; k <= 8 && k <= room; ++k) {
    const size_t n = room - k;
    if (n + HeadSize(n) - 1 <= room) return n;
  }
  return 0;
}

enum class Style : uint8_t { kDefinite, kIndefinite };

class Writer {
 public:
  static constexpr size_t kMaxDepth = 8;

  explicit Writer(ByteSpan out, Style style = Style::kDefinite) : out_(out), style_(style) {}

  Writer& Uint(uint64_t v);
  Writer& Int(int64_t v);
  Writer& Bool(bool v);
  Writer& Null();
  Writer& Text(std::string_view s);
  Writer& Bytes(ConstByteSpan b);
  // A byte string of `n` bytes whose content the caller writes into the returned span
  // afterwards (e.g. read from a file straight into the answer). Empty span and !ok() when
  // it does not fit; `n` == 0 also returns an empty span, with ok() still true.
  ByteSpan BytesInPlace(size_t n);
  // Appends already-encoded CBOR (one complete item).
  Writer& Raw(ConstByteSpan encoded);
  Writer& BeginMap();
  Writer& BeginArray();
  Writer& End();

  // Convenience for map entries.
  Writer& Key(std::string_view k) { return Text(k); }

  bool ok() const { return ok_; }
  // Errors: kNoSpace (output too small), kInvalidArgument (unbalanced or too deep containers).
  Status status() const;
  size_t size() const { return pos_; }
  size_t depth() const { return depth_; }
  ConstByteSpan written() const { return {out_.data(), pos_}; }
  Style style() const { return style_; }

 private:
  bool Put(size_t n);  // checks room for n more bytes
  void CountItem();
  Writer& Begin(bool map);

  struct Open {
    size_t head_pos;
    uint64_t items;
    bool map;
  };
  ByteSpan out_;
  Style style_;
  size_t pos_ = 0;
  bool ok_ = true;
  bool unbalanced_ = false;
  Open open_[kMaxDepth];  // entries below depth_ are always written before use
  size_t depth_ = 0;
};

}  // namespace smpkit::cbor
