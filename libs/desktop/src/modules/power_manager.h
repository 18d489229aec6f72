#pragma once
// power_manager: collects the modules' power restrictions and keep-alive events, suspends the
// device after CONFIG_CAF_POWER_MANAGER_TIMEOUT of inactivity (power_down_event) and wakes it
// (wake_up_event).

#include <array>

#include "modules/context.h"

namespace smpkit::desktop::modules {

class PowerManager {
 public:
  explicit PowerManager(const Context& ctx);
  ~PowerManager();
  PowerManager(const PowerManager&) = delete;
  PowerManager& operator=(const PowerManager&) = delete;

  // The deepest level every module allows.
  PowerLevel Allowed() const;
  bool suspended() const { return suspended_; }

 private:
  void KeepAlive();
  void Timeout();

  const Context& ctx_;
  std::array<PowerLevel, kModuleCount> restrictions_{};
  bool suspended_ = false;
  sim::TaskId task_ = sim::kNoTask;
};

}  // namespace smpkit::desktop::modules
