// `smpkit demo`: the seed's DFU over Bluetooth LE, end to end on virtual time. A simulated
// nRF Desktop device (SMP, DFU, DFU lock, BLE latency modules, MCUboot) and a simulated
// phone running the nRF Connect Device Manager flow (upload, test, reset, reconnect, check,
// confirm) over the BLE link model. Prints a timeline, then the same DFU with the BLE
// latency module disabled for comparison.
#include <iterator>
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>

#include "ble_dfu.h"
#include "commands.h"
#include "smpkit/ble/capacity.h"
#include "smpkit/desktop/kconfig.h"

namespace smpkit::cli {

namespace {


struct DemoOptions {
  BleDfuSetup setup;
  bool quiet = false;
  bool print_config = false;
};

int RunDemo(const DemoOptions& opt) {
  if (opt.print_config) {
    // Each line marked: whether the symbol changes what the simulated device does.
    auto text = desktop::ReadPrjConf(opt.setup.prj_conf);
    if (!text.ok()) {
      fmt::print(stderr, "smpkit demo: {}\n", text.error().message());
      return kExitBadInput;
    }
    fmt::print("{}", desktop::AnnotatePrjConf(*text));
    return kExitOk;
  }
  if (!opt.quiet) {
    fmt::print("smpkit demo: DFU over Bluetooth LE with SMP on a simulated nRF Desktop device\n");
    fmt::print("  (virtual time; nRF52840 flash: 87.5 ms per 4 KiB erase, 42 us per word write)\n\n");
  }
  BleDfuSetup setup = opt.setup;
  setup.print = !opt.quiet;
  const BleDfuResult with = RunBleDfu(setup);
  if (!with.ok) {
    fmt::print(stderr, "smpkit demo: DFU failed: {}\n", with.error);
    return kExitFailure;
  }
  if (opt.quiet)
    for (const auto& w : with.warnings) fmt::print(stderr, "smpkit demo: {}\n", w);
  // The comparison run: the same configuration with the latency module disabled (only when
  // the configuration has it).
  std::optional<BleDfuResult> without;
  if (with.latency_module_on) {
    setup.print = false;
    setup.tables = false;
    setup.latency_module = false;
    without = RunBleDfu(setup);
    if (!without->ok) {
      fmt::print(stderr, "smpkit demo: DFU without the latency module failed: {}\n",
                 without->error);
      return kExitFailure;
    }
  }
  ble::LinkConfig lc = with.link;  // the link the upload ran on, with its link layer
  lc.params.interval = with.interval_during_upload ? with.interval_during_upload : uint16_t{6};
  const ble::Capacity cap = ble::WriteCapacity(lc, with.att_mtu);
  fmt::print("\nsummary ({} byte image, chunk {} B, window {}):\n", with.bytes, with.chunk,
             with.window_used);
  fmt::print("  {:<34} {:>10} {:>12} {:>10} {:>12} {:>18}\n", "", "upload", "throughput", "swap",
             "whole DFU", "latency (upload)");
  auto row = [&](const char* name, const BleDfuResult& r) {
    fmt::print("  {:<34} {:>8.2f} s {:>7.1f} kB/s {:>8.2f} s {:>10.2f} s {:>18}\n", name,
               r.upload_s, static_cast<double>(r.bytes) / r.upload_s / 1000, r.swap_s, r.dfu_s,
               r.latency_during_upload);
  };
  fmt::print("  configuration: {}; SMP module {}; MCUmgr groups: image{}\n", with.config_name,
             with.smp_module, with.os_group ? " + OS" : " only (reset by power cycle)");
  fmt::print("  link layer: {}\n", with.controller);
  if (without) {
    row("BLE latency module on", with);
    row("BLE latency module off", *without);
    fmt::print("  speed-up from the latency module: {:.2f}x; {} ble_smp_transfer_events\n",
               without->upload_s / with.upload_s, with.transfer_events);
  } else {
    row("BLE latency module off (config)", with);
    fmt::print("  the configuration has no BLE latency module: no comparison run; {} "
               "ble_smp_transfer_events\n",
               with.transfer_events);
  }
  if (with.requests_dropped_no_buffer > 0)
    fmt::print("  {} SMP requests dropped for want of an MCUmgr buffer (CONFIG_MCUMGR_BUF_COUNT)\n",
               with.requests_dropped_no_buffer);
  fmt::print("  whole DFU: from the first request to the new image confirmed, with the "
             "bootloader's swap\n");
  fmt::print("  link air-time capacity at {:.2f} ms, {}, DLE {}, ATT MTU {}: {:.1f} kB/s\n",
             lc.params.interval * 1.25, ble::PhyName(lc.phy), lc.data_length, with.att_mtu,
             cap.bytes_per_second / 1000);
  return kExitOk;
}

}  // namespace

void RegisterDemoCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto opt = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand("demo", "DFU over simulated Bluetooth LE on an nRF Desktop device");
  demo->add_option("--image-size", opt->setup.image_size, "app_update.bin body size in bytes")
      ->check(CLI::Range(4096u, 0x60000u));
  demo->add_option("--window", opt->setup.window, "SMP requests in flight (pipelining)")
      ->check(CLI::Range(1, 8));
  demo->add_option("--seed", opt->setup.seed, "simulation seed");
  demo->add_option("--config", opt->setup.prj_conf,
                   "prj.conf for the device (Kconfig syntax), replacing the seed's");
  demo->add_flag("--print-config", opt->print_config,
                 "print the prj.conf (--config's, else the seed's), each line marked: acts, or no "
                 "effect in this simulation; then exit");
  demo->add_flag("--tables", opt->setup.tables, "print the modules' event propagation tables");
  demo->add_flag("--quiet", opt->quiet, "summary only");
  demo->callback([opt, exit_code] { *exit_code = RunDemo(*opt); });
}

}  // namespace smpkit::cli
