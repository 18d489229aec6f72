#include "smpkit/client/link.h"

#include "smpkit/sim/scheduler.h"

namespace smpkit::client {

Time SchedulerExecutor::Now() const { return scheduler_.Now(); }

TimerId SchedulerExecutor::PostAfter(Duration delay, std::function<void()> fn) {
  return scheduler_.PostAfter(delay, std::move(fn));
}

bool SchedulerExecutor::Cancel(TimerId id) { return scheduler_.Cancel(id); }

bool SchedulerExecutor::RunUntil(const std::function<bool()>& done) {
  while (!done()) {
    if (!scheduler_.RunOne()) return false;
  }
  return true;
}

}  // namespace smpkit::client
