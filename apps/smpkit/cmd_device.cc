// `smpkit device`: the simulated device as a process, serving SMP over UDP (IPv4/IPv6) and
// over a serial console on a pseudo-terminal (io::SmpServer). Flash lives in a file that persists across
// restarts; the bootloader runs at every start and after every OS reset (250 ms after the
// response, as Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS).
#include <fmt/core.h>
#include <sys/stat.h>

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ble_sim_device.h"
#include "commands.h"
#include "smpkit/device/device.h"
#include "smpkit/device/dir_fs.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/flash/file_flash.h"
#include "smpkit/io/smp_server.h"
#include "smpkit/mcuboot/keys.h"

namespace smpkit::cli {

namespace {

struct DeviceOptions {
  std::string flash_path;
  std::string ble_sim;
  std::string prj_conf;
  std::vector<std::string> udp;
  bool serial_pty = false;
  uint32_t baud = 0;
  uint32_t buf_size = 2475;
  uint32_t buf_count = 4;
  // CONFIG_MCUMGR_TRANSPORT_UDP_MTU: datagrams above it are cut short (then answered rc 9).
  uint32_t udp_mtu = 1500;
  // CONFIG_UART_MCUMGR_RX_BUF_SIZE: console lines longer than this ('\n' included) are
  // dropped whole, as Zephyr's uart_mcumgr does.
  uint32_t serial_line_max = 128;
  uint32_t slot_size = 0x69000;
  std::vector<std::string> keys;
  std::string factory_version = "1.0.0";
  bool quiet = false;
  // Start-up and fault injection (power-cut sweeps through the real process).
  bool provision = false;
  std::string boot_mode = "swap-move";
  uint64_t fault_after_writes = UINT64_MAX;
  bool fault_tear = false;
  bool exit_after_boot = false;
  bool image_check = false;  // CONFIG_IMG_ENABLE_IMAGE_CHECK (n by default, as in Zephyr)
  bool stat = true;          // CONFIG_MCUMGR_GRP_STAT (smp_svr has it)
  bool enumeration = true;   // CONFIG_MCUMGR_GRP_ENUM
  // CONFIG_MCUMGR_GRP_FS over a sandbox directory (default: FLASH.fs beside --flash; in RAM
  // without --flash), mounted at /lfs1, with a quota on the bytes its files hold.
  bool fs = true;
  bool shell = true;  // CONFIG_MCUMGR_GRP_SHELL
  bool settings = true;  // CONFIG_MCUMGR_GRP_SETTINGS, over a settings partition
  uint32_t settings_size = 0x2000;
  std::string fs_root;
  uint64_t fs_quota = 64ull << 20;
};

// Exit status of a process stopped by --fault-after-writes (a simulated power cut).
constexpr int kExitPowerCut = 9;
// 65,535 - 8 (UDP header) - 20 (IPv4 header).
constexpr uint32_t kMaxUdpPayload = 65507;

// The simulated device as the server's packet handler: an accepted OS reset reboots it
// reset_delay (CONFIG_MCUMGR_GRP_OS_RESET_MS) after the answer.
class DeviceHandler final : public io::PacketHandler {
 public:
  DeviceHandler(device::Device& dev, bool quiet) : dev_(dev), quiet_(quiet) {}
  void HandlePacket(ConstByteSpan packet, smp::ResponseSink& sink) override {
    dev_.HandlePacket(packet, sink);
  }
  std::optional<std::chrono::milliseconds> RestartRequested() override {
    return dev_.PendingReboot();
  }
  Status Restart() override {
    auto r = dev_.Boot();
    if (!r.ok()) {
      fmt::print(stderr, "device: boot failed: {}\n", r.error().message());
      return r.error();
    }
    if (!quiet_) PrintBoot(dev_);
    return Ok();
  }

  static void PrintBoot(device::Device& dev) {
    const auto& img = dev.last_boot().images[0];
    char v[32];
    fmt::print("boot #{}: running {} from slot {} (swap: {}{})", dev.boot_count(),
               img.version.Format(v), img.active_slot, mcuboot::SwapTypeName(img.swap),
               img.resumed ? ", resumed" : "");
    if (img.rejected != mcuboot::ImageFault::kNone) {
      fmt::print(", rejected slot {}: {}", img.rejected_slot, img.rejection.message());
    }
    fmt::print("\n");
    std::fflush(stdout);
  }

 private:
  device::Device& dev_;
  bool quiet_;
};

int RunDevice(const DeviceOptions& opt) {
  device::DeviceConfig config;
  config.slot_size = opt.slot_size;
  config.settings_size = opt.settings_size;
  config.server.buf_size = opt.buf_size;
  config.server.buf_count = opt.buf_count;
  config.img.image_check = opt.image_check;
  config.stat_group = opt.stat;
  config.enum_group = opt.enumeration;
  if (opt.boot_mode == "overwrite-only") {
    config.boot.mode = mcuboot::BootMode::kOverwriteOnly;
  } else if (opt.boot_mode != "swap-move") {
    fmt::print(stderr, "smpkit device: --boot-mode '{}' (want swap-move or overwrite-only)\n",
               opt.boot_mode);
    return kExitUsage;
  }
  config.os.taskstat = true;  // the CLI's taskstat and datetime commands have a server
  config.os.datetime = true;
  // --key FILE: PEM, public or private. The bootloader accepts images signed with any of
  // them; the first private key signs the factory image of a fresh flash.
  std::optional<mcuboot::PrivateKey> signing_key;
  for (const auto& path : opt.keys) {
    auto file = InputFile::Open(path);
    if (!file.ok()) {
      fmt::print(stderr, "smpkit device: --key {}\n", file.error().message());
      return kExitBadInput;
    }
    const std::string_view pem = AsString(file->bytes());
    auto key = mcuboot::PublicKey::FromPem(pem);
    if (!key.ok()) {
      fmt::print(stderr, "smpkit device: --key {}: not a PEM public or private key: {}\n", path,
                 key.error().message());
      return kExitBadInput;
    }
    if (!signing_key) {
      auto priv = mcuboot::PrivateKey::FromPem(pem);
      if (priv.ok()) signing_key = std::move(*priv);
    }
    config.boot.keys.push_back(std::move(*key));
  }
  std::unique_ptr<flash::Flash> flash;
  // A factory image is written only into a flash known to be new (RAM, or a file this run
  // created) or on --provision; never on a guess from its content: an erased primary slot
  // is a state swap-move passes through, and a power cut there must resume, not re-provision.
  bool fresh = true;
  if (opt.flash_path.empty()) {
    flash = std::make_unique<flash::RamFlash>(config.Geometry());
  } else {
    auto f = flash::FileFlash::Open(opt.flash_path, config.Geometry(), {false});
    if (!f.ok()) {
      // A file made before the settings partition existed is exactly that much smaller.
      struct stat st {};
      const bool before_settings =
          f.error().code() == Errc::kCorrupt && ::stat(opt.flash_path.c_str(), &st) == 0 &&
          opt.settings_size != 0 &&
          static_cast<uint64_t>(st.st_size) + opt.settings_size == config.FlashSize();
      fmt::print(stderr, "smpkit device: flash {}: {}{}\n", opt.flash_path, f.error().message(),
                 before_settings ? " (a file made without the settings partition: give "
                                   "--settings-size 0, or start from a new file)"
                                 : "");
      return kExitBadInput;
    }
    fresh = (*f)->created();
    flash = std::move(*f);
    GuardFlashFile("smpkit device", opt.flash_path);
  }
  if (opt.fault_after_writes != UINT64_MAX) {
    // Counted from the start of the process: after that many writes and page erases the
    // power goes, before the next one starts (or, with --fault-tear, in the middle of it),
    // and the process stops on the spot (no clean-up).
    if (opt.fault_tear) {
      flash->CutPowerAtMutation(opt.fault_after_writes);
    } else {
      flash->CutPowerBeforeMutation(opt.fault_after_writes);
    }
    flash->set_power_cut_handler([] {
      static const char kMsg[] = "smpkit device: power cut (--fault-after-writes)\n";
      (void)!write(2, kMsg, sizeof(kMsg) - 1);
      _exit(kExitPowerCut);
    });
  }
  std::unique_ptr<mgmt::FileSystem> files;
  std::string files_where = "RAM";
  if (opt.fs) {
    const std::string root =
        !opt.fs_root.empty() ? opt.fs_root
                             : (opt.flash_path.empty() ? std::string() : opt.flash_path + ".fs");
    if (root.empty()) {
      files = std::make_unique<mgmt::RamFileSystem>(opt.fs_quota);
    } else {
      auto d = device::DirFileSystem::Open(root, opt.fs_quota);
      if (!d.ok()) {
        fmt::print(stderr, "smpkit device: --fs-root {}: {}\n", root, d.error().message());
        return kExitBadInput;
      }
      files_where = (*d)->root();
      files = std::move(*d);
    }
    config.fs_group = true;
    config.file_system = files.get();
  }
  // The process's clock, for the shell's `kernel uptime`.
  class ProcessHooks : public device::DeviceHooks {
   public:
    uint64_t NowMs() override {
      return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    }
  } hooks;
  config.shell_group = opt.shell;
  config.settings_group = opt.settings;
  device::Device dev(*flash, config, &hooks);
  if (fresh || opt.provision) {
    if (!config.boot.keys.empty() && !signing_key) {
      fmt::print(stderr,
                 "smpkit device: a fresh flash needs a factory image signed with one of the "
                 "--key keys: give a private key (--key PRIVATE.pem), or a flash file that "
                 "already holds a signed image\n");
      return kExitBadInput;
    }
    auto factory = device::MakeFactoryImage(opt.factory_version, 16 * 1024, 1,
                                            signing_key ? &*signing_key : nullptr);
    if (!factory.ok() || !dev.Provision(*factory).ok()) {
      fmt::print(stderr, "smpkit device: cannot provision the factory image\n");
      return kExitFailure;
    }
    if (!opt.quiet) {
      fmt::print("flash: provisioned factory image {}{}\n", opt.factory_version,
                 signing_key ? " (signed)" : "");
    }
  }
  auto boot = dev.Boot();
  if (!boot.ok()) {
    fmt::print(stderr, "smpkit device: boot failed: {}{}\n", boot.error().message(),
               opt.flash_path.empty() ? ""
                                      : " (an existing flash file is never re-provisioned on "
                                        "its own; --provision writes the factory image)");
    return kExitFailure;
  }
  if (!opt.quiet) {
    DeviceHandler::PrintBoot(dev);
    if (files) {
      fmt::print("fs: {} served as {} (quota {} bytes)\n", files_where, config.fs.mount,
                 opt.fs_quota);
    }
  }
  if (opt.exit_after_boot) return kExitOk;
  asio::io_context io;
  DeviceHandler handler(dev, opt.quiet);
  io::ServerOptions so;
  so.udp = opt.udp;
  so.serial_pty = opt.serial_pty;
  so.baud = opt.baud;
  so.buf_size = opt.buf_size;
  so.buf_count = opt.buf_count;
  so.udp_mtu = opt.udp_mtu;
  so.serial_line_max = opt.serial_line_max;
  io::SmpServer server(io, handler, std::move(so));
  if (auto st = server.Start(); !st.ok()) {
    fmt::print(stderr, "smpkit device: {}\n", st.error().message());
    return kExitBadInput;
  }
  for (const auto& ep : server.udp_endpoints()) {
    if (ep.address().is_v6()) {
      fmt::print("udp: [{}]:{}\n", ep.address().to_string(), ep.port());
    } else {
      fmt::print("udp: {}:{}\n", ep.address().to_string(), ep.port());
    }
  }
  if (!server.pty_path().empty()) fmt::print("serial: {}\n", server.pty_path());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (!opt.quiet) fmt::print("device: signal {}, shutting down\n", sig);
    io.stop();
  });
  std::fflush(stdout);
  io.run();
  return server.restart_failed() ? kExitFailure : kExitOk;
}

}  // namespace

void RegisterDeviceCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto opt = std::make_shared<DeviceOptions>();
  auto* cmd = app.add_subcommand("device", "run a simulated SMP device (UDP and/or serial pty)");
  cmd->add_option("--flash", opt->flash_path, "flash image file (created on first run)");
  cmd->add_option("--udp", opt->udp, "serve UDP on HOST:PORT or [V6]:PORT (repeatable)");
  cmd->add_flag("--serial-pty", opt->serial_pty, "serve the SMP console on a new pty");
  cmd->add_option("--baud", opt->baud, "emulate this serial line rate (bits/s)");
  cmd->add_option("--buf-size", opt->buf_size,
                  "SMP buffer size: CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE (CONFIG_MCUMGR_BUF_SIZE "
                  "in older releases and the seed prj.conf)")
      ->check(CLI::Range(64u, 65535u));
  cmd->add_option("--buf-count", opt->buf_count,
                  "SMP buffer count: CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT (CONFIG_MCUMGR_BUF_COUNT "
                  "in older releases)")
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--udp-mtu", opt->udp_mtu,
                  "CONFIG_MCUMGR_TRANSPORT_UDP_MTU: larger datagrams are cut short and "
                  "answered rc 9, as Zephyr does")
      ->check(CLI::Range(64u, 65507u))
      ->capture_default_str();
  cmd->add_option("--serial-line-max", opt->serial_line_max,
                  "CONFIG_UART_MCUMGR_RX_BUF_SIZE: longer console lines ('\\n' included) are "
                  "dropped whole, as Zephyr does")
      ->check(CLI::Range(8u, 65536u));
  cmd->add_option("--slot-size", opt->slot_size, "image slot size in bytes (4 KiB multiple)")
      ->check(CLI::Range(0x8000u, 0x800000u));
  cmd->add_option("--key", opt->keys,
                  "key file (PEM, public or private; repeatable): images must be signed with one "
                  "of them; a private key also signs the factory image of a fresh flash");
  cmd->add_option("--factory-version", opt->factory_version, "version of the factory image");
  cmd->add_flag("--quiet", opt->quiet, "print only the endpoints");
  cmd->add_flag("--provision", opt->provision,
                "write the factory image into the primary slot even if the flash file exists "
                "(a new file is always provisioned; an existing one never on its own)");
  cmd->add_option("--boot-mode", opt->boot_mode,
                  "MCUboot upgrade mode: swap-move or overwrite-only")
      ->check(CLI::IsMember({"swap-move", "overwrite-only"}));
  cmd->add_option("--fault-after-writes", opt->fault_after_writes,
                  "fault injection: after N flash writes/page erases of this process, cut the "
                  "power before the next one and exit at once with status 9");
  cmd->add_flag("--fault-tear", opt->fault_tear,
                "with --fault-after-writes: the cut tears the next operation (half a write, "
                "a garbage page) instead of coming before it");
  cmd->add_flag("!--no-enum", opt->enumeration,
                "leave out the enumeration group (CONFIG_MCUMGR_GRP_ENUM=n): its requests get rc 8");
  cmd->add_flag("!--no-fs", opt->fs, "leave the file management group (8) out");
  cmd->add_flag("!--no-shell", opt->shell, "leave the shell management group (9) out");
  cmd->add_flag("!--no-settings", opt->settings, "leave the settings management group (3) out");
  cmd->add_option("--settings-size", opt->settings_size,
                  "bytes of the settings partition after the slots (an even number of 4 KiB "
                  "pages; 0: none)")
      ->capture_default_str();
  cmd->add_option("--fs-root", opt->fs_root,
                  "directory the file management group serves as /lfs1 (default: FLASH.fs "
                  "beside --flash, RAM without it); nothing outside it is read or written");
  cmd->add_option("--fs-quota", opt->fs_quota, "bytes the served files may hold in all")
      ->capture_default_str();
  cmd->add_flag("!--no-stat", opt->stat,
                "leave out the statistics group (CONFIG_MCUMGR_GRP_STAT=n): its requests get rc 8");
  cmd->add_flag("--image-check,!--no-image-check", opt->image_check,
                "CONFIG_IMG_ENABLE_IMAGE_CHECK: SHA-256 of the uploaded image against the "
                "client's sha, answered as \"match\" (default off, as Zephyr's smp_svr)");
  cmd->add_flag("--exit-after-boot", opt->exit_after_boot,
                "run the bootloader, print what boots, and exit (no transports)");
  cmd->add_option("--ble-sim", opt->ble_sim,
                  "serve a simulated nRF Desktop device over the BLE link model on this UNIX "
                  "socket, in real time (clients: --conn blesim:PATH)");
  cmd->add_option("--config", opt->prj_conf, "prj.conf of the nRF Desktop device (--ble-sim)");
  cmd->callback([opt, exit_code] {
    if (!opt->ble_sim.empty()) {
      if (!opt->udp.empty() || opt->serial_pty) {
        fmt::print(stderr, "smpkit device: --ble-sim runs alone (no --udp or --serial-pty)\n");
        *exit_code = kExitUsage;
        return;
      }
      *exit_code = RunBleSimDevice({opt->ble_sim, opt->prj_conf, opt->flash_path, opt->quiet});
      return;
    }
    if (opt->udp.empty() && !opt->serial_pty) opt->udp.push_back("127.0.0.1:1337");
    // An answer is at most --buf-size bytes; over UDP it must fit one datagram (65,507
    // bytes of payload over IPv4), or it could only be dropped. Refused up front instead.
    if (!opt->udp.empty() && opt->buf_size > kMaxUdpPayload) {
      fmt::print(stderr,
                 "smpkit device: --buf-size {} exceeds the largest UDP datagram payload ({}): "
                 "answers that large could not be sent over --udp\n",
                 opt->buf_size, kMaxUdpPayload);
      *exit_code = kExitUsage;
      return;
    }
    if (opt->slot_size % 4096 != 0) {
      fmt::print(stderr, "smpkit device: --slot-size must be a multiple of 4096\n");
      *exit_code = kExitUsage;
      return;
    }
    if (opt->settings_size % 8192 != 0) {
      fmt::print(stderr, "smpkit device: --settings-size must be an even number of 4096-byte "
                         "pages (a multiple of 8192), or 0\n");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = RunDevice(*opt);
  });
}

}  // namespace smpkit::cli
