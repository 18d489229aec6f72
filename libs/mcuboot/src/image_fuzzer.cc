// Fuzzes image parsing, TLV iteration, hash/signature verification and dumpinfo output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/image_info.h"
#include "smpkit/mcuboot/keys.h"

using namespace smpkit;
using namespace smpkit::mcuboot;

namespace {

// Public key of shared/vectors/mcuboot/ed25519.pem: images signed with it reach the
// signature check instead of stopping at the KEYHASH.
constexpr std::string_view kEd25519Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAB65QAxtb3eelldBAzA7GAn2y1o+XH41ZELr/o1yTZws=\n"
    "-----END PUBLIC KEY-----\n";

const PublicKey* Key() {
  static const PublicKey* key = [] {
    auto k = PublicKey::FromPem(kEd25519Pub);
    if (!k.ok()) std::abort();
    return new PublicKey(std::move(k).value());
  }();
  return key;
}

void Check(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ConstByteSpan in(data, size);
  (void)ImageVersion::Parse(AsString(in.first(std::min<size_t>(size, 40))));
  for (bool strict : {true, false}) {
    ParseOptions opts;
    opts.strict = strict;
    auto img = Parse(in, opts);
    if (!img.ok()) continue;
    // Invariants of a successful parse.
    Check(img->image.size() <= size);
    Check(img->hashed.size() <= img->image.size());
    Check(img->image.size() + img->after.size() == size);
    Check(img->body.size() == img->header.img_size);
    size_t sum = 0;
    for (const TlvBlock* block : {&img->protected_tlvs, &img->tlvs}) {
      size_t block_bytes = block->present() ? kTlvInfoSize : 0;
      for (const Tlv& t : *block) {
        Check(t.offset + kTlvEntryHeaderSize + t.value.size() <= img->image.size());
        block_bytes += kTlvEntryHeaderSize + t.value.size();
        if (t.type == kTlvDependency) (void)DecodeDependency(t.value);
      }
      Check(block_bytes == block->total());
      sum += block_bytes;
    }
    Check(img->header.HashedSize() + img->tlvs.total() == img->image.size());
    Check(sum + img->header.hdr_size + img->header.img_size == img->image.size());
    (void)SecurityCounter(*img);
    (void)StoredHash(*img);
    (void)Verify(*img);
    (void)Verify(*img, Key());
  }
  (void)ImageInfoJson(in, "fuzz");
  return 0;
}
