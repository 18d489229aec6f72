// `info --json` must match imgtool dumpinfo -f json for every vector.
#include "smpkit/mcuboot/image_info.h"
#include "smpkit/testing/vectors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smpkit::mcuboot {
namespace {

std::vector<uint8_t> ReadVector(const std::string& name) {
  return smpkit::testing::ReadVector("mcuboot/" + name);
}

class DumpInfoTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DumpInfoTest, JsonEqualsImgtoolDumpinfo) {
  std::string name = GetParam();
  auto file = ReadVector(name + ".bin");
  auto json = ImageInfoJson(file, name + ".bin");
  ASSERT_TRUE(json.ok()) << json.error().message();
  auto want_bytes = ReadVector(name + ".dumpinfo.json");
  auto want = nlohmann::json::parse(want_bytes.begin(), want_bytes.end());
  auto got = nlohmann::json::parse(*json);
  EXPECT_EQ(got, want) << got.dump(2);
  // Same key order as imgtool.
  std::vector<std::string> keys;
  auto ordered = nlohmann::ordered_json::parse(*json);
  for (auto it = ordered["header"].begin(); it != ordered["header"].end(); ++it) {
    keys.push_back(it.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"magic", "load_addr", "hdr_size", "protected_tlv_size",
                                            "img_size", "flags", "version"}));
}

INSTANTIATE_TEST_SUITE_P(Vectors, DumpInfoTest,
                         ::testing::Values("signed-ecdsa-p256", "signed-ecdsa-p256-pad-confirm",
                                           "signed-ed25519", "unsigned-hashonly",
                                           "unsigned-prot-tlv"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

TEST(ImageInfoTest, TextNamesTheEssentials) {
  auto text = ImageInfoText(ReadVector("unsigned-prot-tlv.bin"), "unsigned-prot-tlv.bin");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("1.2.3.4 (1.2.3+4)"), std::string::npos) << *text;
  EXPECT_NE(text->find("RAM_LOAD"), std::string::npos);
  EXPECT_NE(text->find("SEC_CNT"), std::string::npos);
  EXPECT_NE(text->find("7d80657a95a29729e77b2b9720a6cbd8ba95656488743e73f579767eaf4e8916"),
            std::string::npos);
  auto padded = ImageInfoText(ReadVector("unsigned-pad-test.bin"), "x");
  ASSERT_TRUE(padded.ok());
  EXPECT_NE(padded->find("77c295f360d2ef7f3552500f2cb67980"), std::string::npos);
}

TEST(ImageInfoTest, NotAnImageIsAnError) {
  auto r = ImageInfoJson(ReadVector("in.bin"), "in.bin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kCorrupt);
}

}  // namespace
}  // namespace smpkit::mcuboot
