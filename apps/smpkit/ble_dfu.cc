// One DFU over simulated Bluetooth LE (see ble_dfu.h).
#include "ble_dfu.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/central/ble_smp_central.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/scheduler_executor.h"

namespace smpkit::cli {

namespace {
using sim::Ms;
// The phone's link: 2M PHY, data length 251, encrypted (bonded), 30 ms as phones connect.
}  // namespace

ble::LinkConfig PhoneLink(const BleDfuSetup& setup) {
  ble::LinkConfig lc;
  lc.params = {setup.interval ? setup.interval : uint16_t{24}, 0, 400};
  lc.phy = setup.phy;
  lc.data_length = setup.data_length;
  lc.encrypted = true;
  // A phone's controller runs events as long as the peripheral's allows (the peripheral's
  // profile, from its prj.conf, is applied by desktop::WithPeripheralSide).
  lc.central.max_event_length = std::chrono::seconds(4);
  lc.central.acl_tx_buffers = 8;  // a phone queues more than a 3-buffer Zephyr central
  return lc;
}

namespace {

class Timeline {
 public:
  Timeline(sim::Scheduler& s, bool enabled) : sched_(s), enabled_(enabled) {}
  template <typename... Args>
  void Print(std::string_view who, fmt::format_string<Args...> f, Args&&... args) {
    if (!enabled_) return;
    fmt::print("  {:>12}  {:<13} {}\n", sim::FormatTime(sched_.Now()), who,
               fmt::format(f, std::forward<Args>(args)...));
  }
  bool enabled() const { return enabled_; }

 private:
  sim::Scheduler& sched_;
  bool enabled_;
};

}  // namespace

BleDfuResult RunBleDfu(const BleDfuSetup& opt) {
  BleDfuResult result;
  const bool print = opt.print;
  const bool latency_module = opt.latency_module;
  sim::Scheduler sched(opt.seed);
  Timeline tl(sched, print);

  std::string extra;
  if (!latency_module) extra += "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n\n";
  if (opt.mtu) {
    extra += fmt::format("CONFIG_BT_L2CAP_TX_MTU={}\n", opt.mtu);
    extra += fmt::format("CONFIG_BT_BUF_ACL_RX_SIZE={}\n", opt.mtu + 4);
  }
  if (opt.buf_size) extra += fmt::format("CONFIG_MCUMGR_BUF_SIZE={}\n", opt.buf_size);
  if (!opt.controller.empty()) {
    auto profile = ble::ParseControllerProfile(opt.controller);
    if (!profile.ok()) {
      result.error = std::string(profile.error().message());
      return result;
    }
    extra += *profile == ble::ControllerProfile::kZephyrLl
                 ? "CONFIG_BT_LL_SOFTDEVICE=n\nCONFIG_BT_LL_SW_SPLIT=y\n"
                 : "CONFIG_BT_LL_SW_SPLIT=n\nCONFIG_BT_LL_SOFTDEVICE=y\n";
  }
  if (opt.pref_latency >= 0)
    extra += fmt::format("CONFIG_BT_PERIPHERAL_PREF_LATENCY={}\n", opt.pref_latency);
  auto cfg = desktop::LoadPrjConf(opt.prj_conf, extra);
  if (!cfg.ok()) {
    result.error = std::string(cfg.error().message());
    return result;
  }
  result.config_name = opt.prj_conf.empty() ? "seed's prj.conf" : opt.prj_conf;
  result.smp_module = std::string(cfg->SmpModuleName());
  result.controller = fmt::format(
      "{} ({})",
      ble::ControllerProfileName(cfg->zephyr_ll ? ble::ControllerProfile::kZephyrLl
                                                : ble::ControllerProfile::kSdc),
      cfg->zephyr_ll ? "Zephyr's open link layer"
                     : "SoftDevice Controller: strict latency, 7.5 ms events");
  // Every connection of this run: the phone's link with the device's side (link layer, TX
  // buffers, DLE/PHY updates) and the chip.
  result.link = desktop::WithPeripheralSide(*cfg, PhoneLink(opt));
  result.link.processing_parallel_to_radio = opt.nrf5340;
  result.latency_module_on = cfg->ble_latency;
  result.os_group = cfg->os_group;
  result.warnings = cfg->warnings;
  if (cfg->smp == desktop::SmpEra::kNone) {
    result.error = opt.prj_conf.empty()
                       ? "the device configuration has no SMP DFU module"
                       : fmt::format("{} enables no SMP DFU module (CONFIG_DESKTOP_SMP_ENABLE or "
                                     "CONFIG_DESKTOP_DFU_MCUMGR_ENABLE): nothing to update over "
                                     "Bluetooth; start from `smpkit demo --print-config`",
                                     opt.prj_conf);
    return result;
  }
  desktop::DesktopOptions o;
  o.config = *cfg;
  result.buf_size = cfg->mcumgr_buf_size;
  flash::RamFlash flash(o.device.Geometry());
  if (opt.flash_costs) flash.set_timing(flash::Timing::Nrf52());
  desktop::DesktopDevice dev(sched, flash, o);
  dev.SetLogger([&](sim::Time, desktop::ModuleId m, std::string_view msg) {
    tl.Print(desktop::ModuleName(m), "{}", msg);
  });
  uint16_t latency = 0xffff;
  bool uploading = false;
  sim::Time up_start{0};  // the upload began
  uint16_t interval = 0;
  dev.SetParamsObserver([&](const ble::ConnParams& p) {
    latency = p.latency;
    interval = p.interval;
    if (uploading) {
      result.latency_during_upload = p.latency;
      result.interval_during_upload = p.interval;
    }
  });

  auto factory = device::MakeFactoryImage("1.0.0", 96 * 1024, opt.seed);
  auto update = device::MakeFactoryImage("1.1.0", opt.image_size, opt.seed + 1);
  if (!factory.ok() || !update.ok() || !dev.Provision(*factory).ok()) {
    result.error = "cannot build the images";
    return result;
  }
  for (const auto& w : cfg->warnings) tl.Print("config", "{}", w);
  tl.Print("demo", "{}: SMP module {}, BLE latency module {}, MCUmgr groups: image{}, link layer {}",
           result.config_name, result.smp_module, cfg->ble_latency ? "on" : "off",
           cfg->os_group ? " + OS" : " only", result.controller);
  tl.Print("demo", "power on: factory image 1.0.0 in slot 0, app_update.bin is 1.1.0 ({} bytes)",
           update->size());
  if (auto b = dev.PowerOn(); !b.ok()) {
    result.error = std::string(b.error().message());
    return result;
  }
  sched.RunFor(Ms(1));  // main READY and the modules' init cascade
  if (print && opt.tables) fmt::print("{}\n", dev.PropagationTables());
  sched.RunUntilCondition([&] { return dev.status().dfu_flash_clean; }, sched.Now() + Ms(120000));

  // The phone connects and bonds.
  std::vector<std::unique_ptr<ble::Link>> links;  // old links stay alive until the end
  central::BleSmpCentral phone(opt.mtu ? opt.mtu : uint16_t{498});
  std::function<void()> connect = [&] {
    if (!dev.running()) {
      // The bootloader is still at work (a swap): the device does not advertise yet.
      sched.PostAfter(Ms(600), [&] { connect(); });
      return;
    }
    links.push_back(
        std::make_unique<ble::Link>(sched, result.link));
    ble::Link& link = *links.back();
    if (opt.on_upload_event) {
      link.SetEventObserver([&](const ble::EventRecord& e) {
        if (uploading) opt.on_upload_event(e, sim::ToSeconds(e.anchor - up_start));
      });
    }
    if (opt.interval) {
      // A phone that keeps its own interval: it grants the latency and timeout the device
      // asks for (timeout at least what the latency needs) but not the interval.
      link.SetCentralPolicy([iv = opt.interval](const ble::ConnParamRequest& r) {
        const uint32_t needed = (1u + r.latency) * iv * 125u * 2u / 1000u + 1u;  // 10 ms units
        return std::optional<ble::ConnParams>(ble::ConnParams{
            iv, r.latency, static_cast<uint16_t>(std::min<uint32_t>(3200, std::max<uint32_t>(r.timeout, needed)))});
      });
    }
    if (!link.Connect().ok()) return;
    if (!dev.AttachLink(link, opt.mtu ? std::optional<uint16_t>(opt.mtu) : std::nullopt).ok()) return;
    link.AddDisconnectListener([&](uint8_t reason) {
      tl.Print("phone", "link lost (reason 0x{:02x}); reconnecting", reason);
      phone.Detach();
      sched.PostAfter(Ms(600), [&] { connect(); });
    });
    (void)phone.Attach(link, [&, lp = &link] {
      tl.Print("phone", "connected: ATT MTU {}, {} PHY, DLE {}, notifications on", phone.mtu(),
               ble::PhyName(lp->config().phy), lp->config().data_length);
    });
  };
  connect();
  if (!sched.RunUntilCondition([&] { return phone.ready(); }, sched.Now() + Ms(10000))) {
    result.error = "the phone could not connect";
    return result;
  }
  // Let the connection settle: ble_latency restores the preferred latency once idle (or, for
  // a DFU started right after connecting, only let the connection-parameter window pass).
  sched.RunFor(opt.idle_start ? Ms(12000) : Ms(1500));
  tl.Print("phone", "link idle: interval {:.2f} ms, peripheral latency {}",
           links.back()->params().interval * 1.25, links.back()->params().latency);

  simlink::SchedulerExecutor exec(sched);
  client::SessionConfig sc;
  sc.timeout = std::chrono::seconds(opt.timeout_s);
  client::Session session(phone, exec, sc);
  client::Client cl(session);
  // Without an OS group the device can't tell its buffers: the phone app is set to the
  // device's prj.conf values, as mcumgr-ios' reassembly buffer size and NCDM's buffer count
  // settings let a user do.
  if (!cfg->os_group) {
    cl.set_assumed_params({cfg->mcumgr_buf_size, cfg->mcumgr_buf_count});
  }
  const sim::Time dfu_start = sched.Now();  // the first request of the DFU
  auto params = cl.ProbeParams();
  if (!params.ok()) {
    result.error = fmt::format("params: {}", params.error().message());
    return result;
  }
  int last_decile = -1;
  client::UploadOptions uo;
  uo.max_window = opt.window;
  sim::Time steady_start{-1};
  sim::Time steady_end{-1};
  uint64_t steady_offset = 0;
  uint64_t steady_end_offset = 0;
  ble::LinkStats steady_stats;
  ble::LinkStats steady_end_stats;
  const ble::Link* steady_link = nullptr;  // the breakdown needs one link throughout
  std::vector<std::pair<double, double>> acks;  // (seconds, offset) from 10 % to 90 %
  sim::Time first_ack{-1};
  uo.progress = [&](const client::Progress& p) {
    if (p.phase != client::Phase::kUpload || p.total == 0) return;
    if (first_ack < sim::Time(0) && p.offset > 0) first_ack = sched.Now();
    // Steady state: between the first acknowledgements past 10 % and past 90 % of the image,
    // so that the first chunk, the latency module's parameter update and the pipeline's fill
    // and drain are all outside it.
    if (steady_start < sim::Time(0) && p.offset * 10 >= p.total) {
      steady_start = sched.Now();
      steady_offset = p.offset;
      steady_stats = links.back()->stats();
      steady_link = links.back().get();
    }
    if (steady_start >= sim::Time(0) && steady_end < sim::Time(0)) {
      acks.emplace_back(sim::ToSeconds(sched.Now()), static_cast<double>(p.offset));
    }
    if (steady_end < sim::Time(0) && p.offset * 10 >= p.total * 9) {
      steady_end = sched.Now();
      steady_end_offset = p.offset;
      steady_end_stats = links.back()->stats();
      if (steady_link != links.back().get()) steady_link = nullptr;
    }
    const int decile = static_cast<int>(p.offset * 10 / p.total);
    if (decile == last_decile) return;
    last_decile = decile;
    tl.Print("phone", "upload {:3d}%  {:>7} / {} bytes  {:6.1f} kB/s  window {}",
             static_cast<int>(p.offset * 100 / p.total), p.offset, p.total, p.rate_bps / 1000,
             p.window);
  };
  if (params->has_value()) {
    tl.Print("phone", "DFU: upload app_update.bin (buf_size {} from MCUmgr params)",
             (*params)->buf_size);
  } else {
    tl.Print("phone",
             "DFU: upload app_update.bin (no MCUmgr params command: buf_size {}, {} buffers "
             "from the phone's settings)",
             cl.assumed_params().buf_size, cl.assumed_params().buf_count);
  }
  if (opt.dirty_slot) {
    // An old image left in the update slot (no background erase since): MCUmgr finds the
    // slot not blank and erases the image's pages on the first chunk.
    auto old = device::MakeFactoryImage("0.9.0", opt.image_size, opt.seed + 2);
    const auto& slot1 = dev.device().layout().images[0].secondary;
    if (!old.ok() || !flash.Write(slot1.offset(), *old).ok()) {
      result.error = "cannot fill the update slot";
      return result;
    }
    tl.Print("demo", "update slot holds an old image ({} bytes): not blank", old->size());
  }
  // The upgrade flow of the client (nRF Connect Device Manager's "test and confirm"), with
  // this scenario measuring the upload, narrating the steps and power-cycling a device
  // without remote reset.
  client::UpgradeOptions ug;
  ug.upload = uo;
  ug.reset_wait = Ms(600000);  // the swap takes its flash time: tens of seconds on an nRF52
  ble::LinkStats stats0;
  ug.on_upload_start = [&] {
    uploading = true;
    result.latency_during_upload = latency;
    result.interval_during_upload = interval;
    up_start = sched.Now();
    stats0 = links.back()->stats();
  };
  ug.on_upload_done = [&](const client::UploadResult& up) {
    const ble::LinkStats stats1 = links.back()->stats();
    result.link_events = stats1.events - stats0.events;
    result.central_pdus = stats1.central_data_pdus - stats0.central_data_pdus;
    result.retransmits = up.retransmits;
    uploading = false;
    result.upload_s = sim::ToSeconds(sched.Now() - up_start);
    if (first_ack >= sim::Time(0)) result.first_response_s = sim::ToSeconds(first_ack - up_start);
    if (steady_start >= sim::Time(0) && steady_end > steady_start) {
      result.steady_s = sim::ToSeconds(steady_end - steady_start);
      // The least-squares slope of offset over time through every acknowledgement in the
      // window: acknowledgements come in bursts at connection events, and the slope is not
      // biased by where in a burst the window happens to start and end.
      double mt = 0, mo = 0;
      for (const auto& [t, off] : acks) {
        mt += t;
        mo += off;
      }
      mt /= static_cast<double>(acks.size());
      mo /= static_cast<double>(acks.size());
      double num = 0, den = 0;
      for (const auto& [t, off] : acks) {
        num += (t - mt) * (off - mo);
        den += (t - mt) * (t - mt);
      }
      result.steady_bytes_per_s =
          den > 0 ? num / den
                  : static_cast<double>(steady_end_offset - steady_offset) / result.steady_s;
      if (steady_link != nullptr) {
        result.steady_radio_s =
            sim::ToSeconds(steady_end_stats.radio_guarded - steady_stats.radio_guarded);
        result.steady_flash_s =
            sim::ToSeconds(steady_end_stats.processing - steady_stats.processing);
      }
    }
    result.bytes = update->size();
    result.chunk = up.chunk_data;
    result.window_used = up.max_window_used;
    result.att_mtu = phone.mtu();
    result.transfer_events =
        static_cast<uint32_t>(dev.bus().submitted<desktop::BleSmpTransferEvent>());
    result.requests_dropped_no_buffer = dev.status().smp_dropped_no_buffer;
    tl.Print("phone", "upload done: {} bytes in {:.2f} s, match {}", update->size(),
             result.upload_s, up.match ? (*up.match ? "true" : "false") : "n/a");
  };
  const auto upload_progress = ug.upload.progress;
  bool confirm_sent = false;
  ug.upload.progress = [&, upload_progress](const client::Progress& p) {
    switch (p.phase) {
      case client::Phase::kUpload: upload_progress(p); break;
      case client::Phase::kMark: tl.Print("phone", "image test (mark slot 1 for a test swap)"); break;
      case client::Phase::kReset: tl.Print("phone", "reset"); break;
      case client::Phase::kConfirm:
        confirm_sent = true;
        tl.Print("phone", "new image 1.1.0 runs; confirm");
        break;
      case client::Phase::kDone:
        if (!confirm_sent) {
          tl.Print("phone", "new image 1.1.0 runs, already confirmed (by the device at boot)");
        }
        break;
      default: break;
    }
  };
  ug.power_cycle = [&](const Error& refused) -> Status {
    // The seed's smp module registers the image group only: no remote reset. The image is
    // marked for a test swap; it boots when the device restarts (nrf-desktop.md §4.1).
    tl.Print("phone", "reset refused: {}", refused.message());
    tl.Print("demo", "no OS group in this configuration: the user switches the mouse off and on");
    result.power_cycled = true;
    auto b = dev.Reboot();
    if (!b.ok()) return Error::Format(Errc::kIo, "power cycle: %.*s",
                                      static_cast<int>(b.error().message().size()),
                                      b.error().message().data());
    return Ok();
  };
  auto upgraded = cl.Upgrade(*update, ug);
  if (!upgraded.ok()) {
    result.error = std::string(upgraded.error().message());
    return result;
  }
  result.swap_s = sim::ToSeconds(dev.last_boot_work());
  result.dfu_s = sim::ToSeconds(sched.Now() - dfu_start);
  tl.Print("phone", "DFU complete: 1.1.0 active and confirmed");
  // Let the timeline show the latency going back to the preferred value.
  sched.RunFor(Ms(12000));
  result.ok = true;
  return result;
}


}  // namespace smpkit::cli
