#include "smpkit/sim/scheduler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smpkit/sim/real_time.h"

namespace smpkit::sim {
namespace {

TEST(SchedulerTest, RunsInTimeOrderAndFifoForEqualTimes) {
  Scheduler s;
  std::vector<std::string> log;
  s.PostAfter(Ms(5), [&] { log.push_back("b@5"); });
  s.PostAfter(Ms(1), [&] { log.push_back("a@1"); });
  s.PostAfter(Ms(5), [&] { log.push_back("c@5"); });
  s.Post([&] { log.push_back("now1"); });
  s.Post([&] { log.push_back("now2"); });
  EXPECT_EQ(s.RunUntilIdle(), 5u);
  EXPECT_EQ(log, (std::vector<std::string>{"now1", "now2", "a@1", "b@5", "c@5"}));
  EXPECT_EQ(s.Now(), Ms(5));
}

TEST(SchedulerTest, TaskPostedForNowRunsAfterAlreadyQueuedWorkAtThatTime) {
  Scheduler s;
  std::vector<int> log;
  s.PostAfter(Ms(2), [&] {
    log.push_back(1);
    s.Post([&] { log.push_back(3); });
  });
  s.PostAfter(Ms(2), [&] { log.push_back(2); });
  s.RunUntilIdle();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
}

TEST(SchedulerTest, CancelRemovesTask) {
  Scheduler s;
  int ran = 0;
  TaskId id = s.PostAfter(Ms(3), [&] { ++ran; });
  EXPECT_TRUE(s.IsPending(id));
  EXPECT_TRUE(s.Cancel(id));
  EXPECT_FALSE(s.Cancel(id));
  EXPECT_EQ(s.RunUntilIdle(), 0u);
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(s.Now(), Time{0});
}

TEST(SchedulerTest, RunUntilStopsAtTimeAndAdvancesClock) {
  Scheduler s;
  std::vector<int> log;
  s.PostAfter(Ms(1), [&] { log.push_back(1); });
  s.PostAfter(Ms(10), [&] { log.push_back(10); });
  EXPECT_EQ(s.RunUntil(Ms(5)), 1u);
  EXPECT_EQ(s.Now(), Ms(5));
  EXPECT_EQ(log, (std::vector<int>{1}));
  EXPECT_EQ(s.RunFor(Ms(5)), 1u);  // the task at exactly 10 ms is due
  EXPECT_EQ(log, (std::vector<int>{1, 10}));
}

TEST(SchedulerTest, BackgroundTasksDoNotKeepRunUntilIdleGoing) {
  Scheduler s;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    s.PostAfter(Ms(10), tick, TaskKind::kBackground);
  };
  s.PostAfter(Ms(10), tick, TaskKind::kBackground);
  bool done = false;
  s.PostAfter(Ms(35), [&] { done = true; });
  s.RunUntilIdle();
  EXPECT_TRUE(done);
  EXPECT_EQ(ticks, 3);  // 10, 20, 30; stops once the foreground task at 35 ran
  EXPECT_EQ(s.Now(), Ms(35));
}

TEST(SchedulerTest, RunUntilConditionStopsEarlyOrAtDeadline) {
  Scheduler s;
  int n = 0;
  for (int i = 1; i <= 10; ++i) s.PostAfter(Ms(i), [&] { ++n; });
  EXPECT_TRUE(s.RunUntilCondition([&] { return n == 4; }, Ms(100)));
  EXPECT_EQ(s.Now(), Ms(4));
  EXPECT_FALSE(s.RunUntilCondition([&] { return n == 99; }, Ms(7)));
  EXPECT_EQ(n, 7);
  EXPECT_EQ(s.Now(), Ms(7));
}

TEST(SchedulerTest, SeedReproducesRandomSequence) {
  Scheduler a(42), b(42), c(43);
  EXPECT_EQ(a.rng()(), b.rng()());
  EXPECT_EQ(a.UniformReal(), b.UniformReal());
  Scheduler d(42);
  EXPECT_NE(d.rng()(), c.rng()());
}

TEST(DelayableWorkTest, ScheduleKeepsDeadlineRescheduleReplacesIt) {
  Scheduler s;
  std::vector<Time> fired;
  DelayableWork w(s, [&] { fired.push_back(s.Now()); });
  EXPECT_TRUE(w.Schedule(Ms(100)));
  s.RunFor(Ms(40));
  EXPECT_FALSE(w.Schedule(Ms(10)));  // k_work_schedule: already pending, unchanged
  EXPECT_EQ(w.Remaining(), Ms(60));
  s.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<Time>{Ms(100)}));

  w.Schedule(Ms(100));  // due at 200
  s.RunFor(Ms(50));
  w.Reschedule(Ms(100));  // now due at 250
  s.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<Time>{Ms(100), Ms(250)}));
}

TEST(DelayableWorkTest, CancelAndSelfRescheduleFromHandler) {
  Scheduler s;
  int count = 0;
  DelayableWork* self = nullptr;
  DelayableWork w(s, [&] {
    if (++count < 3) self->Schedule(Ms(5));  // periodic check, like ble_latency's
  });
  self = &w;
  w.Schedule(Ms(5));
  s.RunUntilIdle();
  EXPECT_EQ(count, 3);
  EXPECT_EQ(s.Now(), Ms(15));
  EXPECT_FALSE(w.IsPending());

  w.Schedule(Ms(5));
  EXPECT_TRUE(w.Cancel());
  EXPECT_FALSE(w.Cancel());
  s.RunUntilIdle();
  EXPECT_EQ(count, 3);
  EXPECT_EQ(w.Remaining(), Duration{0});
}

TEST(WorkTest, SubmitOnlyOnceWhileQueued) {
  Scheduler s;
  int count = 0;
  Work w(s, [&] { ++count; });
  EXPECT_TRUE(w.Submit());
  EXPECT_FALSE(w.Submit());
  s.RunUntilIdle();
  EXPECT_EQ(count, 1);
  EXPECT_TRUE(w.Submit());
  EXPECT_TRUE(w.Cancel());
  s.RunUntilIdle();
  EXPECT_EQ(count, 1);
}

TEST(WorkTest, DestructorCancels) {
  Scheduler s;
  int count = 0;
  {
    DelayableWork w(s, [&] { ++count; });
    w.Schedule(Ms(1));
  }
  s.RunUntilIdle();
  EXPECT_EQ(count, 0);
}

TEST(RealTimeDriverTest, FollowsInjectedSteadyClockWithSpeed) {
  Scheduler s;
  auto fake_now = std::chrono::steady_clock::time_point{};
  RealTimeDriver driver(s, 2.0, [&] { return fake_now; });
  int ran = 0;
  s.PostAfter(Ms(10), [&] { ++ran; });
  EXPECT_EQ(driver.TimeUntilNextTask(), std::chrono::steady_clock::duration(Ms(5)));
  fake_now += Ms(4);
  EXPECT_EQ(driver.Poll(), 0u);
  EXPECT_EQ(s.Now(), Ms(8));
  fake_now += Ms(1);
  EXPECT_EQ(driver.Poll(), 1u);
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(driver.TimeUntilNextTask().has_value());
}

TEST(TimeTest, FormatTime) {
  EXPECT_EQ(FormatTime(Ms(1234) + Us(5)), "1.234005 s");
  EXPECT_EQ(FormatTime(Time{0}), "0.000000 s");
}

}  // namespace
}  // namespace smpkit::sim
