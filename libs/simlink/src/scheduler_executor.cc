#include "smpkit/simlink/scheduler_executor.h"

namespace smpkit::simlink {

client::Time SchedulerExecutor::Now() const { return scheduler_.Now(); }

client::TimerId SchedulerExecutor::PostAfter(client::Duration delay, std::function<void()> fn) {
  return scheduler_.PostAfter(delay, std::move(fn));
}

bool SchedulerExecutor::Cancel(client::TimerId id) { return scheduler_.Cancel(id); }

bool SchedulerExecutor::RunUntil(const std::function<bool()>& done) {
  while (!done()) {
    if (!scheduler_.RunOne()) return false;
  }
  return true;
}

}  // namespace smpkit::simlink
