#include "modules/ble_latency.h"

namespace smpkit::desktop::modules {

namespace {
// LLPM connection intervals (Nordic's 1 ms units) carry these bits.
constexpr uint16_t kLlpmIntervalMask = 0x0d00;
}  // namespace

BleLatency::BleLatency(const Context& ctx, BtHost& host)
    : ctx_(ctx),
      host_(host),
      security_timeout_(
          ctx.sched,
          [this] {
            ctx_.Log(ModuleId::kBleLatency, "security not established in time, disconnecting");
            if (host_.conn() != nullptr && !host_.Disconnect().ok()) {
              ctx_.Submit(ModuleId::kBleLatency,
                          ModuleStateEvent{ModuleId::kBleLatency, ModuleState::kError});
            }
          }),
      latency_check_(ctx.sched, [this] { Check(); }) {
  using M = ModuleId;
  const DesktopConfig& cfg = ctx_.cfg;
  EventBus& bus = ctx_.bus;
  bus.DeclareSource<ModuleStateEvent>(M::kBleLatency);
  bus.Subscribe<ModuleStateEvent>(M::kBleLatency, Priority::kNormal,
                                  [](const ModuleStateEvent&) { return false; }, {M::kMain});
  bus.Subscribe<BlePeerEvent>(M::kBleLatency, Priority::kNormal,
                              [this](const BlePeerEvent& e) { return OnPeer(e); });
  bus.Subscribe<BlePeerConnParamsEvent>(
      M::kBleLatency, Priority::kNormal,
      [this](const BlePeerConnParamsEvent& e) { return OnParams(e); });
  if (cfg.smp != SmpEra::kNone) {
    bus.Subscribe<BleSmpTransferEvent>(M::kBleLatency, Priority::kNormal,
                                       [this](const BleSmpTransferEvent&) {
                                         UseLowLatency();
                                         return false;
                                       });
  }
  if (cfg.config_channel_dfu) {
    bus.Subscribe<ConfigEvent>(M::kBleLatency, Priority::kEarly, [this](const ConfigEvent&) {
      UseLowLatency();
      return false;
    });
  }
  if (cfg.low_latency_lock && cfg.latency_pm_events) {
    bus.Subscribe<PowerDownEvent>(M::kBleLatency, Priority::kNormal,
                                  [this](const PowerDownEvent& e) {
                                    if (!e.error) {
                                      locked_ = false;
                                      if (enabled_) {
                                        required_ = false;
                                        latency_check_.Reschedule(ctx_.tm.low_latency_check);
                                      }
                                    }
                                    return false;
                                  });
    bus.Subscribe<WakeUpEvent>(M::kBleLatency, Priority::kNormal, [this](const WakeUpEvent&) {
      locked_ = true;
      if (llpm_ && !enabled_) SetConnLatency(true);
      if (llpm_) latency_check_.Cancel();
      return false;
    });
  }
}

bool BleLatency::OnPeer(const BlePeerEvent& e) {
  const DesktopConfig& cfg = ctx_.cfg;
  switch (e.state) {
    case PeerState::kConnected: {
      connected_ = true;
      if (cfg.low_latency_lock) locked_ = true;
      (void)host_.RequestParams({6, 6, 0, cfg.pref_timeout});
      security_timeout_.Reschedule(sim::Ms(int64_t{cfg.security_fail_timeout_s} * 1000));
      break;
    }
    case PeerState::kSecured:
      secured_ = true;
      security_timeout_.Cancel();
      break;
    case PeerState::kDisconnected:
      connected_ = secured_ = enabled_ = required_ = locked_ = llpm_ = false;
      security_timeout_.Cancel();
      latency_check_.Cancel();
      break;
    default:
      break;
  }
  return false;
}

bool BleLatency::OnParams(const BlePeerConnParamsEvent& e) {
  if (!e.updated) return false;
  llpm_ = (e.interval_max & kLlpmIntervalMask) != 0;
  if (e.latency == 0) {
    enabled_ = true;
    required_ = false;
    latency_check_.Reschedule(ctx_.tm.low_latency_check);
  } else {
    enabled_ = false;
    latency_check_.Cancel();
  }
  if (locked_ && llpm_) {
    if (!enabled_) SetConnLatency(true);
    latency_check_.Cancel();
  }
  return false;
}

void BleLatency::UseLowLatency() {
  if (!connected_ || host_.conn() == nullptr) return;
  if (enabled_) {
    required_ = true;
    return;
  }
  SetConnLatency(true);
}

void BleLatency::SetConnLatency(bool low) {
  const ble::Link* link = host_.conn();
  if (link == nullptr) return;
  const auto p = link->params();
  if ((low && p.latency == 0) || (!low && p.latency == ctx_.cfg.pref_latency)) return;
  const uint16_t interval = (p.interval & kLlpmIntervalMask) ? uint16_t{6} : p.interval;
  ctx_.Log(ModuleId::kBleLatency, "%s",
           low ? "requesting low latency (0)" : "low latency timed out");
  auto st = host_.RequestParams(
      {interval, interval, low ? uint16_t{0} : ctx_.cfg.pref_latency, p.timeout});
  if (st.ok()) enabled_ = low;
}

void BleLatency::Check() {
  if (!secured_) {
    latency_check_.Reschedule(ctx_.tm.low_latency_check);
  } else if (required_) {
    required_ = false;
    latency_check_.Reschedule(ctx_.tm.low_latency_check);
  } else {
    SetConnLatency(false);
  }
}

}  // namespace smpkit::desktop::modules
