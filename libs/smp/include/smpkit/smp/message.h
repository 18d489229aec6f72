#pragma once
// Client-side helpers: build request frames, and read responses in both error shapes
// (v1 {"rc": n, "rsn": s} and v2 {"err": {"group": g, "rc": r}}).

#include <cstdint>
#include <optional>
#include <string_view>

#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/smp/errors.h"
#include "smpkit/smp/header.h"

namespace smpkit::smp {

// Builds a request frame in `out`: header + the CBOR map written by `body(writer)`.
// Errors: kNoSpace when the frame does not fit, kInvalidArgument for an unbalanced body.
template <typename BodyFn>
Result<ConstByteSpan> BuildFrame(Header header, ByteSpan out, BodyFn&& body,
                                 cbor::Style style = cbor::Style::kDefinite) {
  if (out.size() < kHeaderSize) return Error(Errc::kNoSpace, "frame buffer smaller than a header");
  cbor::Writer w(out.subspan(kHeaderSize), style);
  w.BeginMap();
  body(w);
  w.End();
  SMPKIT_TRY(w.status());
  if (w.size() > 0xffff) return Error(Errc::kNoSpace, "SMP payload larger than 65535 bytes");
  header.length = static_cast<uint16_t>(w.size());
  SMPKIT_TRY(EncodeHeader(header, out));
  return ConstByteSpan(out.data(), kHeaderSize + w.size());
}

struct GroupError {
  uint16_t group = 0;
  uint16_t rc = 0;
};

struct Response {
  Header header;
  ConstByteSpan payload;            // the whole CBOR map
  int32_t rc = 0;                   // 0 when absent
  std::string_view reason;          // "rsn", verbose servers only
  std::optional<GroupError> err;    // v2 group error
  bool ok() const { return rc == 0 && !err.has_value(); }
};

// Parses one response frame (exactly header + payload).
// Errors: kTruncated / kCorrupt for a frame whose length field does not match, or whose
// payload is not a CBOR map; kTypeMismatch for rc/err of the wrong type.
Result<Response> ParseResponse(ConstByteSpan frame);

// "image error 9 (NO_FREE_SLOT)" / "rc 8 (ENOTSUP: command not supported)".
// Writes into `out`, returns the text.
std::string_view DescribeError(const Response& r, std::span<char> out);

}  // namespace smpkit::smp
