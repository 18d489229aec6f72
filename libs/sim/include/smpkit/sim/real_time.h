#pragma once
// Drives a Scheduler from a steady clock, for processes that serve real clients. The wall
// clock is injected so that the driver itself is testable without sleeping.

#include <chrono>
#include <functional>
#include <optional>

#include "smpkit/sim/scheduler.h"

namespace smpkit::sim {

class RealTimeDriver {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

  // Virtual time advances `speed` times as fast as the steady clock, starting from the
  // scheduler's current time.
  explicit RealTimeDriver(Scheduler& scheduler, double speed = 1.0,
                          SteadyNow steady_now = &std::chrono::steady_clock::now);

  // Runs everything due up to the virtual time that corresponds to the steady clock now.
  size_t Poll();
  // Wall-clock time until the next queued task is due (zero if overdue), or nullopt if
  // nothing is queued: how long an event loop may sleep.
  std::optional<std::chrono::steady_clock::duration> TimeUntilNextTask() const;

 private:
  Time TargetVirtualTime() const;
  Scheduler& scheduler_;
  double speed_;
  SteadyNow steady_now_;
  std::chrono::steady_clock::time_point wall_start_;
  Time virtual_start_;
};

}  // namespace smpkit::sim
