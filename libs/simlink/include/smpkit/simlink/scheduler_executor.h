#pragma once
// The client's Executor on a virtual-time sim::Scheduler, for tests and simulations.

#include <functional>

#include "smpkit/client/link.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::simlink {

class SchedulerExecutor final : public client::Executor {
 public:
  explicit SchedulerExecutor(sim::Scheduler& scheduler) : scheduler_(scheduler) {}
  client::Time Now() const override;
  client::TimerId PostAfter(client::Duration delay, std::function<void()> fn) override;
  bool Cancel(client::TimerId id) override;
  bool RunUntil(const std::function<bool()>& done) override;

 private:
  sim::Scheduler& scheduler_;
};

}  // namespace smpkit::simlink
