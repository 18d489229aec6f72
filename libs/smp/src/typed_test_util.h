#pragma once
// For the typed request and answer tests: a message's encoding as hex, checked against its
// EncodedSize().

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/base/hex.h"

namespace smpkit::smp::testing {

template <typename M>
std::string Encoded(const M& m) {
  std::vector<uint8_t> out(m.EncodedSize());
  auto n = m.Encode(out);
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(*n, out.size());
  return HexEncode(out);
}

}  // namespace smpkit::smp::testing
