// Fuzzes the CBOR reader: typed map decoding and generic skipping must never crash,
// read out of bounds or loop, whatever the input.
#include <cstddef>
#include <cstdint>

#include "smpkit/cbor/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpkit::cbor;
  smpkit::ConstByteSpan in(data, size);
  std::string_view d, format;
  uint64_t off = 0, len = 0;
  int64_t n = 0;
  bool confirm = false;
  smpkit::ConstByteSpan sha, bytes;
  (void)DecodeMap(in, {TextField("d", &d), UintField("off", &off), UintField("len", &len),
                       BytesField("sha", &sha), BytesField("data", &bytes),
                       BoolField("confirm", &confirm), IntField("n", &n),
                       TextField("format", &format)});
  Reader r(in);
  while (!r.AtEnd()) {
    if (!r.SkipValue().ok()) break;
  }
  return 0;
}
