#pragma once
// A simulated SMP device, sans-I/O: flash with an MCUboot layout, the bootloader model run at
// every start, and an SMP server with the OS and image groups. Transports (UDP, serial,
// BLE, in-process) feed it packets; the owner of the clock performs the restart the OS
// group asks for (Zephyr: CONFIG_MCUMGR_GRP_OS_RESET_MS, 250 ms after the response).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smpkit/flash/flash.h"
#include "smpkit/flash/partition.h"
#include "smpkit/flash/settings_store.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/mgmt/enum_group.h"
#include "smpkit/mgmt/fs_group.h"
#include "smpkit/mgmt/img_group.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/mgmt/settings_group.h"
#include "smpkit/mgmt/shell_group.h"
#include "smpkit/mgmt/stat_group.h"
#include "smpkit/smp/server.h"

namespace smpkit::device {

struct DeviceConfig {
  // Flash layout: bootloader, then one slot pair (nRF52840-like defaults, 4 KiB pages).
  uint32_t bootloader_size = 0xC000;
  uint32_t slot_size = 0x69000;
  uint32_t page_size = 4096;
  uint32_t write_align = 4;
  smp::ServerConfig server;  // buf_size / buf_count, legacy support, CBOR style
  mgmt::OsGroupConfig os;
  mgmt::ImgGroupConfig img;
  mcuboot::BootConfig boot;
  std::chrono::milliseconds reset_delay{250};
  // Register the OS group (an application may register the image group only, as the seed's
  // nRF Desktop smp module does; requests to an absent group are answered rc 8, as Zephyr does).
  bool os_group = true;
  // Register the statistics group (CONFIG_MCUMGR_GRP_STAT): the device's own counters.
  bool stat_group = false;
  mgmt::StatGroupConfig stat;
  // The application's own statistics groups, listed after the device's (must outlive it).
  const mgmt::StatSource* app_stats = nullptr;
  // Register the enumeration group (CONFIG_MCUMGR_GRP_ENUM): lists the groups above.
  bool enum_group = false;
  mgmt::EnumGroupConfig enumeration;
  // Register the file management group (CONFIG_MCUMGR_GRP_FS) over `file_system` (which
  // must outlive the device; files survive resets, as on a device's littlefs partition).
  bool fs_group = false;
  mgmt::FsGroupConfig fs;
  mgmt::FileSystem* file_system = nullptr;
  // A settings partition of this many bytes (an even number of pages) after the slots, where
  // the settings persist (Zephyr's storage_partition); 0: none.
  uint32_t settings_size = 0;
  // Register the settings management group (CONFIG_MCUMGR_GRP_SETTINGS) over the device's
  // settings: "app/<key>" (read, write, up to 32 keys of 256 bytes) and the read-only
  // "dev/boots" and "dev/version". Loaded from the partition at every boot, saved to it on
  // `save`; without a partition, delete answers KEY_NOT_FOUND and save keeps nothing.
  bool settings_group = false;
  mgmt::SettingsGroupConfig settings;
  // Register the shell management group (CONFIG_MCUMGR_GRP_SHELL) with the device's shell
  // commands: help, kernel uptime, kernel reboot, mcuboot, dfu.
  bool shell_group = false;
  mgmt::ShellGroupConfig shell;

  // Total flash needed for this layout.
  uint32_t FlashSize() const { return bootloader_size + 2 * slot_size + settings_size; }
  flash::Geometry Geometry() const { return {FlashSize(), page_size, write_align, 0xff}; }
};

// Application hooks (upload check, DFU events, reset veto) chained to the device.
class DeviceHooks : public mgmt::ImgHooks {
 public:
  // The owner's clock in milliseconds (monotonic), for the shell's `kernel uptime`.
  virtual uint64_t NowMs() { return 0; }
  virtual smp::Outcome OnResetRequest(bool force) {
    (void)force;
    return smp::Outcome::Success();
  }
};

class Device : public smp::ResponseSink {
 public:
  // `flash` must outlive the device and be at least config.FlashSize() bytes.
  Device(flash::Flash& flash, const DeviceConfig& config, DeviceHooks* hooks = nullptr);
  ~Device() override;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Writes `image` into the primary slot (first start of a fresh flash).
  // Errors: kNoSpace if it does not fit, flash errors.
  Status Provision(ConstByteSpan image);

  // Power on / reset: runs the bootloader (swap, revert, validation), then starts the SMP
  // server. Errors: the bootloader's (e.g. nothing bootable), flash errors.
  Result<mcuboot::BootReport> Boot();
  bool running() const { return running_; }

  // Handles one transport packet (one or more SMP frames). Responses go to `sink`.
  // Returns the number of frames answered. Allocation-free.
  size_t HandlePacket(ConstByteSpan packet, smp::ResponseSink& sink);

  // Set when an OS reset was accepted; the runner calls Boot() after reset_delay.
  bool reset_requested() const { return reset_requested_; }
  // What every runner asks after a packet: after how long it must call Boot() (an accepted
  // reset: reset_delay, CONFIG_MCUMGR_GRP_OS_RESET_MS), or nothing to do.
  std::optional<std::chrono::milliseconds> PendingReboot() const {
    if (!reset_requested_) return std::nullopt;
    return config_.reset_delay;
  }

  // Image state as the SMP image group reports it.
  Result<mcuboot::ImageStateList> ImageState();

  const DeviceConfig& config() const { return config_; }
  const flash::Layout& layout() const { return layout_; }
  mcuboot::Bootloader& bootloader() { return *boot_; }
  mgmt::ImgGroup& img_group() { return *img_; }
  smp::Server& server() { return *server_; }
  const mcuboot::BootReport& last_boot() const { return last_boot_; }
  uint32_t boot_count() const { return boot_count_; }

 private:
  class OsHooksImpl;
  class StatSourceImpl;
  class ShellImpl;
  class SettingsImpl;
  void SendResponse(ConstByteSpan) override {}

  flash::Flash& flash_;
  DeviceConfig config_;
  DeviceHooks default_hooks_;
  DeviceHooks* hooks_;
  flash::Layout layout_{};
  Status layout_status_;
  std::optional<mcuboot::Bootloader> boot_;
  std::unique_ptr<OsHooksImpl> os_hooks_;
  std::optional<mgmt::OsGroup> os_;
  std::optional<mgmt::ImgGroup> img_;
  std::unique_ptr<StatSourceImpl> stat_source_;
  std::optional<mgmt::StatGroup> stat_;
  std::optional<mgmt::EnumGroup> enum_;
  std::optional<mgmt::FsGroup> fs_;
  std::unique_ptr<ShellImpl> shell_commands_;
  std::optional<mgmt::ShellGroup> shell_;
  std::unique_ptr<SettingsImpl> settings_backend_;
  std::optional<mgmt::SettingsGroup> settings_;
  std::optional<smp::Registry> registry_;
  std::optional<smp::Server> server_;
  std::vector<uint8_t> scratch_;
  mcuboot::BootReport last_boot_{};
  uint32_t boot_count_ = 0;
  uint64_t boot_ms_ = 0;  // NowMs() at the last boot
  bool running_ = false;
  bool reset_requested_ = false;
  std::optional<mgmt::DateTime> rtc_;  // survives resets, like a real RTC
};

// Builds a bootable MCUboot image of `body_size` pseudo-random bytes with the given version
// ("1.0.0"), as the factory image for a fresh flash: hash-only, or signed with `key` (for a
// device that accepts signed images only). Errors: bad version, kCrypto (signing).
Result<std::vector<uint8_t>> MakeFactoryImage(std::string_view version, uint32_t body_size,
                                              uint32_t seed = 1,
                                              const mcuboot::PrivateKey* key = nullptr);

}  // namespace smpkit::device
