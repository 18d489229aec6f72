#include "modules/ble_state.h"

#include <algorithm>
#include <string>

namespace smpkit::desktop::modules {

namespace {
constexpr uint16_t kConnHandle = 0;
}  // namespace

BleState::BleState(const Context& ctx, SmpService smp,
                   std::vector<std::unique_ptr<ble::GattSmpServer>>& gatt_servers,
                   const std::function<void(const ble::ConnParams&)>& params_observer,
                   uint64_t& dropped_before)
    : ctx_(ctx),
      smp_(std::move(smp)),
      gatt_servers_(gatt_servers),
      params_observer_(params_observer),
      dropped_before_(dropped_before) {
  using M = ModuleId;
  EventBus& bus = ctx_.bus;
  bus.DeclareSource<ModuleStateEvent>(M::kBleState);
  bus.DeclareSource<BlePeerEvent>(M::kBleState);
  bus.DeclareSource<BlePeerConnParamsEvent>(M::kBleState);
  bus.DeclareSource<KeepAliveEvent>(M::kBleState);
  bus.DeclareSource<PowerManagerRestrictEvent>(M::kBleState);
  bus.Subscribe<ModuleStateEvent>(M::kBleState, Priority::kNormal,
                                  [this](const ModuleStateEvent& e) { return OnModuleState(e); },
                                  {M::kMain});
}

BleState::~BleState() {
  *alive_ = false;
  EndSmpTransport();
  if (window_task_ != sim::kNoTask) ctx_.sched.Cancel(window_task_);
}

void BleState::SetSecured() {
  if (link_ == nullptr || link_secured_) return;
  link_secured_ = true;
  ctx_.Log(ModuleId::kBleState, "link secured");
  ctx_.Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kSecured, 0});
}

Status BleState::Disconnect() {
  if (link_ == nullptr) return Error(Errc::kBadState, "not connected");
  return link_->Disconnect(ble::Role::kPeripheral, ble::kReasonRemoteUserTerminated);
}

void BleState::EndSmpTransport() {
  dropped_before_ += transport_dropped();
  smp_transport_.reset();
}

bool BleState::OnModuleState(const ModuleStateEvent& e) {
  if (e.module == ModuleId::kMain && e.state == ModuleState::kReady && !ble_ready_) {
    ble_ready_ = true;  // bt_enable() done
    ctx_.Submit(ModuleId::kBleState, ModuleStateEvent{ModuleId::kBleState, ModuleState::kReady});
  }
  return false;
}

Status BleState::Attach(ble::Link& l, std::optional<uint16_t> mtu) {
  if (link_ != nullptr) return Error(Errc::kBadState, "a link is already attached");
  if (!l.connected()) return Error(Errc::kBadState, "link not connected");
  link_ = &l;
  const uint64_t gen = ++link_gen_;
  const uint16_t rx_mtu =
      std::clamp<uint16_t>(mtu.value_or(ctx_.cfg.AttMtu()), ble::kAttDefaultMtu, ble::kAttMaxMtu);
  gatt_servers_.push_back(std::make_unique<ble::GattSmpServer>(l, rx_mtu));
  gatt_ = gatt_servers_.back().get();
  if (ctx_.cfg.smp_security != SmpLinkSecurity::kNone) {
    // BT_GATT_PERM_*_ENCRYPT / _AUTHEN on the SMP characteristic. Pairing here is Just Works
    // (a mouse has no display or keyboard), so the link is never authenticated (MITM).
    gatt_->SetAccessCheck([this, guard = std::weak_ptr<bool>(alive_), gen]() -> uint8_t {
      if (guard.expired() || gen != link_gen_) return 0;
      const bool auth = ctx_.cfg.smp_security == SmpLinkSecurity::kAuthenticate;
      if (auth || !link_secured_) {
        ctx_.Log(ModuleId::kSmp, "SMP characteristic access refused: link not %s",
                 auth ? "authenticated (Just Works pairing)" : "encrypted");
        return auth ? uint8_t{0x05} : uint8_t{0x0F};
      }
      return 0;
    });
  }
  ble::SmpPeripheralConfig pc;
  pc.buf_size = smp_.buf_size;
  pc.buf_count = ctx_.cfg.mcumgr_buf_count;
  pc.cpu_time = ctx_.tm.smp_packet_base;
  pc.erase_slice = kPartialEraseSlice;
  smp_transport_ = std::make_unique<ble::SmpPeripheral>(
      ctx_.sched, l, *gatt_, pc, smp_.handler, smp_.registered, [this](std::string_view m) {
        ctx_.Log(ModuleId::kSmp, "%.*s", static_cast<int>(m.size()), m.data());
      });
  std::weak_ptr<bool> guard = alive_;
  l.SetOnParamsUpdated([this, guard, gen](const ble::ConnParams& p) {
    if (guard.expired() || gen != link_gen_) return;
    ctx_.Log(ModuleId::kBleState, "conn params updated: interval %u, latency %u, timeout %u",
             p.interval, p.latency, p.timeout);
    if (params_observer_) params_observer_(p);
    ctx_.Submit(ModuleId::kBleState, BlePeerConnParamsEvent{kConnHandle, p.interval, p.interval,
                                                            p.latency, p.timeout, true});
  });
  l.AddDisconnectListener([this, guard, gen](uint8_t reason) {
    if (guard.expired() || gen != link_gen_) return;
    OnLinkDown(reason);
  });
  connected_at_ = ctx_.sched.Now();
  link_secured_ = l.config().encrypted;
  ctx_.Log(ModuleId::kBleState, "connected");
  ctx_.Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kConnected, 0});
  const auto p = l.params();
  ctx_.Submit(ModuleId::kBleState, BlePeerConnParamsEvent{kConnHandle, p.interval, p.interval,
                                                          p.latency, p.timeout, true});
  // ble_state_pm: keep alive once, never power off while connected.
  ctx_.Submit(ModuleId::kBleState, KeepAliveEvent{});
  ctx_.Restrict(ModuleId::kBleState, PowerLevel::kSuspended);
  if (link_secured_)
    ctx_.Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kSecured, 0});
  window_task_ =
      ctx_.sched.PostAfter(sim::Ms(ctx_.cfg.conn_param_update_timeout_ms), [this, guard, gen] {
        if (guard.expired() || gen != link_gen_) return;
        window_task_ = sim::kNoTask;
        WindowEnd();
      });
  return Ok();
}

void BleState::OnLinkDown(uint8_t reason) {
  link_ = nullptr;
  gatt_ = nullptr;
  ++link_gen_;
  EndSmpTransport();
  if (window_task_ != sim::kNoTask) ctx_.sched.Cancel(window_task_);
  window_task_ = sim::kNoTask;
  deferred_req_.reset();
  queued_req_.reset();
  req_in_flight_ = false;
  ctx_.Log(ModuleId::kBleState, "disconnected (reason 0x%02x)", reason);
  ctx_.Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kDisconnected, reason});
  ctx_.Restrict(ModuleId::kBleState, PowerLevel::kMax);
}

void BleState::Drop(uint8_t reason) {
  if (link_ == nullptr) return;
  ble::Link* l = link_;
  link_ = nullptr;
  gatt_ = nullptr;
  ++link_gen_;
  EndSmpTransport();
  if (l->connected()) (void)l->Disconnect(ble::Role::kPeripheral, reason);
}

Status BleState::RequestParams(const ble::ConnParamRequest& req) {
  if (link_ == nullptr) return Error(Errc::kBadState, "not connected");
  if (ctx_.sched.Now() < connected_at_ + sim::Ms(ctx_.cfg.conn_param_update_timeout_ms)) {
    deferred_req_ = req;  // the host sends it when the post-connect window ends
    return Ok();
  }
  if (req_in_flight_) {
    queued_req_ = req;
    return Ok();
  }
  SendParams(req);
  return Ok();
}

void BleState::SendParams(const ble::ConnParamRequest& req) {
  std::weak_ptr<bool> guard = alive_;
  const uint64_t gen = link_gen_;
  req_in_flight_ = true;
  ctx_.Log(ModuleId::kBleState, "conn param update request: interval %u-%u, latency %u, timeout %u",
           req.interval_min, req.interval_max, req.latency, req.timeout);
  auto st = link_->RequestConnParamUpdate(req, [this, guard, gen](bool accepted) {
    if (guard.expired() || gen != link_gen_) return;
    req_in_flight_ = false;
    if (!accepted) ctx_.Log(ModuleId::kBleState, "conn param update rejected by the central");
    if (queued_req_) {
      auto next = *queued_req_;
      queued_req_.reset();
      SendParams(next);
    }
  });
  if (!st.ok()) {
    req_in_flight_ = false;
    ctx_.Log(ModuleId::kBleState, "conn param update: %s",
             std::string(st.error().message()).c_str());
  }
}

void BleState::WindowEnd() {
  if (link_ == nullptr) return;
  if (deferred_req_) {
    auto r = *deferred_req_;
    deferred_req_.reset();
    SendParams(r);
    return;
  }
  // Zephyr's automatic update to the preferred parameters.
  const auto p = link_->params();
  if (p.interval < ctx_.cfg.pref_interval_min || p.interval > ctx_.cfg.pref_interval_max ||
      p.latency != ctx_.cfg.pref_latency || p.timeout != ctx_.cfg.pref_timeout) {
    SendParams({ctx_.cfg.pref_interval_min, ctx_.cfg.pref_interval_max, ctx_.cfg.pref_latency,
                ctx_.cfg.pref_timeout});
  }
}

}  // namespace smpkit::desktop::modules
