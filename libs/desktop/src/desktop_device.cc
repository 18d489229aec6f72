#include "smpkit/desktop/desktop_device.h"

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <vector>

#include "modules/ble_latency.h"
#include "modules/context.h"
#include "modules/dfu.h"
#include "modules/power_manager.h"
#include "modules/smp.h"
#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/smp_peripheral.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/mcuboot/trailer.h"
#include "smpkit/smp/frame_collector.h"
#include "smpkit/transport/ble_sar.h"

namespace smpkit::desktop {

// CONFIG_SOC_FLASH_NRF_PARTIAL_ERASE_MS: the nRF52 flash driver erases a page in slices of
// this length, each scheduled between radio events (ble-calibration.md's dirty-slot point).
constexpr sim::Duration kPartialEraseSlice = std::chrono::milliseconds(3);
namespace {

constexpr uint16_t kConnHandle = 0;

}  // namespace

struct DesktopDevice::Impl : modules::BtHost {
  class DeviceHooksImpl;
  Impl(sim::Scheduler& s, flash::Flash& f, DesktopOptions o);

  // --- infrastructure ---
  void Log(ModuleId m, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  template <typename E>
  void Submit(ModuleId from, const E& e) {
    auto st = bus.Submit(from, e);
    if (!st.ok()) Log(from, "%s", std::string(st.error().message()).c_str());
  }
  void StartModules();
  void StopModules();
  Result<mcuboot::BootReport> PowerOn();
  uint64_t boot_gen = 0;  // a power-on supersedes a pending application start
  sim::Duration last_boot_work{0};
  Result<mcuboot::BootReport> Reboot();
  void CheckResetRequest();
  void Restrict(ModuleId m, PowerLevel level) { Submit(m, PowerManagerRestrictEvent{m, level}); }

  // modules::BtHost, for the modules
  const ble::Link* conn() const override { return link; }
  Status RequestParams(const ble::ConnParamRequest& req) override { return BleRequestParams(req); }
  Status Disconnect() override {
    if (link == nullptr) return Error(Errc::kBadState, "not connected");
    return link->Disconnect(ble::Role::kPeripheral, ble::kReasonRemoteUserTerminated);
  }

  // --- ble_state (and the Bluetooth host facade) ---
  bool BleOnModuleState(const ModuleStateEvent& e);
  Status AttachLink(ble::Link& link, std::optional<uint16_t> mtu);
  void OnLinkDown(uint8_t reason);
  void DropLink(uint8_t reason);
  ble::SmpPeripheral::Work HandleSmpOverBle(ConstByteSpan packet, smp::FrameCollector& frames);
  Status BleRequestParams(const ble::ConnParamRequest& req);
  void BleSendParams(const ble::ConnParamRequest& req);
  void BleWindowEnd();
  ble::ConnParams BleParams() const { return link ? link->params() : ble::ConnParams{}; }

  // --- smp (Era A) / dfu_mcumgr (newer era) ---

  sim::Scheduler& sched;
  flash::Flash& flash;
  DesktopOptions opt;
  const DesktopConfig& cfg = opt.config;
  const DesktopTimings& tm = opt.timings;
  EventBus bus;
  DfuLock lock;
  std::unique_ptr<DeviceHooksImpl> hooks;
  // The statistics group's "ble" group (CONFIG_MCUMGR_GRP_STAT): events of the Bluetooth
  // modules since the last boot, as Zephyr's RAM counters.
  class BleStats : public mgmt::StatSource {
   public:
    explicit BleStats(const Impl& impl) : impl_(impl) {}
    size_t GroupCount() const override { return 1; }
    std::string_view GroupName(size_t) const override { return "ble"; }
    size_t FieldCount(size_t) const override { return 4; }
    mgmt::StatField Field(size_t, size_t f) const override {
      const auto now = Counts();
      static constexpr std::string_view kNames[] = {"peer_events", "conn_param_events",
                                                    "smp_transfer_events", "smp_dropped_no_buffer"};
      return {kNames[f < 4 ? f : 3], static_cast<uint32_t>(now[f < 4 ? f : 3] - base_[f < 4 ? f : 3])};
    }
    void Rebase() { base_ = Counts(); }

   private:
    std::array<uint64_t, 4> Counts() const {
      return {impl_.bus.submitted<BlePeerEvent>(), impl_.bus.submitted<BlePeerConnParamsEvent>(),
              impl_.bus.submitted<BleSmpTransferEvent>(), impl_.SmpDroppedNoBuffer()};
    }
    const Impl& impl_;
    std::array<uint64_t, 4> base_{};
  };
  BleStats ble_stats{*this};
  // The files of CONFIG_MCUMGR_GRP_FS: RAM, kept across resets (as a file system partition).
  mgmt::RamFileSystem files{64u << 10};
  std::optional<device::Device> dev;
  Logger logger;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  bool running = false;

  // ble_state
  bool ble_ready = false;
  ble::Link* link = nullptr;
  uint64_t link_gen = 0;
  std::vector<std::unique_ptr<ble::GattSmpServer>> gatt_servers;  // kept: handlers on links
  ble::GattSmpServer* gatt = nullptr;
  // SMP over the link's GATT service (smp_bt), one per connection.
  std::unique_ptr<ble::SmpPeripheral> smp_transport;
  sim::Time connected_at{0};
  std::optional<ble::ConnParamRequest> deferred_req;
  std::optional<ble::ConnParamRequest> queued_req;
  bool req_in_flight = false;
  bool link_secured = false;
  uint64_t smp_dropped_no_buf = 0;  // on the connections before the current one
  uint64_t SmpDroppedNoBuffer() const {
    return smp_dropped_no_buf + (smp_transport ? smp_transport->dropped_no_buffer() : 0);
  }
  void EndSmpTransport() {
    if (smp_transport) smp_dropped_no_buf += smp_transport->dropped_no_buffer();
    smp_transport.reset();
  }
  sim::TaskId window_task = sim::kNoTask;
  std::function<void(const ble::ConnParams&)> params_observer;

  // smp

  // The modules that are objects: built at every start, destroyed at power-off.
  modules::Context ctx{sched, bus, lock, cfg, tm, logger};
  std::optional<modules::Smp> smp;
  std::optional<modules::BleLatency> latency;
  std::optional<modules::Dfu> dfu;
  std::optional<modules::PowerManager> power_manager;

  // config-channel transport
  struct PendingConfig {
    bool active = false;
    ConfigResponse cb;
    sim::Duration delay{0};
  };
  std::array<PendingConfig, 4> config_pending{};
};

class DesktopDevice::Impl::DeviceHooksImpl : public device::DeviceHooks {
 public:
  explicit DeviceHooksImpl(DesktopDevice::Impl& impl) : impl_(impl) {}
  smp::Outcome OnUploadChunk(const mgmt::UploadCheck& c) override {
    return impl_.smp ? impl_.smp->OnUploadChunk(c) : smp::Outcome::Success();
  }
  void OnDfuEvent(mgmt::DfuEvent e) override {
    if (impl_.smp) impl_.smp->OnDfuEvent(e);
  }
  smp::Outcome OnResetRequest(bool) override {
    return impl_.smp ? impl_.smp->OnReset() : smp::Outcome::Success();
  }

 private:
  DesktopDevice::Impl& impl_;
};

DesktopDevice::Impl::Impl(sim::Scheduler& s, flash::Flash& f, DesktopOptions o)
    : sched(s),
      flash(f),
      opt(std::move(o)),
      bus(s),
      lock(opt.config.smp == SmpEra::kMcumgr ? DfuLockMode::kOwner : DfuLockMode::kEraA),
      hooks(std::make_unique<DeviceHooksImpl>(*this)) {
  // The configuration decides the MCUmgr surface (nrf-desktop.md §4, §9).
  opt.device.reset_delay = std::chrono::milliseconds(opt.config.os_reset_ms);
  opt.device.server.buf_size = opt.config.mcumgr_buf_size;
  opt.device.server.buf_count = opt.config.mcumgr_buf_count;
  opt.device.img.erase_progressively = opt.config.img_erase_progressively;
  opt.device.img.image_check = opt.config.img_image_check;
  opt.device.os_group = opt.config.os_group;
  opt.device.stat_group = opt.config.stat_group;
  opt.device.app_stats = &ble_stats;
  opt.device.enum_group = opt.config.enum_group;
  opt.device.fs_group = opt.config.fs_group;
  opt.device.file_system = &files;
  opt.device.shell_group = opt.config.shell_group;
  opt.device.settings_group = opt.config.settings_group;
  dev.emplace(flash, opt.device, hooks.get());
}

void DesktopDevice::Impl::Log(ModuleId m, const char* fmt, ...) {
  if (!logger) return;
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  logger(sched.Now(), m, buf);
}

// ---------------------------------------------------------------------------------------
// Boot and module wiring

void DesktopDevice::Impl::StopModules() {
  running = false;
  bus.Reset();
  lock.Reset();
  smp.reset();
  latency.reset();
  dfu.reset();
  power_manager.reset();
  if (window_task != sim::kNoTask) sched.Cancel(window_task);
  window_task = sim::kNoTask;
  ble_ready = false;
  for (auto& p : config_pending) p = PendingConfig{};
  deferred_req.reset();
  queued_req.reset();
  req_in_flight = false;
  link_secured = false;
}

void DesktopDevice::Impl::StartModules() {
  using M = ModuleId;
  const bool smp_on = cfg.smp != SmpEra::kNone;
  // Declared sources (outputs), for the propagation table.
  bus.DeclareSource<ModuleStateEvent>(M::kMain);
  bus.DeclareSource<ModuleStateEvent>(M::kBleState);
  bus.DeclareSource<BlePeerEvent>(M::kBleState);
  bus.DeclareSource<BlePeerConnParamsEvent>(M::kBleState);
  bus.DeclareSource<KeepAliveEvent>(M::kBleState);
  bus.DeclareSource<PowerManagerRestrictEvent>(M::kBleState);
  bus.DeclareSource<HidReportEvent>(M::kHidState);
  bus.DeclareSource<KeepAliveEvent>(M::kHidState);
  bus.DeclareSource<ConfigEvent>(M::kConfigChannel);

  // ble_state: enables Bluetooth on main READY.
  bus.Subscribe<ModuleStateEvent>(M::kBleState, Priority::kNormal,
                                  [this](const ModuleStateEvent& e) { return BleOnModuleState(e); },
                                  {M::kMain});
  if (smp_on) smp.emplace(ctx, *this, *dev);
  if (cfg.ble_latency) latency.emplace(ctx, *this);
  if (cfg.config_channel_dfu) {
    // The reboot runs from the scheduler: it destroys the modules, this one included.
    dfu.emplace(ctx, *dev, flash, [this] {
      std::weak_ptr<bool> guard = alive;
      sched.PostAfter(sim::Duration(0), [this, guard] {
        if (!guard.expired()) (void)Reboot();
      });
    });
  }
  // Config-channel transport: responses back to the host; requests nobody consumed time out.
  bus.Subscribe<ConfigEvent>(M::kConfigChannel, Priority::kNormal,
                             [this](const ConfigEvent& e) {
                               auto& p = config_pending[e.transport_id % config_pending.size()];
                               if (!p.active) return false;
                               if (e.is_request) {
                                 ConfigEvent rsp = e;
                                 rsp.is_request = false;
                                 rsp.status = ConfigStatus::kTimeout;
                                 rsp.data_len = 0;
                                 Submit(ModuleId::kConfigChannel, rsp);
                                 return true;
                               }
                               p.active = false;
                               auto cb = std::move(p.cb);
                               std::weak_ptr<bool> guard = alive;
                               sched.PostAfter(p.delay, [cb = std::move(cb), e, guard] {
                                 if (!guard.expired() && cb) cb(e);
                               });
                               return true;
                             },
                             {M::kDfu});
  if (cfg.power_manager) power_manager.emplace(ctx);
  running = true;
  Submit(M::kMain, ModuleStateEvent{M::kMain, ModuleState::kReady});
}

Result<mcuboot::BootReport> DesktopDevice::Impl::PowerOn() {
  StopModules();
  const uint64_t gen = ++boot_gen;
  const auto before = flash.elapsed();
  SMPKIT_ASSIGN_OR_RETURN(auto report, dev->Boot());
  ble_stats.Rebase();
  // The bootloader's flash work (a swap: every sector erased and rewritten) takes the flash
  // model's time; the application starts when it is done.
  const sim::Duration boot_work = flash.elapsed() - before;
  last_boot_work = boot_work;
  const mcuboot::ImageBootReport& img = report.images[0];
  if (img.swap != mcuboot::SwapType::kNone || img.resumed) {
    Log(ModuleId::kMain, "MCUboot: %s swap%s of image 0: %.2f s of flash work",
        std::string(mcuboot::SwapTypeName(img.swap)).c_str(), img.resumed ? " (resumed)" : "",
        sim::ToSeconds(boot_work));
  }
  auto start = [this, gen] {
    if (gen != boot_gen) return;
    Log(ModuleId::kMain, "boot #%u: running slot %u", dev->boot_count(),
        dev->bootloader().active_slot(0));
    StartModules();
  };
  if (boot_work > sim::Duration(0)) {
    std::weak_ptr<bool> guard = alive;
    sched.PostAfter(boot_work, [guard, start] {
      if (!guard.expired()) start();
    });
  } else {
    start();
  }
  return report;
}

Result<mcuboot::BootReport> DesktopDevice::Impl::Reboot() {
  DropLink(ble::kReasonRemoteUserTerminated);
  return PowerOn();
}

void DesktopDevice::Impl::CheckResetRequest() {
  const auto reboot = dev->PendingReboot();  // CONFIG_MCUMGR_GRP_OS_RESET_MS
  if (!reboot) return;
  Log(ModuleId::kSmp, "OS reset accepted, rebooting in %u ms",
      static_cast<unsigned>(reboot->count()));
  std::weak_ptr<bool> guard = alive;
  const uint32_t boots = dev->boot_count();
  sched.PostAfter(*reboot, [this, guard, boots] {
    if (guard.expired() || dev->boot_count() != boots) return;
    (void)Reboot();
  });
}

// ---------------------------------------------------------------------------------------
// ble_state

bool DesktopDevice::Impl::BleOnModuleState(const ModuleStateEvent& e) {
  if (e.module == ModuleId::kMain && e.state == ModuleState::kReady && !ble_ready) {
    ble_ready = true;  // bt_enable() done
    Submit(ModuleId::kBleState, ModuleStateEvent{ModuleId::kBleState, ModuleState::kReady});
  }
  return false;
}

Status DesktopDevice::Impl::AttachLink(ble::Link& l, std::optional<uint16_t> mtu) {
  if (!running) return Error(Errc::kBadState, "device not running");
  if (link != nullptr) return Error(Errc::kBadState, "a link is already attached");
  if (!l.connected()) return Error(Errc::kBadState, "link not connected");
  link = &l;
  const uint64_t gen = ++link_gen;
  const uint16_t rx_mtu =
      std::clamp<uint16_t>(mtu.value_or(cfg.AttMtu()), ble::kAttDefaultMtu, ble::kAttMaxMtu);
  gatt_servers.push_back(std::make_unique<ble::GattSmpServer>(l, rx_mtu));
  gatt = gatt_servers.back().get();
  if (cfg.smp_security != SmpLinkSecurity::kNone) {
    // BT_GATT_PERM_*_ENCRYPT / _AUTHEN on the SMP characteristic. Pairing here is Just Works
    // (a mouse has no display or keyboard), so the link is never authenticated (MITM).
    gatt->SetAccessCheck([this, guard = std::weak_ptr<bool>(alive), gen]() -> uint8_t {
      if (guard.expired() || gen != link_gen) return 0;
      const bool auth = cfg.smp_security == SmpLinkSecurity::kAuthenticate;
      if (auth || !link_secured) {
        Log(ModuleId::kSmp, "SMP characteristic access refused: link not %s",
            auth ? "authenticated (Just Works pairing)" : "encrypted");
        return auth ? uint8_t{0x05} : uint8_t{0x0F};
      }
      return 0;
    });
  }
  ble::SmpPeripheralConfig pc;
  pc.buf_size = opt.device.server.buf_size;
  pc.buf_count = cfg.mcumgr_buf_count;
  pc.cpu_time = tm.smp_packet_base;
  pc.erase_slice = kPartialEraseSlice;
  smp_transport = std::make_unique<ble::SmpPeripheral>(
      sched, l, *gatt, pc,
      [this](ConstByteSpan packet, smp::FrameCollector& frames) {
        return HandleSmpOverBle(packet, frames);
      },
      [this] { return smp && smp->service_registered(); },
      [this](std::string_view m) {
        Log(ModuleId::kSmp, "%.*s", static_cast<int>(m.size()), m.data());
      });
  std::weak_ptr<bool> guard = alive;
  l.SetOnParamsUpdated([this, guard, gen](const ble::ConnParams& p) {
    if (guard.expired() || gen != link_gen) return;
    Log(ModuleId::kBleState, "conn params updated: interval %u, latency %u, timeout %u", p.interval,
        p.latency, p.timeout);
    if (params_observer) params_observer(p);
    Submit(ModuleId::kBleState,
           BlePeerConnParamsEvent{kConnHandle, p.interval, p.interval, p.latency, p.timeout, true});
  });
  l.AddDisconnectListener([this, guard, gen](uint8_t reason) {
    if (guard.expired() || gen != link_gen) return;
    OnLinkDown(reason);
  });
  connected_at = sched.Now();
  link_secured = l.config().encrypted;
  Log(ModuleId::kBleState, "connected");
  Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kConnected, 0});
  const auto p = l.params();
  Submit(ModuleId::kBleState,
         BlePeerConnParamsEvent{kConnHandle, p.interval, p.interval, p.latency, p.timeout, true});
  // ble_state_pm: keep alive once, never power off while connected.
  Submit(ModuleId::kBleState, KeepAliveEvent{});
  Restrict(ModuleId::kBleState, PowerLevel::kSuspended);
  if (link_secured) Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kSecured, 0});
  window_task = sched.PostAfter(sim::Ms(cfg.conn_param_update_timeout_ms), [this, guard, gen] {
    if (guard.expired() || gen != link_gen) return;
    window_task = sim::kNoTask;
    BleWindowEnd();
  });
  return Ok();
}

void DesktopDevice::Impl::OnLinkDown(uint8_t reason) {
  link = nullptr;
  gatt = nullptr;
  ++link_gen;
  EndSmpTransport();
  if (window_task != sim::kNoTask) sched.Cancel(window_task);
  window_task = sim::kNoTask;
  deferred_req.reset();
  queued_req.reset();
  req_in_flight = false;
  Log(ModuleId::kBleState, "disconnected (reason 0x%02x)", reason);
  Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kDisconnected, reason});
  Restrict(ModuleId::kBleState, PowerLevel::kMax);
}

void DesktopDevice::Impl::DropLink(uint8_t reason) {
  if (link == nullptr) return;
  ble::Link* l = link;
  link = nullptr;
  gatt = nullptr;
  ++link_gen;
  EndSmpTransport();
  if (l->connected()) (void)l->Disconnect(ble::Role::kPeripheral, reason);
}

ble::SmpPeripheral::Work DesktopDevice::Impl::HandleSmpOverBle(ConstByteSpan packet,
                                                                smp::FrameCollector& frames) {
  const auto before = flash.elapsed();
  const uint64_t erases_before = flash.stats().page_erases;
  dev->HandlePacket(packet, frames);
  CheckResetRequest();
  // Page erases (a non-blank slot erased on the first chunk) run in partial-erase slices
  // between radio events; then the writes.
  ble::SmpPeripheral::Work work;
  work.flash = flash.elapsed() - before;
  work.erase = flash.timing().erase_per_page *
               static_cast<int64_t>(flash.stats().page_erases - erases_before);
  return work;
}

Status DesktopDevice::Impl::BleRequestParams(const ble::ConnParamRequest& req) {
  if (link == nullptr) return Error(Errc::kBadState, "not connected");
  if (sched.Now() < connected_at + sim::Ms(cfg.conn_param_update_timeout_ms)) {
    deferred_req = req;  // the host sends it when the post-connect window ends
    return Ok();
  }
  if (req_in_flight) {
    queued_req = req;
    return Ok();
  }
  BleSendParams(req);
  return Ok();
}

void DesktopDevice::Impl::BleSendParams(const ble::ConnParamRequest& req) {
  std::weak_ptr<bool> guard = alive;
  const uint64_t gen = link_gen;
  req_in_flight = true;
  Log(ModuleId::kBleState, "conn param update request: interval %u-%u, latency %u, timeout %u",
      req.interval_min, req.interval_max, req.latency, req.timeout);
  auto st = link->RequestConnParamUpdate(req, [this, guard, gen](bool accepted) {
    if (guard.expired() || gen != link_gen) return;
    req_in_flight = false;
    if (!accepted) Log(ModuleId::kBleState, "conn param update rejected by the central");
    if (queued_req) {
      auto next = *queued_req;
      queued_req.reset();
      BleSendParams(next);
    }
  });
  if (!st.ok()) {
    req_in_flight = false;
    Log(ModuleId::kBleState, "conn param update: %s", std::string(st.error().message()).c_str());
  }
}

void DesktopDevice::Impl::BleWindowEnd() {
  if (link == nullptr) return;
  if (deferred_req) {
    auto r = *deferred_req;
    deferred_req.reset();
    BleSendParams(r);
    return;
  }
  // Zephyr's automatic update to the preferred parameters.
  const auto p = link->params();
  if (p.interval < cfg.pref_interval_min || p.interval > cfg.pref_interval_max ||
      p.latency != cfg.pref_latency || p.timeout != cfg.pref_timeout) {
    BleSendParams(
        {cfg.pref_interval_min, cfg.pref_interval_max, cfg.pref_latency, cfg.pref_timeout});
  }
}

// ---------------------------------------------------------------------------------------
// DesktopDevice

DesktopDevice::DesktopDevice(sim::Scheduler& scheduler, flash::Flash& flash, DesktopOptions options)
    : impl_(std::make_unique<Impl>(scheduler, flash, std::move(options))) {}

DesktopDevice::~DesktopDevice() {
  impl_->StopModules();
  impl_->alive.reset();
}

Status DesktopDevice::Provision(ConstByteSpan image) { return impl_->dev->Provision(image); }
Result<mcuboot::BootReport> DesktopDevice::PowerOn() { return impl_->PowerOn(); }
Result<mcuboot::BootReport> DesktopDevice::Reboot() { return impl_->Reboot(); }

Status DesktopDevice::AttachLink(ble::Link& link, std::optional<uint16_t> att_rx_mtu) {
  return impl_->AttachLink(link, att_rx_mtu);
}

void DesktopDevice::SetLinkSecured() {
  if (impl_->link == nullptr || impl_->link_secured) return;
  impl_->link_secured = true;
  impl_->Log(ModuleId::kBleState, "link secured");
  impl_->Submit(ModuleId::kBleState, BlePeerEvent{kConnHandle, PeerState::kSecured, 0});
}

bool DesktopDevice::link_attached() const { return impl_->link != nullptr; }
bool DesktopDevice::running() const { return impl_->running; }
sim::Duration DesktopDevice::last_boot_work() const { return impl_->last_boot_work; }

void DesktopDevice::SetParamsObserver(std::function<void(const ble::ConnParams&)> cb) {
  impl_->params_observer = std::move(cb);
}

size_t DesktopDevice::HandleSmpPacket(ConstByteSpan packet, smp::ResponseSink& sink) {
  if (!impl_->running) return 0;
  const size_t n = impl_->dev->HandlePacket(packet, sink);
  impl_->CheckResetRequest();
  return n;
}

void DesktopDevice::HidReport() {
  if (!impl_->running) return;
  impl_->Submit(ModuleId::kHidState, HidReportEvent{});
  impl_->Submit(ModuleId::kHidState, KeepAliveEvent{});
}

bool DesktopDevice::ConfigRequest(const ConfigEvent& request, ConfigResponse on_response,
                                  sim::Duration delay) {
  auto& im = *impl_;
  if (!im.running || !im.cfg.config_channel) return false;
  auto& p = im.config_pending[request.transport_id % im.config_pending.size()];
  if (p.active) return false;
  p.active = true;
  p.cb = std::move(on_response);
  p.delay = delay;
  ConfigEvent req = request;
  req.is_request = true;
  std::weak_ptr<bool> guard = im.alive;
  const uint32_t boots = im.dev->boot_count();
  im.sched.PostAfter(delay, [&im, guard, req, boots] {
    if (guard.expired() || !im.running || im.dev->boot_count() != boots) return;
    im.Submit(ModuleId::kConfigChannel, req);
  });
  return true;
}

DesktopStatus DesktopDevice::status() const {
  const auto& im = *impl_;
  DesktopStatus s;
  s.running = im.running;
  s.lock_owner = im.lock.owner();
  s.smp_ready = im.smp && im.smp->service_registered();
  s.smp_started = im.smp && im.smp->started();
  if (im.dfu) {
    s.dfu_flash_clean = im.dfu->flash_clean();
    s.dfu_erase_pending = im.dfu->erase_pending();
    s.dfu_transfer_open = im.dfu->transfer_open();
    s.dfu_reboot_pending = im.dfu->reboot_pending();
    s.dfu_other_transport_used_slot = im.dfu->other_transport_used_slot();
    s.dfu_cur_offset = im.dfu->cur_offset();
    s.dfu_sync_offset = im.dfu->sync_offset();
    s.dfu_erase_postponed = im.dfu->erase_postponed();
  }
  s.connected = im.link != nullptr;
  if (im.latency) {
    s.secured = im.latency->secured();
    s.low_latency_enabled = im.latency->enabled();
    s.low_latency_required = im.latency->required();
  }
  if (im.link != nullptr) {
    s.link_latency = im.link->params().latency;
    s.link_interval = im.link->params().interval;
  }
  s.power_restriction = im.power_manager ? im.power_manager->Allowed() : PowerLevel::kMax;
  s.suspended = im.power_manager && im.power_manager->suspended();
  s.lock_assertion_failures = im.lock.assertion_failures();
  s.smp_dropped_no_buffer = im.SmpDroppedNoBuffer();
  return s;
}

ble::LinkConfig WithPeripheralSide(const DesktopConfig& config, ble::LinkConfig central) {
  ble::LinkConfig lc = central;
  lc.peripheral = ble::WithProfile(lc.peripheral, config.zephyr_ll
                                                      ? ble::ControllerProfile::kZephyrLl
                                                      : ble::ControllerProfile::kSdc);
  lc.peripheral.acl_tx_buffers = config.conn_tx_max;
  if (config.data_len_update && lc.data_length < ble::kMaxDataLength)
    lc.data_length = ble::kMaxDataLength;  // LL_LENGTH_REQ from the peripheral
  if (config.auto_phy_update && lc.phy == ble::Phy::k1M) lc.phy = ble::Phy::k2M;
  return lc;
}

EventBus& DesktopDevice::bus() { return impl_->bus; }
DfuLock& DesktopDevice::lock() { return impl_->lock; }
device::Device& DesktopDevice::device() { return *impl_->dev; }
const DesktopConfig& DesktopDevice::config() const { return impl_->cfg; }
void DesktopDevice::SetLogger(Logger logger) { impl_->logger = std::move(logger); }
uint32_t DesktopDevice::boot_count() const { return impl_->dev->boot_count(); }

std::string DesktopDevice::PropagationTable(ModuleId module) const {
  return impl_->bus.PropagationTable(module);
}

std::string DesktopDevice::PropagationTables() const {
  std::string out;
  for (size_t i = 0; i < kModuleCount; ++i) {
    const auto m = static_cast<ModuleId>(i);
    bool any = false;
    for (const auto& l : impl_->bus.subscriptions()) any = any || l.module == m;
    for (const auto& l : impl_->bus.sources()) any = any || l.module == m;
    if (!any) continue;
    out += PropagationTable(m);
    out += '\n';
  }
  return out;
}

}  // namespace smpkit::desktop
