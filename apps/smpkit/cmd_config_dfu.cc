// `smpkit config-dfu FILE`: the other DFU path of nRF Desktop, over the HID configuration
// channel (the hid_configurator's dfu.py algorithm), against a simulated nRF Desktop device on
// virtual time. With --smp-first a phone starts an SMP upload over BLE first: the SMP module
// then holds the DFU lock until reboot and the config-channel DFU is refused, as the seed
// says; --reboot-between reboots the device in between, after which it works.
#include <fmt/core.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ble_dfu.h"
#include "commands.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/desktop/config_dfu_host.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/device/device.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/simlink/scheduler_executor.h"

namespace smpkit::cli {

namespace {

struct ConfigDfuOptions {
  std::string file;
  std::string prj_conf;
  bool smp_first = false;
  bool reboot_between = false;
  bool quiet = false;
};

int RunConfigDfu(ConfigDfuOptions opt, const GlobalOptions& global) {
  if (global.json) opt.quiet = true;      // one JSON document, no timeline
  auto file = InputFile::Open(opt.file);  // binary or Intel HEX, checked, mapped
  if (!file.ok())
    return ReportError(global, kExitBadInput, "config-dfu: " + std::string(file.error().message()));
  ConstByteSpan image = file->bytes();
  auto parsed = mcuboot::Parse(image);
  if (!parsed.ok()) {
    return ReportError(global, kExitBadInput,
                       fmt::format("config-dfu: {} is not an MCUboot image: {}", opt.file,
                                   parsed.error().message()));
  }
  auto cfg = desktop::LoadPrjConf(opt.prj_conf);
  if (!cfg.ok()) {
    return ReportError(global, kExitBadInput, fmt::format("config-dfu: {}", cfg.error().message()));
  }
  for (const auto& w : cfg->warnings) fmt::print(stderr, "config-dfu: {}\n", w);
  sim::Scheduler sched(1);
  desktop::DesktopOptions o;
  o.config = *cfg;
  flash::RamFlash flash(o.device.Geometry());
  flash.set_timing(flash::Timing::Nrf52());
  desktop::DesktopDevice dev(sched, flash, o);
  if (!opt.quiet) {
    dev.SetLogger([&](sim::Time t, desktop::ModuleId m, std::string_view msg) {
      fmt::print("  {:>12}  {:<13} {}\n", sim::FormatTime(t), desktop::ModuleName(m), msg);
    });
  }
  auto factory = device::MakeFactoryImage("1.0.0", 48 * 1024);
  if (!factory.ok() || !dev.Provision(*factory).ok() || !dev.PowerOn().ok()) {
    return ReportError(global, kExitFailure, "config-dfu: the simulated device did not boot");
  }
  sched.RunUntilCondition([&] { return dev.status().dfu_flash_clean; },
                          sched.Now() + sim::Ms(60000));

  if (opt.smp_first) {
    // A phone starts an SMP upload over BLE and goes away before the end.
    ble::Link link(sched, desktop::WithPeripheralSide(*cfg, PhoneLink(BleDfuSetup{})));
    if (!link.Connect().ok() || !dev.AttachLink(link).ok()) return kExitFailure;
    central::BleSmpCentral phone;
    (void)phone.Attach(link);
    sched.RunUntilCondition([&] { return phone.ready(); }, sched.Now() + sim::Ms(5000));
    simlink::SchedulerExecutor exec(sched);
    client::Session session(phone, exec);
    client::Client cl(session);
    client::UploadOptions uo;
    uo.max_chunk = 256;
    uo.skip_if_present = false;
    size_t chunks = 0;
    uint64_t acked = 0;
    uo.progress = [&](const client::Progress& p) {
      if (p.phase == client::Phase::kUpload && p.offset > acked) {
        ++chunks;
        acked = p.offset;
      }
    };
    // Only a prefix of the image: the device's upload session stays open, unfinished.
    const auto up = cl.Upload(image.first(std::min<size_t>(image.size(), 512)), uo);
    if (!opt.quiet) {
      const auto* owner = dev.status().lock_owner;
      fmt::print("  (phone: SMP upload of the first {} of {} bytes: {} chunks acknowledged{}; "
                 "DFU lock {}; phone disconnects)\n",
                 std::min<size_t>(image.size(), 512), image.size(), chunks,
                 up.ok() ? "" : fmt::format(", then: {}", up.error().message()),
                 owner ? fmt::format("held by {}", owner->name) : std::string("free"));
    }
    (void)link.Disconnect(ble::Role::kCentral);
    sched.RunFor(sim::Ms(2000));
    if (opt.reboot_between) {
      if (!opt.quiet) fmt::print("  (device rebooted)\n");
      if (!dev.Reboot().ok()) return kExitFailure;
      sched.RunUntilCondition([&] { return dev.running() && dev.status().dfu_flash_clean; },
                              sched.Now() + sim::Ms(120000));
    }
  }

  desktop::ConfigDfuHost host(sched, dev);
  std::optional<Result<desktop::ConfigDfuResult>> result;
  host.Run(std::vector<uint8_t>(image.begin(), image.end()),
           [&](Result<desktop::ConfigDfuResult> r) { result.emplace(std::move(r)); });
  sched.RunUntilCondition([&] { return result.has_value(); }, sched.Now() + sim::Ms(3600 * 1000));
  if (!result) {
    return ReportError(global, kExitFailure,
                       "config-dfu: no result within an hour of virtual time");
  }
  if (!result->ok()) {
    return ReportError(global, result->error().code() == Errc::kBusy ? kExitRejected : kExitFailure,
                       fmt::format("config-dfu: {}", result->error().message()));
  }
  sched.RunFor(sim::Ms(2000));  // the dfu module's reboot
  // The bootloader's swap takes its flash time; then the application confirms the image.
  sched.RunUntilCondition([&] { return dev.running(); }, sched.Now() + sim::Ms(600000));
  sched.RunFor(sim::Ms(10));
  auto state = dev.device().ImageState();
  std::string running = "?";
  if (state.ok()) {
    for (const auto& s : state->view()) {
      char v[32];
      if (s.active)
        running = std::string(s.version.Format(v)) + (s.confirmed ? " (confirmed)" : "");
    }
  }
  const auto& r = **result;
  const double secs = sim::ToSeconds(r.finished - r.started);
  if (global.json) {
    fmt::print(
        "{{\"bytes\": {}, \"seconds\": {:.3f}, \"data_reports\": {}, \"sync_fetches\": {}, "
        "\"resumed_from\": {}, \"rebooted\": {}, \"running\": \"{}\"}}\n",
        image.size(), secs, r.data_reports, r.sync_fetches, r.resumed_from,
        r.rebooted ? "true" : "false", running);
  } else {
    fmt::print(
        "config-channel DFU: {} bytes in {:.2f} s ({:.1f} kB/s), {} data reports, {} syncs; "
        "running {}\n",
        image.size(), secs, static_cast<double>(image.size()) / secs / 1000, r.data_reports,
        r.sync_fetches, running);
  }
  return kExitOk;
}

}  // namespace

void RegisterConfigDfuCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opt = std::make_shared<ConfigDfuOptions>();
  auto* cmd = app.add_subcommand(
      "config-dfu", "DFU over the HID config channel on a simulated nRF Desktop device");
  cmd->add_option("file", opt->file, "MCUboot image (the update for the secondary slot)")
      ->required();
  cmd->add_option("--config", opt->prj_conf, "prj.conf of the device");
  cmd->add_flag("--smp-first", opt->smp_first,
                "start an SMP upload over BLE first (the lock then refuses this DFU)");
  cmd->add_flag("--reboot-between", opt->reboot_between,
                "with --smp-first: reboot the device before the config-channel DFU");
  cmd->add_flag("--quiet", opt->quiet, "no timeline");
  cmd->callback([opt, &global, exit_code] { *exit_code = RunConfigDfu(*opt, global); });
}

}  // namespace smpkit::cli
