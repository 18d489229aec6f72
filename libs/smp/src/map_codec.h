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

}  // namespace smpkit::smp::detail
