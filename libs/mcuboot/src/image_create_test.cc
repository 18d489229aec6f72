// imgtool-compatible image creation: byte-identical to the imgtool 2.4.0 vectors.
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/testing/vectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace smpkit::mcuboot {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> ReadVector(const std::string& name) {
  return smpkit::testing::ReadVector("mcuboot/" + name);
}

std::string ReadText(const std::string& name) {
  return smpkit::testing::ReadVectorText("mcuboot/" + name);
}

// COMMON="--header-size 0x200 --align 4 --slot-size 0x60000 --version 1.2.3+4 --pad-header"
CreateOptions Common() {
  CreateOptions o;
  o.header_size = 0x200;
  o.align = 4;
  o.slot_size = 0x60000;
  o.version = {1, 2, 3, 4};
  o.pad_header = true;
  return o;
}

// Index of the first differing byte, for readable failures.
std::string FirstDiff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return "first difference at 0x" + std::to_string(i);
  }
  return "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
}

TEST(CreateImageTest, HashOnlyIsByteIdentical) {
  auto out = CreateImage(ReadVector("in.bin"), Common());
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto want = ReadVector("unsigned-hashonly.bin");
  EXPECT_TRUE(*out == want) << FirstDiff(*out, want);
}

TEST(CreateImageTest, ProtectedTlvsAreByteIdentical) {
  // -s auto -d "(1,0.5.0+7)" -L 0x20000000
  CreateOptions o = Common();
  o.security_counter = AutoSecurityCounter(o.version);
  auto deps = ParseDependencies("(1,0.5.0+7)");
  ASSERT_TRUE(deps.ok()) << deps.error().message();
  o.dependencies = *deps;
  o.load_addr = 0x20000000;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto want = ReadVector("unsigned-prot-tlv.bin");
  EXPECT_TRUE(*out == want) << FirstDiff(*out, want);
}

TEST(CreateImageTest, Ed25519IsByteIdentical) {
  auto key = PrivateKey::FromPem(ReadText("ed25519.pem"));
  ASSERT_TRUE(key.ok()) << key.error().message();
  CreateOptions o = Common();
  o.key = &*key;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto want = ReadVector("signed-ed25519.bin");
  EXPECT_TRUE(*out == want) << FirstDiff(*out, want);
}

TEST(CreateImageTest, PadTestIsByteIdentical) {
  CreateOptions o = Common();
  o.pad = true;  // imgtool --test implies --pad
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto want = ReadVector("unsigned-pad-test.bin");
  EXPECT_TRUE(*out == want) << FirstDiff(*out, want);
}

TEST(CreateImageTest, EcdsaPadConfirmMatchesApartFromSignature) {
  auto key = PrivateKey::FromPem(ReadText("ecdsa-p256.pem"));
  ASSERT_TRUE(key.ok()) << key.error().message();
  CreateOptions o = Common();
  o.key = &*key;
  o.pad = true;
  o.confirm = true;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto want = ReadVector("signed-ecdsa-p256-pad-confirm.bin");
  ASSERT_EQ(out->size(), want.size());
  // Header, body, hash TLV and KEYHASH are deterministic; ECDSA signatures are randomized.
  // (tlv_tot at 0x7de depends on the DER signature length.)
  EXPECT_TRUE(std::equal(out->begin(), out->begin() + 0x7de, want.begin()));
  EXPECT_TRUE(std::equal(out->begin() + 0x7e0, out->begin() + 0x82a, want.begin() + 0x7e0));
  // Trailer: image_ok at 0x5ffe8, magic at 0x5fff0 (§8), identical tail.
  EXPECT_TRUE(std::equal(out->end() - 0x630, out->end(), want.end() - 0x630));
  EXPECT_EQ((*out)[0x5ffe8], 0x01);
  auto pub = PublicKey::FromPem(ReadText("ecdsa-p256.pub.pem"));
  ASSERT_TRUE(pub.ok());
  auto v = Verify(*out, &*pub);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->signature, SignatureType::kEcdsaP256);
}

TEST(CreateImageTest, OverwriteOnlyConfirmWritesNoImageOk) {
  CreateOptions o = Common();
  o.pad = true;
  o.confirm = true;
  o.overwrite_only = true;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok());
  // §7.1/§16: --overwrite-only --confirm is byte-identical to --test.
  EXPECT_TRUE(*out == ReadVector("unsigned-pad-test.bin"));
}

TEST(CreateImageTest, TrailerSizesAndMagic) {
  EXPECT_EQ(*ImgtoolTrailerSize(4, 8, 128, false), 0x630u);  // §9.2 example
  EXPECT_EQ(*ImgtoolTrailerSize(4, 8, 128, true), 32u);
  EXPECT_EQ(*ImgtoolTrailerSize(32, 32, 128, false), 128u * 3 * 32 + 4 * 32 + 32);
  EXPECT_FALSE(ImgtoolTrailerSize(3, 8, 128, false).ok());
  auto m32 = TrailerMagicFor(32);
  std::array<uint8_t, 16> want32 = {0x20, 0x00, 0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b,
                                    0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
  EXPECT_EQ(m32, want32);
  EXPECT_EQ(TrailerMagicFor(8)[0], 0x77);
}

TEST(CreateImageTest, MaxAlign32PutsImageOkBelowAlignedMagic) {
  CreateOptions o = Common();
  o.align = 32;
  o.pad = true;
  o.confirm = true;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  // Magic area round_up(16, 32) = 32, image_ok one A=32 block below it.
  EXPECT_EQ((*out)[0x60000 - 64], 0x01);
  EXPECT_EQ((*out)[0x60000 - 16], 0x20);
  EXPECT_EQ((*out)[0x60000 - 17], 0xFF);
}

TEST(CreateImageTest, RejectsWhatImgtoolRejects) {
  auto in = ReadVector("in.bin");
  CreateOptions o = Common();
  o.pad_header = false;  // in.bin does not start with 0x200 zero bytes
  auto r = CreateImage(in, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("--pad-header"));

  o = Common();
  o.slot_size = 0x800;
  r = CreateImage(in, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(r.error().message()),
              HasSubstr("image size 0x804 + trailer 0x630 exceeds slot size 0x800"));

  o = Common();
  o.load_addr = 0x1000;
  o.rom_fixed = 0x2000;
  EXPECT_FALSE(CreateImage(in, o).ok());

  o = Common();
  o.slot_size = 0;
  o.pad = true;
  EXPECT_FALSE(CreateImage(in, o).ok());

  o = Common();
  o.align = 5;
  EXPECT_FALSE(CreateImage(in, o).ok());
}

TEST(CreateImageTest, ZeroHeaderInputWithoutPadHeader) {
  std::vector<uint8_t> in(0x20, 0);
  in.push_back(0xAB);
  CreateOptions o;
  o.version = {2, 0, 0, 0};
  auto out = CreateImage(in, o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = Parse(*out);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->header.hdr_size, 0x20);
  EXPECT_EQ(img->header.img_size, 1u);
  EXPECT_TRUE(Verify(*img).ok());
}

TEST(CreateImageTest, RomFixedAndNonBootableFlags) {
  CreateOptions o = Common();
  o.rom_fixed = 0x10000;
  o.non_bootable = true;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok());
  auto h = ImageHeader::Decode(*out);
  EXPECT_EQ(h->load_addr, 0x10000u);
  EXPECT_EQ(h->flags, kFlagRomFixed | kFlagNonBootable);
  EXPECT_FALSE(h->bootable());
}

TEST(DependenciesTest, ParsesImgtoolSyntax) {
  auto d = ParseDependencies("(1,0.5.0+7)");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0], (Dependency{1, {0, 5, 0, 7}}));
  d = ParseDependencies(" (0, 1.2.3), (2,4.0)");
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[1], (Dependency{2, {4, 0, 0, 0}}));
  for (const char* bad : {"", "1,2", "(1)", "(x,1.0)", "(1,1.0", "(256,1.0)", "(1,1.0.0.0.0)"}) {
    EXPECT_FALSE(ParseDependencies(bad).ok()) << bad;
  }
}

// Every key type: keygen, getpub round trip, sign, verify, wrong key fails.
class KeyTypeTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyTypeTest, SignVerifyRoundTrip) {
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(key->type(), GetParam());
  auto pem = key->ToPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto reread = PrivateKey::FromPem(*pem);
  ASSERT_TRUE(reread.ok()) << reread.error().message();
  auto pub = reread->Public();
  ASSERT_TRUE(pub.ok());
  auto pub_pem = pub->ToPem();
  ASSERT_TRUE(pub_pem.ok());
  EXPECT_THAT(*pub_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  auto pub2 = PublicKey::FromPem(*pub_pem);
  ASSERT_TRUE(pub2.ok());
  EXPECT_EQ(pub2->type(), GetParam());

  CreateOptions o = Common();
  o.key = &*reread;
  auto out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = Parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  auto sig = img->tlvs.Find(SignatureTlvType(GetParam()));
  ASSERT_TRUE(sig);
  if (GetParam() == KeyType::kRsa2048) {
    EXPECT_EQ(sig->value.size(), 256u);
  }
  if (GetParam() == KeyType::kRsa3072) {
    EXPECT_EQ(sig->value.size(), 384u);
  }
  if (GetParam() == KeyType::kEd25519) {
    EXPECT_EQ(sig->value.size(), 64u);
  }
  auto kh = img->tlvs.Find(kTlvKeyHash);
  ASSERT_TRUE(kh);
  auto v = Verify(*img, &*pub2);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->signature, SignatureTypeFor(GetParam()));

  auto other = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(other.ok());
  auto other_pub = other->Public();
  auto bad = Verify(*img, &*other_pub);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kCrypto);

  // PUBKEY instead of KEYHASH (--public-key-format full).
  o.public_key_full = true;
  out = CreateImage(ReadVector("in.bin"), o);
  ASSERT_TRUE(out.ok());
  img = Parse(*out);
  ASSERT_TRUE(img.ok());
  auto pk = img->tlvs.Find(kTlvPubKey);
  ASSERT_TRUE(pk);
  EXPECT_EQ(std::vector<uint8_t>(pk->value.begin(), pk->value.end()), *pub2->KeyBytes());
  EXPECT_TRUE(Verify(*img, &*pub2).ok());
  EXPECT_FALSE(Verify(*img, &*other_pub).ok());
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyTypeTest,
                         ::testing::Values(KeyType::kEcdsaP256, KeyType::kEd25519,
                                           KeyType::kRsa2048, KeyType::kRsa3072),
                         [](const auto& param_info) {
                           std::string n(KeyTypeName(param_info.param));
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(KeysTest, KeyHashOfVectorKeysMatchesSpec) {
  auto ec = PublicKey::FromPem(ReadText("ecdsa-p256.pub.pem"));
  ASSERT_TRUE(ec.ok());
  auto bytes = ec->KeyBytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 91u);  // DER SPKI (§5)
  auto kh = ec->KeyHash();
  ASSERT_TRUE(kh.ok());
  EXPECT_EQ(kh->bytes[0], 0xa0);
  EXPECT_EQ(kh->bytes[31], 0x6a);
  auto ed = PublicKey::FromPem(ReadText("ed25519.pub.pem"));
  ASSERT_TRUE(ed.ok());
  EXPECT_EQ(ed->KeyBytes()->size(), 44u);
  EXPECT_EQ(ed->KeyHash()->bytes[0], 0x75);
  // getpub of the private key gives the vector's public PEM.
  auto priv = PrivateKey::FromPem(ReadText("ed25519.pem"));
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(*priv->Public()->ToPem(), ReadText("ed25519.pub.pem"));
  auto ecpriv = PrivateKey::FromPem(ReadText("ecdsa-p256.pem"));
  ASSERT_TRUE(ecpriv.ok());
  EXPECT_EQ(*ecpriv->Public()->ToPem(), ReadText("ecdsa-p256.pub.pem"));
}

TEST(KeysTest, BadPemIsInvalidArgument) {
  auto r = PublicKey::FromPem("not a key");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  auto p = PrivateKey::FromPem(ReadText("ed25519.pub.pem"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(ParseKeyType("ecdsa-p256").ok());
  EXPECT_FALSE(ParseKeyType("dsa").ok());
}

}  // namespace
}  // namespace smpkit::mcuboot
