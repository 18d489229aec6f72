#include "smpkit/desktop/dfu_lock.h"

#include <gtest/gtest.h>

#include <vector>

namespace smpkit::desktop {
namespace {

TEST(DfuLock, EraAIsACompareAndSwapOfTheOwnerId) {
  DfuLock lock(DfuLockMode::kEraA);
  DfuLockOwner smp{"smp", 2, {}};
  DfuLockOwner dfu{"dfu", 1, {}};
  EXPECT_TRUE(lock.Lock(smp));
  EXPECT_FALSE(lock.Lock(smp));  // CAS 0 -> id fails when already locked, even by the owner
  EXPECT_FALSE(lock.Lock(dfu));
  auto bad = lock.Release(dfu);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "DFU lock release by dfu, which does not hold it (owner: smp)");
  EXPECT_EQ(lock.assertion_failures(), 1u);
  EXPECT_TRUE(lock.Release(smp).ok());
  EXPECT_TRUE(lock.Lock(dfu));
}

TEST(DfuLock, OwnerFormFollowsTheFiveRowTable) {
  DfuLock lock(DfuLockMode::kOwner);
  std::vector<std::string> calls;
  DfuLockOwner cc{"Config Channel", 1,
                  [&](const DfuLockOwner* n) { calls.push_back("cc<-" + std::string(n->name)); }};
  DfuLockOwner mg{"MCUmgr", 2,
                  [&](const DfuLockOwner* n) { calls.push_back("mg<-" + std::string(n->name)); }};
  EXPECT_TRUE(lock.Claim(cc).ok());
  EXPECT_TRUE(lock.Claim(cc).ok());  // idempotent
  auto busy = lock.Claim(mg);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code(), Errc::kBusy);
  EXPECT_EQ(busy.error().message(), "DFU lock held by Config Channel, MCUmgr refused");
  EXPECT_FALSE(lock.Release(mg).ok());
  EXPECT_TRUE(lock.Release(cc).ok());
  EXPECT_TRUE(lock.Claim(cc).ok());  // same owner again: nobody notified
  EXPECT_TRUE(calls.empty());
  EXPECT_TRUE(lock.Release(cc).ok());
  EXPECT_TRUE(lock.Claim(mg).ok());  // previous owner (cc) is told
  EXPECT_EQ(calls, std::vector<std::string>{"cc<-MCUmgr"});
  EXPECT_TRUE(lock.Release(mg).ok());
  EXPECT_TRUE(lock.Claim(mg).ok());  // previous is mg itself: no call
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(lock.assertion_failures(), 0u);
}

}  // namespace
}  // namespace smpkit::desktop
