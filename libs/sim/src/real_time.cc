#include "smpkit/sim/real_time.h"

namespace smpkit::sim {

RealTimeDriver::RealTimeDriver(Scheduler& scheduler, double speed, SteadyNow steady_now)
    : scheduler_(scheduler),
      speed_(speed > 0 ? speed : 1.0),
      steady_now_(std::move(steady_now)),
      wall_start_(steady_now_()),
      virtual_start_(scheduler.Now()) {}

Time RealTimeDriver::TargetVirtualTime() const {
  const auto wall = std::chrono::duration<double, std::nano>(steady_now_() - wall_start_);
  return virtual_start_ + Duration(static_cast<int64_t>(wall.count() * speed_));
}

size_t RealTimeDriver::Poll() { return scheduler_.RunUntil(TargetVirtualTime()); }

std::optional<std::chrono::steady_clock::duration> RealTimeDriver::TimeUntilNextTask() const {
  auto next = scheduler_.NextTime();
  if (!next) return std::nullopt;
  const Time target = TargetVirtualTime();
  if (*next <= target) return std::chrono::steady_clock::duration{0};
  const double wall_ns = static_cast<double>((*next - target).count()) / speed_;
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::nano>(wall_ns));
}

}  // namespace smpkit::sim
