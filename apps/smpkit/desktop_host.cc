#include "desktop_host.h"

#include <fmt/core.h>

#include <array>
#include <cstdio>

#include "commands.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/file_flash.h"

namespace smpkit::cli {

std::unique_ptr<HostedDesktop> StartHostedDesktop(const std::string& who,
                                                  const std::string& prj_conf,
                                                  const std::string& flash_path, bool quiet,
                                                  int* exit_code) {
  auto fail = [&](int code, const std::string& msg) {
    fmt::print(stderr, "{}: {}\n", who, msg);
    *exit_code = code;
    return nullptr;
  };
  auto cfg = desktop::LoadPrjConf(prj_conf);
  if (!cfg.ok()) return fail(kExitBadInput, std::string(cfg.error().message()));
  for (const auto& w : cfg->warnings) fmt::print(stderr, "{}: {}\n", who, w);
  desktop::DesktopOptions o;
  o.config = *cfg;
  auto host = std::make_unique<HostedDesktop>();
  if (flash_path.empty()) {
    host->flash = std::make_unique<flash::RamFlash>(o.device.Geometry());
  } else {
    auto f = flash::FileFlash::Open(flash_path, o.device.Geometry(), {false});
    if (!f.ok()) {
      return fail(kExitBadInput, fmt::format("flash {}: {}", flash_path, f.error().message()));
    }
    host->flash = std::move(*f);
    GuardFlashFile(who, flash_path);
  }
  host->flash->set_timing(flash::Timing::Nrf52());
  host->dev = std::make_unique<desktop::DesktopDevice>(host->sched, *host->flash, o);
  desktop::DesktopDevice& dev = *host->dev;
  if (!quiet) {
    dev.SetLogger([](sim::Time t, desktop::ModuleId m, std::string_view msg) {
      fmt::print("{:>12}  {:<13} {}\n", sim::FormatTime(t), desktop::ModuleName(m), msg);
      std::fflush(stdout);
    });
  }
  std::array<uint8_t, 4> magic{};
  const auto& primary = dev.device().layout().images[0].primary;
  if (!primary.Read(0, magic).ok() || magic == std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}) {
    auto factory = device::MakeFactoryImage("1.0.0", 16 * 1024);
    if (!factory.ok() || !dev.Provision(*factory).ok())
      return fail(kExitFailure, "cannot provision the factory image");
  }
  if (auto b = dev.PowerOn(); !b.ok())
    return fail(kExitFailure, fmt::format("boot failed: {}", b.error().message()));
  // Finish booting (a pending swap, then the dfu module's background check/erase of the
  // update slot) before a client can connect, so that one connecting at once is not refused
  // by the lock.
  host->sched.RunUntilCondition([&] { return dev.running() && dev.status().dfu_flash_clean; },
                                host->sched.Now() + sim::Ms(600000));
  return host;
}

}  // namespace smpkit::cli
