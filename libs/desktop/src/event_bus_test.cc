#include "smpkit/desktop/event_bus.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smpkit::desktop {
namespace {

TEST(EventBus, FifoOnTheWorkqueueWithPriorityGroupsAndConsume) {
  sim::Scheduler s;
  EventBus bus(s);
  std::vector<std::string> seen;
  bus.Subscribe<ModuleStateEvent>(ModuleId::kSmp, Priority::kFinal, [&](const ModuleStateEvent& e) {
    seen.push_back("final:" + std::string(ModuleName(e.module)));
    return false;
  });
  bus.Subscribe<ModuleStateEvent>(ModuleId::kDfu, Priority::kNormal,
                                  [&](const ModuleStateEvent& e) {
                                    seen.push_back("normal:" + std::string(ModuleName(e.module)));
                                    return false;
                                  });
  bus.Subscribe<ModuleStateEvent>(ModuleId::kBleLatency, Priority::kEarly,
                                  [&](const ModuleStateEvent& e) {
                                    seen.push_back("early:" + std::string(ModuleName(e.module)));
                                    return e.module == ModuleId::kBleState;  // consume
                                  });
  bus.Subscribe<ModuleStateEvent>(ModuleId::kMain, Priority::kFirst,
                                  [&](const ModuleStateEvent& e) {
                                    seen.push_back("first:" + std::string(ModuleName(e.module)));
                                    return false;
                                  });
  ASSERT_TRUE(
      bus.Submit(ModuleId::kMain, ModuleStateEvent{ModuleId::kMain, ModuleState::kReady}).ok());
  ASSERT_TRUE(
      bus.Submit(ModuleId::kBleState, ModuleStateEvent{ModuleId::kBleState, ModuleState::kReady})
          .ok());
  EXPECT_TRUE(seen.empty());  // nothing runs until the workqueue does
  EXPECT_EQ(bus.queued(), 2u);
  s.RunUntilIdle();
  const std::vector<std::string> want = {"first:main", "early:main",      "normal:main",
                                         "final:main", "first:ble_state", "early:ble_state"};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(bus.submitted<ModuleStateEvent>(), 2u);
  EXPECT_EQ(bus.submitted<BleSmpTransferEvent>(), 0u);
}

TEST(EventBus, EventsSubmittedByHandlersGoToTheBack) {
  sim::Scheduler s;
  EventBus bus(s);
  std::vector<std::string> seen;
  bus.Subscribe<BleSmpTransferEvent>(ModuleId::kBleLatency, Priority::kNormal,
                                     [&](const BleSmpTransferEvent&) {
                                       seen.push_back("transfer");
                                       return false;
                                     });
  bus.Subscribe<HidReportEvent>(ModuleId::kDfu, Priority::kNormal, [&](const HidReportEvent&) {
    seen.push_back("hid");
    (void)bus.Submit(ModuleId::kSmp, BleSmpTransferEvent{});
    return false;
  });
  (void)bus.Submit(ModuleId::kHidState, HidReportEvent{});
  (void)bus.Submit(ModuleId::kHidState, HidReportEvent{});
  s.RunUntilIdle();
  EXPECT_EQ(seen, (std::vector<std::string>{"hid", "hid", "transfer", "transfer"}));
}

TEST(EventBus, FullQueueDropsWithError) {
  sim::Scheduler s;
  BasicEventBus<2, KeepAliveEvent, WakeUpEvent> bus(s);
  EXPECT_TRUE(bus.Submit(ModuleId::kMain, KeepAliveEvent{}).ok());
  EXPECT_TRUE(bus.Submit(ModuleId::kMain, WakeUpEvent{}).ok());
  auto st = bus.Submit(ModuleId::kHidState, KeepAliveEvent{});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kNoSpace);
  EXPECT_EQ(st.error().message(),
            "event queue full (2 events), keep_alive_event from hid_state dropped");
  EXPECT_EQ(bus.dropped(), 1u);
  EXPECT_EQ(bus.queued_of<WakeUpEvent>(), 1u);
}

TEST(EventBus, PropagationTableListsSourcesAndSinks) {
  sim::Scheduler s;
  EventBus bus(s);
  bus.DeclareSource<ModuleStateEvent>(ModuleId::kMain);
  bus.DeclareSource<ModuleStateEvent>(ModuleId::kBleState);
  bus.DeclareSource<ModuleStateEvent>(ModuleId::kDfu);
  bus.DeclareSource<BleSmpTransferEvent>(ModuleId::kSmp);
  bus.Subscribe<ModuleStateEvent>(ModuleId::kSmp, Priority::kNormal,
                                  [](const ModuleStateEvent&) { return false; },
                                  {ModuleId::kMain, ModuleId::kBleState});
  bus.Subscribe<BleSmpTransferEvent>(ModuleId::kBleLatency, Priority::kNormal,
                                     [](const BleSmpTransferEvent&) { return false; });
  const std::string want =
      "| Source Module | Input Event        | This Module | Output Event           | Sink Module "
      "|\n"
      "|---------------|--------------------|-------------|------------------------|-------------|"
      "\n"
      "| main          | module_state_event | smp         |                        |             "
      "|\n"
      "| ble_state     | module_state_event |             |                        |             "
      "|\n"
      "|               |                    |             | ble_smp_transfer_event | ble_latency "
      "|\n";
  EXPECT_EQ(bus.PropagationTable(ModuleId::kSmp), want);
}

}  // namespace
}  // namespace smpkit::desktop
