#include "modules/power_manager.h"

#include <algorithm>

namespace smpkit::desktop::modules {

PowerManager::PowerManager(const Context& ctx) : ctx_(ctx) {
  restrictions_.fill(PowerLevel::kMax);
  using M = ModuleId;
  EventBus& bus = ctx_.bus;
  bus.DeclareSource<PowerDownEvent>(M::kPowerManager);
  bus.DeclareSource<WakeUpEvent>(M::kPowerManager);
  bus.Subscribe<PowerManagerRestrictEvent>(M::kPowerManager, Priority::kNormal,
                                           [this](const PowerManagerRestrictEvent& e) {
                                             const PowerLevel before = Allowed();
                                             restrictions_[static_cast<size_t>(e.module)] = e.level;
                                             const PowerLevel after = Allowed();
                                             if (suspended_ && after < PowerLevel::kSuspended) {
                                               suspended_ = false;
                                               ctx_.Submit(M::kPowerManager, WakeUpEvent{});
                                             }
                                             if (before != after) KeepAlive();
                                             return false;
                                           });
  bus.Subscribe<KeepAliveEvent>(M::kPowerManager, Priority::kNormal, [this](const KeepAliveEvent&) {
    if (suspended_) {
      suspended_ = false;
      ctx_.Log(M::kPowerManager, "wake up");
      ctx_.Submit(M::kPowerManager, WakeUpEvent{});
    }
    KeepAlive();
    return false;
  });
  bus.Subscribe<ModuleStateEvent>(M::kPowerManager, Priority::kNormal,
                                  [this](const ModuleStateEvent& e) {
                                    if (e.state == ModuleState::kError)
                                      ctx_.Log(M::kPowerManager, "module %s reported ERROR",
                                               std::string(ModuleName(e.module)).c_str());
                                    return false;
                                  });
  KeepAlive();
}

PowerManager::~PowerManager() {
  if (task_ != sim::kNoTask) ctx_.sched.Cancel(task_);
}

PowerLevel PowerManager::Allowed() const {
  PowerLevel l = PowerLevel::kMax;
  for (auto r : restrictions_) l = std::min(l, r);
  return l;
}

void PowerManager::KeepAlive() {
  if (task_ != sim::kNoTask) ctx_.sched.Cancel(task_);
  task_ = ctx_.sched.PostAfter(
      sim::Ms(int64_t{ctx_.cfg.power_manager_timeout_s} * 1000),
      [this] {
        task_ = sim::kNoTask;
        Timeout();
      },
      sim::TaskKind::kBackground);
}

void PowerManager::Timeout() {
  if (suspended_ || Allowed() < PowerLevel::kSuspended) return;
  suspended_ = true;
  ctx_.Log(ModuleId::kPowerManager, "idle for %u s: suspending", ctx_.cfg.power_manager_timeout_s);
  ctx_.Submit(ModuleId::kPowerManager, PowerDownEvent{false});
}

}  // namespace smpkit::desktop::modules
