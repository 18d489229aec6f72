#include "smpkit/base/result.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

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

TEST(Error, StaysSmallAndTriviallyCopyable) {
  static_assert(sizeof(Error) <= 16);
  static_assert(sizeof(Status) <= 16);
  static_assert(std::is_trivially_copyable_v<Error>);
  Status ok = Ok();
  EXPECT_TRUE(ok.ok());
  Status bad = Error(Errc::kBusy, "held");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kBusy);
}

TEST(Error, StaticReasonIsReferencedNotCopied) {
  static const char kReason[] = "no free slot";
  Error e = Error::Static(Errc::kNoSpace, kReason);
  EXPECT_EQ(e.message().data(), kReason);
  EXPECT_FALSE(e.has_smp());
}

TEST(Error, RemoteCarriesTheDevicesGroupAndRc) {
  Error v2 = Error::Remote(1, 9, false, "image upload: image error 9 (NO_FREE_SLOT)");
  EXPECT_EQ(v2.code(), Errc::kRemote);
  EXPECT_TRUE(v2.has_smp());
  EXPECT_EQ(v2.smp_group(), 1);
  EXPECT_EQ(v2.smp_rc(), 9);
  EXPECT_FALSE(v2.smp_mgmt_rc());
  Error copy = v2;  // a copy shares the message
  EXPECT_EQ(copy.message(), "image upload: image error 9 (NO_FREE_SLOT)");
  Error v1 = Error::Remote(0, 8, true, "os reset: rc 8 (ENOTSUP)");
  EXPECT_TRUE(v1.smp_mgmt_rc());
  EXPECT_EQ(v1.smp_rc(), 8);
}

TEST(Error, AMessageOutlivedByTheRingSaysSoInsteadOfShowingAnother) {
  Error old = Error::Format(Errc::kCorrupt, "bad CRC at line %d", 7);
  for (size_t i = 0; i + 1 < Error::kMessageSlots; ++i) {
    Error e = Error::Format(Errc::kIo, "error %zu", i);
    ASSERT_EQ(e.message(), "error " + std::to_string(i));
  }
  EXPECT_EQ(old.message(), "bad CRC at line 7");  // kMessageSlots - 1 newer: still there
  Error one_more(Errc::kIo, "one more");
  EXPECT_EQ(old.message(), "corrupt (message no longer available)");
  EXPECT_EQ(one_more.message(), "one more");
}

}  // namespace
}  // namespace smpkit
