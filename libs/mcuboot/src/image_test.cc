// Image format tests against shared/spec/mcuboot.md and the imgtool 2.4.0 vectors.
#include "smpkit/mcuboot/image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "smpkit/mcuboot/keys.h"
#include "smpkit/testing/hex.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::mcuboot {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> ReadVector(const std::string& name) {
  return smpkit::testing::ReadVector("mcuboot/" + name);
}

std::string ReadText(const std::string& name) {
  return smpkit::testing::ReadVectorText("mcuboot/" + name);
}

using smpkit::testing::FromHex;

constexpr std::string_view kDigest =
    "9863d04619fbb2c886c21c8571e18c795c16e4d27e01ec421253218634456c5a";

// ---------------------------------------------------------------------------------------
// Version

TEST(ImageVersionTest, ParsesImgtoolSyntax) {
  auto v = ImageVersion::Parse("1.2.3+4");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, (ImageVersion{1, 2, 3, 4}));
  EXPECT_EQ(*ImageVersion::Parse("7"), (ImageVersion{7, 0, 0, 0}));
  EXPECT_EQ(*ImageVersion::Parse("0.5"), (ImageVersion{0, 5, 0, 0}));
  EXPECT_EQ(*ImageVersion::Parse("255.255.65535+4294967295"),
            (ImageVersion{255, 255, 65535, 4294967295u}));
  EXPECT_EQ(*ImageVersion::Parse("1.2.3.7"), (ImageVersion{1, 2, 3, 7}));  // SMP form
}

TEST(ImageVersionTest, RejectsBadSyntax) {
  for (const char* bad : {"", "1.", ".1", "256", "1.256", "1.2.65536", "1.2.3+4294967296", "01.2",
                          "1.2+3", "1.2.3.4.5", "1.2.3.4+5", "a.b", "1.2.3+", "-1"}) {
    auto v = ImageVersion::Parse(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.error().code(), Errc::kInvalidArgument);
    }
  }
}

TEST(ImageVersionTest, FormatsLikeSmpAndImgtool) {
  EXPECT_EQ((ImageVersion{1, 2, 3, 0}).ToString(), "1.2.3");
  EXPECT_EQ((ImageVersion{1, 2, 3, 7}).ToString(), "1.2.3.7");
  EXPECT_EQ((ImageVersion{1, 2, 3, 4}).ToImgtoolString(), "1.2.3+4");
  EXPECT_EQ((ImageVersion{1, 2, 3, 0}).ToImgtoolString(), "1.2.3+0");
  EXPECT_EQ((ImageVersion{255, 255, 65535, 4294967295u}).ToString(), "255.255.65535.4294967295");
  char small[6];
  EXPECT_EQ((ImageVersion{1, 2, 3, 0}).Format(small), "1.2.3");
  char tiny[4];
  EXPECT_EQ((ImageVersion{10, 20, 30, 0}).Format(tiny), "10.");
}

TEST(ImageVersionTest, ComparesMajorMinorRevisionThenOptionallyBuild) {
  ImageVersion a{1, 2, 3, 4}, b{1, 2, 3, 9};
  EXPECT_EQ(CompareVersions(a, b), 0);
  EXPECT_EQ(CompareVersions(a, b, true), -1);
  EXPECT_EQ(CompareVersions(b, a, true), 1);
  EXPECT_EQ(CompareVersions({1, 3, 0, 0}, {1, 2, 65535, 0}), 1);
  EXPECT_EQ(CompareVersions({0, 255, 0, 0}, {1, 0, 0, 0}), -1);
  EXPECT_EQ(CompareVersions({1, 2, 256, 0}, {1, 2, 255, 0}), 1);  // revision is u16
  EXPECT_FALSE(a == b);
}

// ---------------------------------------------------------------------------------------
// Header

TEST(ImageHeaderTest, DecodesSpecVector) {
  std::vector<uint8_t> file = ReadVector("signed-ecdsa-p256.bin");
  auto h = ImageHeader::Decode(file);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->magic, kImageMagic);
  EXPECT_EQ(h->load_addr, 0u);
  EXPECT_EQ(h->hdr_size, 0x200);
  EXPECT_EQ(h->protect_tlv_size, 0);
  EXPECT_EQ(h->img_size, 0x5dcu);
  EXPECT_EQ(h->flags, 0u);
  EXPECT_EQ(h->version, (ImageVersion{1, 2, 3, 4}));
  EXPECT_TRUE(h->bootable());
  uint8_t out[32];
  h->Encode(out);
  EXPECT_TRUE(std::equal(out, out + 32, file.begin()));
}

TEST(ImageHeaderTest, ProtTlvVectorHasLoadAddrAndRamLoad) {
  auto h = ImageHeader::Decode(ReadVector("unsigned-prot-tlv.bin"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->load_addr, 0x20000000u);
  EXPECT_EQ(h->protect_tlv_size, 28);
  EXPECT_EQ(h->flags, kFlagRamLoad);
}

TEST(ImageHeaderTest, RejectsBadMagicAndSmallHeader) {
  std::vector<uint8_t> file = ReadVector("unsigned-hashonly.bin");
  auto r = ImageHeader::Decode(ConstByteSpan(file).first(31));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTruncated);

  std::vector<uint8_t> erased(64, 0xFF);
  r = ImageHeader::Decode(erased);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("erased"));

  std::vector<uint8_t> v1 = file;
  v1[0] = 0x3c;  // 0x96F3B83C
  r = ImageHeader::Decode(v1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("v1"));

  std::vector<uint8_t> other = file;
  other[3] = 0x00;
  r = ImageHeader::Decode(other);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("bad image header magic 0x00f3b83d"));

  std::vector<uint8_t> small = file;
  small[8] = 31;
  small[9] = 0;
  r = ImageHeader::Decode(small);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("header size 31"));
}

// ---------------------------------------------------------------------------------------
// Parse + TLVs

TEST(ParseTest, SignedEcdsaVectorLayout) {
  std::vector<uint8_t> file = ReadVector("signed-ecdsa-p256.bin");
  auto img = Parse(file);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->size(), 2163u);
  EXPECT_EQ(img->hashed.size(), 0x7dcu);
  EXPECT_EQ(img->body.size(), 1500u);
  EXPECT_EQ(img->body.data(), file.data() + 0x200);
  EXPECT_FALSE(img->protected_tlvs.present());
  EXPECT_EQ(img->tlvs.offset(), 0x7dcu);
  EXPECT_EQ(img->tlvs.magic(), kTlvInfoMagic);
  EXPECT_EQ(img->tlvs.total(), 0x97);
  EXPECT_TRUE(img->after.empty());
  std::vector<uint16_t> types;
  std::vector<size_t> lens, offsets;
  for (const Tlv& t : img->tlvs) {
    types.push_back(t.type);
    lens.push_back(t.value.size());
    offsets.push_back(t.offset);
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{kTlvSha256, kTlvKeyHash, kTlvEcdsaSig}));
  EXPECT_EQ(lens, (std::vector<size_t>{32, 32, 0x47}));
  EXPECT_EQ(offsets, (std::vector<size_t>{0x7e0, 0x804, 0x828}));
  auto sha = img->tlvs.Find(kTlvSha256);
  ASSERT_TRUE(sha);
  EXPECT_EQ(std::vector<uint8_t>(sha->value.begin(), sha->value.end()), FromHex(kDigest));
  EXPECT_EQ(img->tlvs.Count(kTlvKeyHash), 1u);
  EXPECT_FALSE(img->tlvs.Find(kTlvEd25519));
}

TEST(ParseTest, ProtectedTlvVector) {
  auto file = ReadVector("unsigned-prot-tlv.bin");
  auto img = Parse(file);
  ASSERT_TRUE(img.ok()) << img.error().message();
  ASSERT_TRUE(img->protected_tlvs.present());
  EXPECT_EQ(img->protected_tlvs.offset(), 0x7dcu);
  EXPECT_EQ(img->protected_tlvs.total(), 0x1c);
  EXPECT_EQ(img->hashed.size(), 0x7f8u);
  EXPECT_EQ(img->tlvs.offset(), 0x7f8u);
  auto sec = SecurityCounter(*img);
  ASSERT_TRUE(sec.ok());
  EXPECT_EQ(**sec, 0x01020003u);
  auto dep_tlv = img->protected_tlvs.Find(kTlvDependency);
  ASSERT_TRUE(dep_tlv);
  auto dep = DecodeDependency(dep_tlv->value);
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->image_index, 1);
  EXPECT_EQ(dep->min_version, (ImageVersion{0, 5, 0, 7}));
}

TEST(ParseTest, PaddedVectorReportsBytesAfterImage) {
  auto file = ReadVector("unsigned-pad-test.bin");
  auto img = Parse(file);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->size(), 2052u);
  EXPECT_EQ(img->after.size(), 0x60000u - 2052u);
}

TEST(ParseTest, NamedErrorsForEveryBound) {
  const auto base = ReadVector("signed-ecdsa-p256.bin");
  auto expect_error = [](const std::vector<uint8_t>& data, Errc code, const char* text,
                         ParseOptions opts = {}) {
    auto r = Parse(data, opts);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), code) << r.error().message();
    EXPECT_THAT(std::string(r.error().message()), HasSubstr(text));
  };
  {  // body past the end
    auto d = base;
    StoreLe32(&d[12], 0x100000);
    expect_error(d, Errc::kTruncated, "image body ends at 0x100200");
  }
  {  // unprotected TLV info magic wrong
    auto d = base;
    d[0x7dc] = 0x00;
    expect_error(d, Errc::kCorrupt, "TLV info magic at 0x7dc is 0x6900 (expected 0x6907)");
  }
  {  // TLV area length past end
    auto d = base;
    StoreLe16(&d[0x7de], 0x98);
    expect_error(d, Errc::kTruncated, "TLV area length 0x98 at 0x7dc exceeds image end 0x873");
  }
  {  // tlv_tot below 4
    auto d = base;
    StoreLe16(&d[0x7de], 2);
    expect_error(d, Errc::kCorrupt, "below 4");
  }
  {  // entry length past its area
    auto d = base;
    StoreLe16(&d[0x82a], 0x48);
    expect_error(d, Errc::kCorrupt, "TLV 0x22 at 0x828: length 72 exceeds area end 0x873");
  }
  {  // file cut inside the TLV area
    auto d = base;
    d.resize(0x800);
    expect_error(d, Errc::kTruncated, "exceeds image end 0x800");
  }
  {  // file cut before the TLV info
    auto d = base;
    d.resize(0x7de);
    expect_error(d, Errc::kTruncated, "TLV info at 0x7dc is past the data end 0x7de");
  }
  {  // protected size in header, but no protected block
    auto d = base;
    StoreLe16(&d[10], 0x10);
    expect_error(d, Errc::kCorrupt, "protected TLV info magic at 0x7dc is 0x6907");
  }
  {  // protected block present, header says 0
    auto d = ReadVector("unsigned-prot-tlv.bin");
    StoreLe16(&d[10], 0);
    expect_error(d, Errc::kCorrupt, "protect_tlv_size is 0");
  }
  {  // protected tlv_tot != ih_protect_tlv_size
    auto d = ReadVector("unsigned-prot-tlv.bin");
    StoreLe16(&d[10], 0x18);
    expect_error(d, Errc::kCorrupt, "protected TLV area length 0x1c != header");
  }
  {  // SEC_CNT in the unhashed area is refused in strict mode only
    auto d = base;
    d[0x804] = 0x50;  // KEYHASH -> SEC_CNT
    expect_error(d, Errc::kCorrupt, "TLV 0x50 (SEC_CNT) at 0x804 is not allowed");
    ParseOptions lenient;
    lenient.strict = false;
    EXPECT_TRUE(Parse(d, lenient).ok());
  }
  {  // duplicate hash TLV
    auto d = base;
    d[0x804] = 0x10;  // KEYHASH -> second SHA256
    expect_error(d, Errc::kCorrupt, "duplicate SHA256 TLV at 0x804");
  }
}

TEST(ParseTest, EmptyInputs) {
  EXPECT_EQ(Parse({}).error().code(), Errc::kTruncated);
  TlvBlock empty;
  EXPECT_EQ(empty.begin(), empty.end());
  EXPECT_FALSE(empty.Find(kTlvSha256));
}

// ---------------------------------------------------------------------------------------
// Hash and verification

TEST(HashTest, MatchesSpecDigestsAndTlvs) {
  for (const char* name : {"signed-ecdsa-p256.bin", "signed-ed25519.bin", "unsigned-hashonly.bin",
                           "unsigned-pad-test.bin", "signed-ecdsa-p256-pad-confirm.bin"}) {
    auto file = ReadVector(name);
    auto img = Parse(file);
    ASSERT_TRUE(img.ok()) << name;
    auto d = ComputeHash(*img);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(std::vector<uint8_t>(d->view().begin(), d->view().end()), FromHex(kDigest)) << name;
    auto stored = StoredHash(*img);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, *d);
  }
  auto file = ReadVector("unsigned-prot-tlv.bin");
  auto img = Parse(file);
  ASSERT_TRUE(img.ok());
  auto d = ComputeHash(*img);
  EXPECT_EQ(std::vector<uint8_t>(d->view().begin(), d->view().end()),
            FromHex("7d80657a95a29729e77b2b9720a6cbd8ba95656488743e73f579767eaf4e8916"));
}

TEST(HashTest, IncrementalEqualsOneShot) {
  auto file = ReadVector("in.bin");
  Hasher h(HashAlg::kSha256);
  ASSERT_TRUE(h.Update(ConstByteSpan(file).first(700)).ok());
  ASSERT_TRUE(h.Update(ConstByteSpan(file).subspan(700)).ok());
  auto a = h.Final();
  auto b = Hash(HashAlg::kSha256, file);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(b->view()[0], 0xe6);  // README: sha256(in.bin) = e67c6a2e...
  EXPECT_EQ(b->view()[31], 0xaf);
  EXPECT_EQ(Hash(HashAlg::kSha512, file)->size, 64u);
  EXPECT_EQ(Hash(HashAlg::kSha384, file)->size, 48u);
}

TEST(VerifyTest, AllVectorsVerifyWithoutKey) {
  for (const char* name :
       {"signed-ecdsa-p256.bin", "signed-ed25519.bin", "unsigned-hashonly.bin",
        "unsigned-pad-test.bin", "unsigned-prot-tlv.bin", "signed-ecdsa-p256-pad-confirm.bin"}) {
    auto r = Verify(ReadVector(name));
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message();
    EXPECT_EQ(r->signature, SignatureType::kNone);
    EXPECT_EQ(r->version, (ImageVersion{1, 2, 3, 4}));
  }
}

TEST(VerifyTest, SignedVectorsVerifyWithTheirKeys) {
  auto ec = PublicKey::FromPem(ReadText("ecdsa-p256.pub.pem"));
  auto ed = PublicKey::FromPem(ReadText("ed25519.pub.pem"));
  ASSERT_TRUE(ec.ok()) << ec.error().message();
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  EXPECT_EQ(ec->type(), KeyType::kEcdsaP256);
  EXPECT_EQ(ed->type(), KeyType::kEd25519);
  for (const char* name : {"signed-ecdsa-p256.bin", "signed-ecdsa-p256-pad-confirm.bin"}) {
    auto r = Verify(ReadVector(name), &*ec);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message();
    EXPECT_EQ(r->signature, SignatureType::kEcdsaP256);
  }
  auto r = Verify(ReadVector("signed-ed25519.bin"), &*ed);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->signature, SignatureType::kEd25519);
  // A private key PEM works as the verification key too (as with imgtool verify -k).
  auto ed_priv = PublicKey::FromPem(ReadText("ed25519.pem"));
  ASSERT_TRUE(ed_priv.ok());
  EXPECT_TRUE(Verify(ReadVector("signed-ed25519.bin"), &*ed_priv).ok());
}

TEST(VerifyTest, WrongKeyFailsClearly) {
  auto ec = PublicKey::FromPem(ReadText("ecdsa-p256.pub.pem"));
  auto ed = PublicKey::FromPem(ReadText("ed25519.pem"));
  ASSERT_TRUE(ec.ok() && ed.ok());
  auto r = Verify(ReadVector("signed-ecdsa-p256.bin"), &*ed);  // README: rc 1
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCrypto);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("no signature found"));
  r = Verify(ReadVector("unsigned-hashonly.bin"), &*ec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCrypto);
  // Another P-256 key: KEYHASH no longer selects it.
  auto other = PrivateKey::Generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(other.ok());
  auto other_pub = other->Public();
  ASSERT_TRUE(other_pub.ok());
  r = Verify(ReadVector("signed-ecdsa-p256.bin"), &*other_pub);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("KEYHASH does not match"));
}

TEST(VerifyTest, TamperingIsDetected) {
  auto ec = PublicKey::FromPem(ReadText("ecdsa-p256.pub.pem"));
  ASSERT_TRUE(ec.ok());
  auto body = ReadVector("signed-ecdsa-p256.bin");
  body[0x300] ^= 1;
  auto r = Verify(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCrypto);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("image hash mismatch"));

  auto header = ReadVector("signed-ecdsa-p256.bin");
  header[0x100] = 0;  // header padding is hashed too (§4)
  EXPECT_FALSE(Verify(header).ok());

  // Signature bit flip: hash still matches, signature fails with the key.
  auto sig = ReadVector("signed-ecdsa-p256.bin");
  sig[0x860] ^= 0x40;
  EXPECT_TRUE(Verify(sig).ok());
  r = Verify(sig, &*ec);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("does not verify"));

  // Hash and signature replaced consistently by an attacker without the key.
  auto ed = ReadVector("signed-ed25519.bin");
  ed[0x82c] ^= 1;
  auto ed_key = PublicKey::FromPem(ReadText("ed25519.pub.pem"));
  EXPECT_FALSE(Verify(ed, &*ed_key).ok());
}

TEST(VerifyTest, MissingHashTlvIsNamed) {
  auto d = ReadVector("unsigned-hashonly.bin");
  d[0x7e0] = 0x13;  // SHA256 -> unknown type
  ParseOptions lenient;
  lenient.strict = false;
  auto img = Parse(d, lenient);
  ASSERT_TRUE(img.ok());
  auto r = Verify(*img);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("no hash TLV"));
}

TEST(VerifyTest, HashTlvWithWrongLengthIsCorrupt) {
  auto d = ReadVector("unsigned-hashonly.bin");
  // SHA256 TLV cut to 16 bytes; the rest becomes an (unknown-type 0x...) filler TLV.
  StoreLe16(&d[0x7e2], 16);
  d[0x7f4] = 0x99;
  d[0x7f5] = 0x00;
  StoreLe16(&d[0x7f6], 12);
  ParseOptions lenient;
  lenient.strict = false;
  auto img = Parse(d, lenient);
  ASSERT_TRUE(img.ok()) << img.error().message();
  auto r = Verify(*img);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("SHA256 TLV at 0x7e0 has length 16"));
}

}  // namespace
}  // namespace smpkit::mcuboot
