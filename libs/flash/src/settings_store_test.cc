// The settings store: the newest value of a name wins, deletions, compaction into the other
// half, and a power cut at every flash write of a sequence that compacts several times: the
// store always reopens holding the settings from before or after the interrupted operation.
#include "smpkit/flash/settings_store.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace smpkit::flash {
namespace {

using Map = std::map<std::string, std::string>;

Map Contents(const SettingsStore& s) {
  Map m;
  EXPECT_TRUE(s.ForEach([&](std::string_view n, ConstByteSpan v) {
                 EXPECT_EQ(m.count(std::string(n)), 0u) << n;
                 m[std::string(n)] = std::string(v.begin(), v.end());
               }).ok());
  return m;
}

ConstByteSpan B(const std::string& s) { return AsBytes(s); }

TEST(SettingsStore, SaveReadDeleteAndReopen) {
  RamFlash flash({4 * 4096, 4096, 4, 0xff});
  auto part = Partition::Make(flash, 8192, 8192);
  ASSERT_TRUE(part.ok());
  auto s = SettingsStore::Open(*part);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(Contents(*s).empty());
  ASSERT_TRUE(s->Save("bt/name", B("Desktop Mouse")).ok());
  ASSERT_TRUE(s->Save("dfu/count", B("\x01")).ok());
  ASSERT_TRUE(s->Save("bt/name", B("Mouse 2")).ok());
  const uint32_t used = s->used();
  ASSERT_TRUE(s->Save("bt/name", B("Mouse 2")).ok());  // unchanged: nothing written
  EXPECT_EQ(s->used(), used);
  uint8_t buf[64];
  auto n = s->Read("bt/name", buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "Mouse 2");
  EXPECT_EQ(s->Read("nope", buf).error().code(), Errc::kNotFound);
  uint8_t tiny[2];
  EXPECT_EQ(s->Read("bt/name", tiny).error().code(), Errc::kNoSpace);
  ASSERT_TRUE(s->Delete("dfu/count").ok());
  EXPECT_EQ(Contents(*s), (Map{{"bt/name", "Mouse 2"}}));
  auto again = SettingsStore::Open(*part);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Contents(*again), (Map{{"bt/name", "Mouse 2"}}));
  // The first 8 KiB of the flash were never touched.
  for (size_t i = 0; i < 8192; ++i) ASSERT_EQ(flash.contents()[i], 0xff);
  EXPECT_EQ(s->Save("", B("x")).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(s->Save(std::string(65, 'n'), B("x")).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(s->Save("v", ConstByteSpan(std::vector<uint8_t>(257))).error().code(),
            Errc::kInvalidArgument);
  EXPECT_FALSE(SettingsStore::Open(*Partition::Make(flash, 0, 4096)).ok());  // one page
}

TEST(SettingsStore, CompactsIntoTheOtherHalfAndRefusesWhatCannotFit) {
  RamFlash flash({2 * 4096, 4096, 4, 0xff});
  auto s = SettingsStore::Open(*Partition::Make(flash, 0, 8192));
  ASSERT_TRUE(s.ok());
  // 200 rewrites of 4 names of ~100 bytes: many times a half.
  Map want;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "k" + std::to_string(i % 4);
    const std::string value(100, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(s->Save(name, B(value)).ok()) << i;
    want[name] = value;
  }
  EXPECT_GT(s->sequence(), 4u);
  EXPECT_EQ(Contents(*s), want);
  EXPECT_EQ(Contents(*SettingsStore::Open(*Partition::Make(flash, 0, 8192))), want);
  // Live settings larger than a half: kNoSpace, and what was there stays.
  Status st = Ok();
  int i = 0;
  for (; i < 100 && st.ok(); ++i)
    st = s->Save("big" + std::to_string(i), ConstByteSpan(std::vector<uint8_t>(250, 1)));
  EXPECT_EQ(st.error().code(), Errc::kNoSpace);
  auto reopened = SettingsStore::Open(*Partition::Make(flash, 0, 8192));
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Contents(*reopened).size(), want.size() + static_cast<size_t>(i - 1));
}

struct Op {
  bool del;
  std::string name, value;
};

TEST(SettingsStore, PowerCutAtEveryWriteKeepsTheOldOrTheNewSettings) {
  std::vector<Op> ops;
  for (int i = 0; i < 60; ++i) {
    if (i % 7 == 6) {
      ops.push_back({true, "k" + std::to_string(i % 5), ""});
    } else {
      ops.push_back({false, "k" + std::to_string(i % 5),
                     std::string(60 + i, static_cast<char>('A' + i % 26))});
    }
  }
  std::vector<Map> models(1);
  for (const auto& op : ops) {
    Map m = models.back();
    if (op.del) {
      m.erase(op.name);
    } else {
      m[op.name] = op.value;
    }
    models.push_back(m);
  }
  for (int torn = 0; torn < 2; ++torn) {
    int cuts = 0;
    for (uint64_t n = 0;; ++n) {
      RamFlash flash({2 * 1024, 1024, 4, 0xff});
      auto part = *Partition::Make(flash, 0, 2048);
      auto s = SettingsStore::Open(part);
      ASSERT_TRUE(s.ok());
      if (torn) {
        flash.CutPowerAtMutation(n);
      } else {
        flash.CutPowerBeforeMutation(n);
      }
      size_t k = 0;
      for (; k < ops.size(); ++k) {
        Status st = ops[k].del ? s->Delete(ops[k].name) : s->Save(ops[k].name, B(ops[k].value));
        if (!st.ok()) break;
      }
      if (k == ops.size()) break;  // the cut came after the last write: the sweep is done
      ++cuts;
      flash.PowerOn();
      auto after = SettingsStore::Open(part);
      ASSERT_TRUE(after.ok()) << "cut at write " << n;
      const Map got = Contents(*after);
      EXPECT_TRUE(got == models[k] || got == models[k + 1])
          << "cut at write " << n << " during op " << k;
      // And the store goes on working from there.
      ASSERT_TRUE(after->Save("z", B("after the cut")).ok()) << n;
      Map more = got;
      more["z"] = "after the cut";
      EXPECT_EQ(Contents(*SettingsStore::Open(part)), more) << n;
    }
    EXPECT_GT(cuts, 100) << "torn " << torn;
  }
}

}  // namespace
}  // namespace smpkit::flash
