#include "smpkit/desktop/desktop_device.h"

#include <algorithm>
#include <array>
#include <vector>

#include "modules/ble_latency.h"
#include "modules/ble_state.h"
#include "modules/context.h"
#include "modules/dfu.h"
#include "modules/power_manager.h"
#include "modules/smp.h"
#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/smp_peripheral.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/smp/frame_collector.h"

namespace smpkit::desktop {

struct DesktopDevice::Impl {
  class DeviceHooksImpl;
  Impl(sim::Scheduler& s, flash::Flash& f, DesktopOptions o);

  // --- infrastructure ---
  // Log and Submit: ctx's, shared with the modules.
  void StartModules();
  void StopModules(bool power_off = true);
  Result<mcuboot::BootReport> PowerOn();
  uint64_t boot_gen = 0;  // a power-on supersedes a pending application start
  sim::Duration last_boot_work{0};
  Result<mcuboot::BootReport> Reboot();
  void CheckResetRequest();

  // SMP packets from the connection's GATT transport: answered by the device; the flash work
  // they cost is returned for the transport to run between radio events.
  ble::SmpPeripheral::Work HandleSmpOverBle(ConstByteSpan packet, smp::FrameCollector& frames);
  const ble::Link* link() const { return ble_state ? ble_state->conn() : nullptr; }

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

  // ble_state's storage that outlives a boot: every connection's GATT server (their
  // handlers stay on old links) and the requests earlier connections dropped.
  std::vector<std::unique_ptr<ble::GattSmpServer>> gatt_servers;
  uint64_t smp_dropped_no_buf = 0;
  uint64_t SmpDroppedNoBuffer() const {
    return smp_dropped_no_buf + (ble_state ? ble_state->transport_dropped() : 0);
  }
  std::function<void(const ble::ConnParams&)> params_observer;

  // smp

  // The modules that are objects: built at every start, destroyed at power-off.
  modules::Context ctx{sched, bus, lock, cfg, tm, logger};
  std::optional<modules::BleState> ble_state;
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

// ---------------------------------------------------------------------------------------
// Boot and module wiring

void DesktopDevice::Impl::StopModules(bool power_off) {
  running = false;
  bus.Reset();
  lock.Reset();
  // The modules that use ble_state go first. A power-off drops the connection; the device's
  // destruction only forgets it (the link may be gone already).
  if (power_off && ble_state) ble_state->Drop(ble::kReasonRemoteUserTerminated);
  smp.reset();
  latency.reset();
  dfu.reset();
  power_manager.reset();
  if (ble_state) smp_dropped_no_buf += ble_state->transport_dropped();
  ble_state.reset();
  for (auto& p : config_pending) p = PendingConfig{};
}

void DesktopDevice::Impl::StartModules() {
  using M = ModuleId;
  const bool smp_on = cfg.smp != SmpEra::kNone;
  // Declared sources (outputs), for the propagation table.
  bus.DeclareSource<ModuleStateEvent>(M::kMain);
  // ble_state: enables Bluetooth on main READY; the Bluetooth host for the other modules.
  modules::BleState::SmpService service;
  service.buf_size = opt.device.server.buf_size;
  service.handler = [this](ConstByteSpan packet, smp::FrameCollector& frames) {
    return HandleSmpOverBle(packet, frames);
  };
  service.registered = [this] { return smp && smp->service_registered(); };
  ble_state.emplace(ctx, std::move(service), gatt_servers, params_observer, smp_dropped_no_buf);
  bus.DeclareSource<HidReportEvent>(M::kHidState);
  bus.DeclareSource<KeepAliveEvent>(M::kHidState);
  bus.DeclareSource<ConfigEvent>(M::kConfigChannel);

  if (smp_on) smp.emplace(ctx, *ble_state, *dev);
  if (cfg.ble_latency) latency.emplace(ctx, *ble_state);
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
                                 ctx.Submit(ModuleId::kConfigChannel, rsp);
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
  ctx.Submit(M::kMain, ModuleStateEvent{M::kMain, ModuleState::kReady});
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
    ctx.Log(ModuleId::kMain, "MCUboot: %s swap%s of image 0: %.2f s of flash work",
        std::string(mcuboot::SwapTypeName(img.swap)).c_str(), img.resumed ? " (resumed)" : "",
        sim::ToSeconds(boot_work));
  }
  auto start = [this, gen] {
    if (gen != boot_gen) return;
    ctx.Log(ModuleId::kMain, "boot #%u: running slot %u", dev->boot_count(),
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
  // The power-off drops the connection (StopModules).
  return PowerOn();
}

void DesktopDevice::Impl::CheckResetRequest() {
  const auto reboot = dev->PendingReboot();  // CONFIG_MCUMGR_GRP_OS_RESET_MS
  if (!reboot) return;
  ctx.Log(ModuleId::kSmp, "OS reset accepted, rebooting in %u ms",
      static_cast<unsigned>(reboot->count()));
  std::weak_ptr<bool> guard = alive;
  const uint32_t boots = dev->boot_count();
  sched.PostAfter(*reboot, [this, guard, boots] {
    if (guard.expired() || dev->boot_count() != boots) return;
    (void)Reboot();
  });
}

// ---------------------------------------------------------------------------------------
// SMP over Bluetooth

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

// ---------------------------------------------------------------------------------------
// DesktopDevice

DesktopDevice::DesktopDevice(sim::Scheduler& scheduler, flash::Flash& flash, DesktopOptions options)
    : impl_(std::make_unique<Impl>(scheduler, flash, std::move(options))) {}

DesktopDevice::~DesktopDevice() {
  impl_->StopModules(/*power_off=*/false);
  impl_->alive.reset();
}

Status DesktopDevice::Provision(ConstByteSpan image) { return impl_->dev->Provision(image); }
Result<mcuboot::BootReport> DesktopDevice::PowerOn() { return impl_->PowerOn(); }
Result<mcuboot::BootReport> DesktopDevice::Reboot() { return impl_->Reboot(); }

Status DesktopDevice::AttachLink(ble::Link& link, std::optional<uint16_t> att_rx_mtu) {
  if (!impl_->running || !impl_->ble_state) return Error(Errc::kBadState, "device not running");
  return impl_->ble_state->Attach(link, att_rx_mtu);
}

void DesktopDevice::SetLinkSecured() {
  if (impl_->ble_state) impl_->ble_state->SetSecured();
}

bool DesktopDevice::link_attached() const { return impl_->link() != nullptr; }
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
  impl_->ctx.Submit(ModuleId::kHidState, HidReportEvent{});
  impl_->ctx.Submit(ModuleId::kHidState, KeepAliveEvent{});
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
    im.ctx.Submit(ModuleId::kConfigChannel, req);
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
  s.connected = im.link() != nullptr;
  if (im.latency) {
    s.secured = im.latency->secured();
    s.low_latency_enabled = im.latency->enabled();
    s.low_latency_required = im.latency->required();
  }
  if (const ble::Link* l = im.link(); l != nullptr) {
    s.link_latency = l->params().latency;
    s.link_interval = l->params().interval;
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
