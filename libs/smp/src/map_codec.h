#pragma once
// What the typed requests share: the sizes of CBOR items as the writer encodes them, and a
// definite map written into a caller's buffer.

#include <cstddef>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/cbor/writer.h"

namespace smpkit::smp::detail {

inline size_t TextSize(std::string_view s) { return cbor::HeadSize(s.size()) + s.size(); }
inline size_t BytesSize(ConstByteSpan b) { return cbor::HeadSize(b.size()) + b.size(); }
// A key and an unsigned value.
inline size_t UintEntrySize(std::string_view key, uint64_t v) {
  return TextSize(key) + cbor::HeadSize(v);
}

// Writes {body} as a definite map. Returns the bytes written; kNoSpace when `out` is short.
template <typename Body>
Result<size_t> EncodeMap(ByteSpan out, Body&& body) {
  cbor::Writer w(out);
  w.BeginMap();
  body(w);
  w.End();
  SMPKIT_TRY(w.status());
  return w.size();
}

// The most data a request like `base` (its data ignored) may carry within `limit` bytes: a
// longer bstr takes a longer head (1, 2, 3 or 5 bytes). 0 when not even one byte fits.
template <typename Request>
size_t DataFit(Request base, size_t limit) {
  base.data = {};
  const size_t empty = base.EncodedSize();  // with a 1-byte bstr head
  if (limit <= empty) return 0;
  return cbor::BstrFit(limit - empty);
}

}  // namespace smpkit::smp::detail
