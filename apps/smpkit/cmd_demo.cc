// `smpkit demo`: the seed's DFU over Bluetooth LE, end to end on virtual time. A simulated
// nRF Desktop device (SMP, DFU, DFU lock, BLE latency modules, MCUboot) and a simulated
// phone running the nRF Connect Device Manager flow (upload, test, reset, reconnect, check,
// confirm) over the BLE link model. Prints a timeline, then the same DFU with the BLE
// latency module disabled for comparison.
#include <fmt/core.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "smpkit/ble/capacity.h"
#include "smpkit/ble/link.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

namespace {

using sim::Ms;

struct DemoOptions {
  uint32_t image_size = 256 * 1024;
  uint32_t seed = 1;
  size_t window = 1;  // nRF Connect Device Manager with pipelining off
  bool quiet = false;
  bool tables = false;
  std::string prj_conf;  // path of a prj.conf; empty = the seed's defaults
};

struct DemoResult {
  bool ok = false;
  std::string error;
  double upload_s = 0;     // first chunk sent -> last chunk acknowledged
  double dfu_s = 0;        // upload start -> new image confirmed
  uint64_t bytes = 0;
  uint16_t latency_during_upload = 0xffff;  // peripheral latency while the data flowed
  size_t chunk = 0;
  size_t window_used = 0;
  uint32_t transfer_events = 0;
};

// The phone's link: 2M PHY, data length 251, encrypted (bonded), 30 ms as phones connect.
ble::LinkConfig PhoneLink() {
  ble::LinkConfig lc;
  lc.params = {24, 0, 400};
  lc.phy = ble::Phy::k2M;
  lc.data_length = 251;
  lc.encrypted = true;
  lc.peripheral.latency_mode = ble::LatencyMode::kStrict;  // SoftDevice Controller
  return lc;
}

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

DemoResult RunDfu(const DemoOptions& opt, bool latency_module, bool print) {
  DemoResult result;
  sim::Scheduler sched(opt.seed);
  Timeline tl(sched, print);

  std::string conf(desktop::DefaultPrjConf());
  if (!opt.prj_conf.empty()) {
    std::ifstream in(opt.prj_conf);
    if (!in) {
      result.error = fmt::format("cannot read {}", opt.prj_conf);
      return result;
    }
    conf.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (!latency_module) conf += "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n\n";
  auto cfg = desktop::ParsePrjConf(conf);
  if (!cfg.ok()) {
    result.error = std::string(cfg.error().message());
    return result;
  }
  desktop::DesktopOptions o;
  o.config = *cfg;
  flash::RamFlash flash(o.device.Geometry());
  flash.set_timing(flash::Timing::Nrf52());
  desktop::DesktopDevice dev(sched, flash, o);
  dev.SetLogger([&](sim::Time, desktop::ModuleId m, std::string_view msg) {
    tl.Print(desktop::ModuleName(m), "{}", msg);
  });
  uint16_t latency = 0xffff;
  bool uploading = false;
  dev.SetParamsObserver([&](const ble::ConnParams& p) {
    latency = p.latency;
    if (uploading && result.latency_during_upload == 0xffff) result.latency_during_upload = p.latency;
  });

  auto factory = device::MakeFactoryImage("1.0.0", 96 * 1024, opt.seed);
  auto update = device::MakeFactoryImage("1.1.0", opt.image_size, opt.seed + 1);
  if (!factory.ok() || !update.ok() || !dev.Provision(*factory).ok()) {
    result.error = "cannot build the images";
    return result;
  }
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
  central::BleSmpCentral phone(498);
  std::function<void()> connect = [&] {
    links.push_back(std::make_unique<ble::Link>(sched, PhoneLink()));
    ble::Link& link = *links.back();
    if (!link.Connect().ok() || !dev.AttachLink(link).ok()) return;
    link.AddDisconnectListener([&](uint8_t reason) {
      tl.Print("phone", "link lost (reason 0x{:02x}); reconnecting", reason);
      phone.Detach();
      sched.PostAfter(Ms(600), [&] { connect(); });
    });
    (void)phone.Attach(link, [&] {
      tl.Print("phone", "connected: ATT MTU {}, 2M PHY, DLE 251, notifications on", phone.mtu());
    });
  };
  connect();
  if (!sched.RunUntilCondition([&] { return phone.ready(); }, sched.Now() + Ms(10000))) {
    result.error = "the phone could not connect";
    return result;
  }
  // Let the connection settle: ble_latency restores the preferred latency once idle.
  sched.RunFor(Ms(12000));
  tl.Print("phone", "link idle: interval {:.2f} ms, peripheral latency {}",
           links.back()->params().interval * 1.25, links.back()->params().latency);

  client::SchedulerExecutor exec(sched);
  client::SessionConfig sc;
  sc.timeout = std::chrono::seconds(5);
  client::Session session(phone, exec, sc);
  client::Client cl(session);
  auto params = cl.ProbeParams();
  if (!params.ok()) {
    result.error = fmt::format("params: {}", params.error().message());
    return result;
  }
  const sim::Time dfu_start = sched.Now();
  int last_decile = -1;
  client::UploadOptions uo;
  uo.max_window = opt.window;
  uo.progress = [&](const client::Progress& p) {
    if (p.phase != "upload" || p.total == 0) return;
    const int decile = static_cast<int>(p.offset * 10 / p.total);
    if (decile == last_decile) return;
    last_decile = decile;
    tl.Print("phone", "upload {:3d}%  {:>7} / {} bytes  {:6.1f} kB/s  window {}",
             static_cast<int>(p.offset * 100 / p.total), p.offset, p.total, p.rate_bps / 1000,
             p.window);
  };
  tl.Print("phone", "DFU: upload app_update.bin (buf_size {} from MCUmgr params)",
           params->has_value() ? (*params)->buf_size : 0);
  uploading = true;
  const sim::Time up_start = sched.Now();
  auto up = cl.Upload(*update, uo);
  const sim::Time up_end = sched.Now();
  uploading = false;
  if (!up.ok()) {
    result.error = fmt::format("upload: {}", up.error().message());
    return result;
  }
  if (result.latency_during_upload == 0xffff) result.latency_during_upload = latency;
  result.upload_s = sim::ToSeconds(up_end - up_start);
  result.bytes = update->size();
  result.chunk = up->chunk_data;
  result.window_used = up->max_window_used;
  result.transfer_events = static_cast<uint32_t>(dev.bus().submitted<desktop::BleSmpTransferEvent>());
  tl.Print("phone", "upload done: {} bytes in {:.2f} s, match {}", update->size(), result.upload_s,
           up->match ? (*up->match ? "true" : "false") : "n/a");

  auto hash = client::ImageHashOf(*update);
  if (!hash.ok()) {
    result.error = std::string(hash.error().message());
    return result;
  }
  tl.Print("phone", "image test (mark slot 1 for a test swap)");
  if (auto t = cl.ImageTest(*hash); !t.ok()) {
    result.error = fmt::format("test: {}", t.error().message());
    return result;
  }
  tl.Print("phone", "reset");
  if (auto r = cl.Reset(); !r.ok()) {
    result.error = fmt::format("reset: {}", r.error().message());
    return result;
  }
  const uint32_t boots = dev.boot_count();
  sched.RunUntilCondition([&] { return dev.boot_count() > boots && phone.ready(); },
                          sched.Now() + Ms(30000));
  if (auto w = cl.WaitForDevice(std::chrono::seconds(20), std::chrono::milliseconds(500)); !w.ok()) {
    result.error = fmt::format("device did not come back: {}", w.error().message());
    return result;
  }
  auto state = cl.ImageState();
  if (!state.ok()) {
    result.error = fmt::format("state: {}", state.error().message());
    return result;
  }
  bool runs_new = false;
  for (const auto& s : *state) {
    if (s.active && s.hash == *hash) runs_new = true;
  }
  if (!runs_new) {
    result.error = "the new image is not running after the reset";
    return result;
  }
  tl.Print("phone", "new image 1.1.0 runs; confirm");
  auto confirm = cl.ImageConfirm();
  if (!confirm.ok()) {
    result.error = fmt::format("confirm: {}", confirm.error().message());
    return result;
  }
  bool confirmed = false;
  for (const auto& s : *confirm) {
    if (s.active && s.hash == *hash && s.confirmed) confirmed = true;
  }
  if (!confirmed) {
    result.error = "the new image is not confirmed";
    return result;
  }
  result.dfu_s = sim::ToSeconds(sched.Now() - dfu_start);
  tl.Print("phone", "DFU complete: 1.1.0 active and confirmed");
  // Let the timeline show the latency going back to the preferred value.
  sched.RunFor(Ms(12000));
  result.ok = true;
  return result;
}

int RunDemo(const DemoOptions& opt) {
  if (!opt.quiet) {
    fmt::print("smpkit demo: DFU over Bluetooth LE with SMP on a simulated nRF Desktop device\n");
    fmt::print("  (virtual time; nRF52840 flash: 87.5 ms per 4 KiB erase, 42 us per word write)\n\n");
  }
  DemoResult with = RunDfu(opt, true, !opt.quiet);
  if (!with.ok) {
    fmt::print(stderr, "smpkit demo: DFU failed: {}\n", with.error);
    return kExitFailure;
  }
  DemoResult without = RunDfu(opt, false, false);
  if (!without.ok) {
    fmt::print(stderr, "smpkit demo: DFU without the latency module failed: {}\n", without.error);
    return kExitFailure;
  }
  ble::LinkConfig lc = PhoneLink();
  lc.params.interval = 6;
  const ble::Capacity cap = ble::WriteCapacity(lc, 498);
  fmt::print("\nsummary ({} byte image, chunk {} B, window {}):\n", with.bytes, with.chunk,
             with.window_used);
  fmt::print("  {:<34} {:>10} {:>12} {:>14} {:>18}\n", "", "upload", "throughput", "whole DFU",
             "latency (upload)");
  auto row = [&](const char* name, const DemoResult& r) {
    fmt::print("  {:<34} {:>8.2f} s {:>7.1f} kB/s {:>12.2f} s {:>18}\n", name, r.upload_s,
               static_cast<double>(r.bytes) / r.upload_s / 1000, r.dfu_s, r.latency_during_upload);
  };
  row("BLE latency module on (seed)", with);
  row("BLE latency module off", without);
  fmt::print("  speed-up from the latency module: {:.2f}x; {} ble_smp_transfer_events\n",
             without.upload_s / with.upload_s, with.transfer_events);
  fmt::print("  link air-time capacity at 7.5 ms, 2M, DLE 251, MTU 498: {:.1f} kB/s\n",
             cap.bytes_per_second / 1000);
  return kExitOk;
}

}  // namespace

void RegisterDemoCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto opt = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand("demo", "DFU over simulated Bluetooth LE on an nRF Desktop device");
  demo->add_option("--image-size", opt->image_size, "app_update.bin body size in bytes")
      ->check(CLI::Range(4096u, 0x60000u));
  demo->add_option("--window", opt->window, "SMP requests in flight (pipelining)")
      ->check(CLI::Range(1, 8));
  demo->add_option("--seed", opt->seed, "simulation seed");
  demo->add_option("--config", opt->prj_conf, "prj.conf for the device (Kconfig syntax)");
  demo->add_flag("--tables", opt->tables, "print the modules' event propagation tables");
  demo->add_flag("--quiet", opt->quiet, "summary only");
  demo->callback([opt, exit_code] { *exit_code = RunDemo(*opt); });
}

}  // namespace smpkit::cli
