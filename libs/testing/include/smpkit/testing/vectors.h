#pragma once
// The golden data in ../shared/vectors/ for tests (SMPKIT_SHARED_DIR is defined for every
// test target). A file that cannot be read fails the current test, naming it, and reads as
// empty.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace smpkit::testing {

// `rel` is relative to the vectors folder, e.g. "mcuboot/signed-ed25519.bin".
inline std::vector<uint8_t> ReadVector(const std::string& rel) {
  std::ifstream in(std::string(SMPKIT_SHARED_DIR) + "/vectors/" + rel, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read vector " << rel;
  return {std::istreambuf_iterator<char>(in), {}};
}

inline std::string ReadVectorText(const std::string& rel) {
  const std::vector<uint8_t> b = ReadVector(rel);
  return {b.begin(), b.end()};
}

}  // namespace smpkit::testing
