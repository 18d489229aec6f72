#include "modules/smp.h"

#include <string>

namespace smpkit::desktop::modules {

Smp::Smp(const Context& ctx, BtHost& host, device::Device& dev)
    : ctx_(ctx), host_(host), dev_(dev), timeout_(ctx.sched, [this] {
        ctx_.Log(ModuleId::kSmp, "MCUmgr DFU timed out, releasing the DFU lock");
        (void)ctx_.lock.Release(owner_);
      }) {
  const DesktopConfig& cfg = ctx_.cfg;
  owner_.name = cfg.smp == SmpEra::kMcumgr ? "MCUmgr" : "smp";
  owner_.id = kOwnerIdSmp;
  owner_.owner_changed = [this](const DfuLockOwner* n) {
    ctx_.Log(ModuleId::kSmp, "DFU lock taken by %s: resetting the MCUmgr upload",
             std::string(n->name).c_str());
    dev_.img_group().ResetSession();
  };
  using M = ModuleId;
  EventBus& bus = ctx_.bus;
  bus.DeclareSource<BleSmpTransferEvent>(M::kSmp);
  if (cfg.smp == SmpEra::kEraA) bus.DeclareSource<ModuleStateEvent>(M::kSmp);
  bus.Subscribe<ModuleStateEvent>(M::kSmp, Priority::kNormal,
                                  [this](const ModuleStateEvent& e) { return OnModuleState(e); },
                                  {M::kMain, M::kBleState});
  if (cfg.smp == SmpEra::kMcumgr) {
    bus.Subscribe<BleSmpTransferEvent>(M::kSmp, Priority::kFinal,
                                       [this](const BleSmpTransferEvent&) {
                                         event_active_ = false;
                                         return false;
                                       });
  }
}

bool Smp::OnModuleState(const ModuleStateEvent& e) {
  if (e.state != ModuleState::kReady) return false;
  if (e.module == ModuleId::kMain) {
    hooks_registered_ = true;  // upload callback + image group
    if (ctx_.cfg.smp == SmpEra::kMcumgr && !ctx_.cfg.direct_xip && ctx_.cfg.confirm_at_boot) {
      auto st = dev_.bootloader().ConfirmRunning(0);
      if (!st.ok())
        ctx_.Log(ModuleId::kSmp, "image confirm failed: %s",
                 std::string(st.error().message()).c_str());
    }
  } else if (e.module == ModuleId::kBleState && !service_registered_) {
    service_registered_ = true;  // smp_bt_register()
    ctx_.Log(ModuleId::kSmp, "SMP Bluetooth service registered");
    if (ctx_.cfg.smp == SmpEra::kEraA)
      ctx_.Submit(ModuleId::kSmp, ModuleStateEvent{ModuleId::kSmp, ModuleState::kReady});
  }
  return false;
}

void Smp::SubmitTransfer() {
  if (ctx_.cfg.log_transfer_events) ctx_.Log(ModuleId::kSmp, "event: ble_smp_transfer_event");
  ctx_.Submit(ModuleId::kSmp, BleSmpTransferEvent{});
}

smp::Outcome Smp::OnUploadChunk(const mgmt::UploadCheck& c) {
  if (!hooks_registered_) return smp::Outcome::Success();
  if (ctx_.cfg.smp == SmpEra::kEraA) {
    if (!started_) {
      if (ctx_.cfg.dfu_lock && !ctx_.lock.Lock(owner_)) {
        ctx_.Log(ModuleId::kSmp, "upload at offset %u rejected: DFU lock held by %s", c.off,
                 ctx_.lock.owner() ? std::string(ctx_.lock.owner()->name).c_str() : "?");
        return smp::Outcome::Rc(static_cast<smp::MgmtErr>(-1), "app reject");
      }
      started_ = true;
      ctx_.Log(ModuleId::kSmp, "DFU lock taken by smp until reboot (first chunk, image %u bytes)",
               c.len);
    }
    SubmitTransfer();
    return smp::Outcome::Success();
  }
  if (ctx_.cfg.smp == SmpEra::kMcumgr) return McumgrDfuCommand(true);
  return smp::Outcome::Success();
}

smp::Outcome Smp::McumgrDfuCommand(bool may_transfer, bool answer_honoured) {
  timeout_.Reschedule(ctx_.tm.mcumgr_lock_hold);
  if (ctx_.cfg.dfu_lock) {
    auto st = ctx_.lock.Claim(owner_);
    if (!st.ok()) {
      timeout_.Cancel();
      if (answer_honoured) {
        ctx_.Log(ModuleId::kSmp, "SMP DFU command refused: %s",
                 std::string(st.error().message()).c_str());
      } else {
        // C1: image-state/erase notifications cannot veto; MCUmgr ignores the answer.
        ctx_.Log(ModuleId::kSmp,
                 "SMP DFU notification: lock not claimed (held by %s); MCUmgr ignores the answer",
                 ctx_.lock.owner() ? std::string(ctx_.lock.owner()->name).c_str() : "?");
      }
      return smp::Outcome::Rc(smp::MgmtErr::kAccessDenied);
    }
  }
  if (may_transfer && host_.conn() != nullptr && !event_active_) {
    event_active_ = true;
    SubmitTransfer();
  }
  return smp::Outcome::Success();
}

void Smp::OnDfuEvent(mgmt::DfuEvent) {
  if (ctx_.cfg.smp == SmpEra::kMcumgr && hooks_registered_)
    (void)McumgrDfuCommand(true, /*answer_honoured=*/false);
}

smp::Outcome Smp::OnReset() {
  if (ctx_.cfg.smp == SmpEra::kMcumgr && hooks_registered_) return McumgrDfuCommand(false);
  return smp::Outcome::Success();
}

}  // namespace smpkit::desktop::modules
