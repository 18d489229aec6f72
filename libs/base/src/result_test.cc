#include "smpkit/base/result.h"

#include <gtest/gtest.h>

#include <string>

namespace smpkit {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Error::Format(Errc::kInvalidArgument, "%d is odd", v);
  return v / 2;
}

Result<int> Quarter(int v) {
  SMPKIT_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "3 is odd");
}

TEST(Error, TruncatesLongMessages) {
  std::string big(500, 'x');
  Error e(Errc::kIo, big);
  EXPECT_EQ(e.message().size(), Error::kMaxMessage);
}

}  // namespace
}  // namespace smpkit
