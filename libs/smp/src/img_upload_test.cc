#include "smpkit/smp/img_upload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/header.h"
#include "smpkit/testing/hex.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::smp::img {
namespace {

using smpkit::testing::FromHex;

// Every image upload request captured from real clients against Zephyr 3.4 and 4.1 parses
// into what its decoded form says (keys in the clients' own order, len/off absent or not).
TEST(UploadRequestTest, ParsesEveryCapturedUploadRequest) {
  int parsed = 0;
  for (const char* file : {"smp/zephyr-3.4-captures.json", "smp/zephyr-4.1-captures.json"}) {
    const auto captures = nlohmann::json::parse(smpkit::testing::ReadVectorText(file));
    for (const auto& c : captures) {
      const auto request = FromHex(c["request_hex"].get<std::string>());
      if (request.size() < kHeaderSize) continue;
      auto h = DecodeHeader(request);
      ASSERT_TRUE(h.ok());
      if (h->group != kGroupImage || h->id != kUpload || h->op != 2) continue;
      const std::string diag = c["request_decoded"][0]["payload"];
      auto r = UploadRequest::Parse(ConstByteSpan(request).subspan(kHeaderSize, h->length));
      std::smatch m;
      const bool wrong_type =
          std::regex_search(diag, m, std::regex(R"re("(off|len|image)": [^0-9])re")) ||
          std::regex_search(diag, m, std::regex(R"re("(data|sha)": [^h])re"));
      if (wrong_type) {
        EXPECT_FALSE(r.ok()) << c["name"];
        continue;
      }
      ASSERT_TRUE(r.ok()) << c["name"] << ": " << r.error().message();
      ++parsed;
      if (std::regex_search(diag, m, std::regex(R"("off": (\d+))"))) {
        ASSERT_TRUE(r->off.has_value()) << c["name"];
        EXPECT_EQ(std::to_string(*r->off), m[1].str()) << c["name"];
      } else {
        EXPECT_FALSE(r->off.has_value()) << c["name"];
      }
      if (std::regex_search(diag, m, std::regex(R"("len": (\d+))"))) {
        ASSERT_TRUE(r->len.has_value()) << c["name"];
        EXPECT_EQ(std::to_string(*r->len), m[1].str()) << c["name"];
      } else {
        EXPECT_FALSE(r->len.has_value()) << c["name"];
      }
      if (std::regex_search(diag, m, std::regex(R"("data": h'([0-9a-f]*)')"))) {
        EXPECT_EQ(std::vector<uint8_t>(r->data.begin(), r->data.end()), FromHex(m[1].str()))
            << c["name"];
      }
      if (std::regex_search(diag, m, std::regex(R"("sha": h'([0-9a-f]*)')"))) {
        EXPECT_EQ(std::vector<uint8_t>(r->sha.begin(), r->sha.end()), FromHex(m[1].str()))
            << c["name"];
      }
    }
  }
  EXPECT_GE(parsed, 10);
}

TEST(UploadRequestTest, EncodesInItsOrderParsesBackAndKnowsItsSize) {
  const std::vector<uint8_t> sha(32, 0xab), data(300, 0x5a);
  UploadRequest first;
  first.image = 1;
  first.len = 70000;
  first.off = 0;
  first.sha = sha;
  first.upgrade = true;
  first.data = data;
  std::vector<uint8_t> out(first.EncodedSize());
  auto n = first.Encode(out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, out.size());
  // {"image": 1, "len": 70000, "off": 0, "sha": h'ab..', "upgrade": true, "data": h'5a..'}
  EXPECT_EQ(out[0], 0xa6);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 1, out.begin() + 8),
            (std::vector<uint8_t>{0x65, 'i', 'm', 'a', 'g', 'e', 0x01}));
  auto back = UploadRequest::Parse(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->image, 1u);
  EXPECT_EQ(back->len, 70000u);
  EXPECT_EQ(back->off, 0u);
  EXPECT_TRUE(back->upgrade);
  EXPECT_EQ(back->sha.size(), 32u);
  EXPECT_EQ(back->data.size(), 300u);
  // A later chunk: {"off": N, "data": ...}; too small a buffer is refused.
  UploadRequest next;
  next.off = 4096;
  next.data = data;
  std::vector<uint8_t> small(next.EncodedSize() - 1);
  EXPECT_FALSE(next.Encode(small).ok());
  std::vector<uint8_t> ok(next.EncodedSize());
  EXPECT_TRUE(next.Encode(ok).ok());
}

TEST(UploadRequestTest, DataFitFillsTheLimitExactly) {
  UploadRequest base;
  base.off = 123456;
  for (size_t limit : {20u, 40u, 200u, 300u, 2467u, 70000u}) {
    const size_t n = UploadDataFit(base, limit);
    ASSERT_GT(n, 0u) << limit;
    std::vector<uint8_t> data(n);
    UploadRequest r = base;
    r.data = data;
    EXPECT_LE(r.EncodedSize(), limit) << limit;
    std::vector<uint8_t> more(n + 1);
    r.data = more;
    EXPECT_GT(r.EncodedSize(), limit) << limit;
  }
  EXPECT_EQ(UploadDataFit(base, 5), 0u);
}

}  // namespace
}  // namespace smpkit::smp::img
