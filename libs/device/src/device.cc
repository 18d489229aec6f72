#include "smpkit/device/device.h"

#include <cstdio>
#include <random>

#include "smpkit/mcuboot/image_create.h"

namespace smpkit::device {

class Device::OsHooksImpl : public mgmt::OsHooks {
 public:
  explicit OsHooksImpl(Device& d) : d_(d) {}
  smp::Outcome OnResetRequest(bool force, uint8_t) override {
    return d_.hooks_->OnResetRequest(force);
  }
  void ScheduleReset(uint8_t) override { d_.reset_requested_ = true; }
  // The RTC keeps the time it was set to across resets. Sans-I/O, the simulated device has
  // no clock of its own: it reads back what was set last.
  bool RtcGet(mgmt::DateTime* out) override {
    if (!d_.rtc_) return false;
    *out = *d_.rtc_;
    return true;
  }
  bool RtcSet(const mgmt::DateTime& dt) override {
    d_.rtc_ = dt;
    return true;
  }
  // The threads of a small Zephyr application (for task statistics).
  std::span<const mgmt::TaskInfo> Tasks() override {
    static constexpr mgmt::TaskInfo kTasks[] = {
        {"main", 0, 0, 0}, {"sysworkq", -1, 1, 0}, {"mcumgr_smp", 5, 2, 0}, {"idle", 15, 3, 0}};
    return kTasks;
  }

 private:
  Device& d_;
};

// The device's statistics (group 2), counted since the last boot, as Zephyr's RAM counters:
//   smp:   frames taken and answered with an error, in all and per management group;
//   flash: flash reads, writes and page erases, and their bytes;
//   img:   image bytes the uploads wrote (what the flash took while the image group ran).
class Device::StatSourceImpl : public mgmt::StatSource {
 public:
  explicit StatSourceImpl(Device& d) : d_(d), base_(d.flash_.stats()) {}
  size_t GroupCount() const override { return 3 + (App() ? App()->GroupCount() : 0); }
  std::string_view GroupName(size_t g) const override {
    static constexpr std::string_view kNames[] = {"smp", "flash", "img"};
    if (g >= 3) return App() ? App()->GroupName(g - 3) : std::string_view();
    return kNames[g];
  }
  size_t FieldCount(size_t g) const override {
    static constexpr size_t kCounts[] = {2 + 2 * kSmpGroups, 6, 1};
    if (g >= 3) return App() ? App()->FieldCount(g - 3) : 0;
    return kCounts[g];
  }
  mgmt::StatField Field(size_t g, size_t i) const override {
    if (g >= 3) return App()->Field(g - 3, i);
    auto u32 = [](uint64_t v) { return static_cast<uint32_t>(v); };  // Zephyr's counters wrap
    if (g == 0) {
      const smp::ServerStats& st = d_.server_->stats();
      if (i == 0) return {"requests", st.requests};
      if (i == 1) return {"errors", st.errors};
      static constexpr std::string_view kPerGroup[kSmpGroups][2] = {
          {"os_requests", "os_errors"}, {"img_requests", "img_errors"},
          {"stat_requests", "stat_errors"}};
      static constexpr uint16_t kIds[kSmpGroups] = {0, 1, 2};
      const size_t k = (i - 2) / 2;
      const bool err = (i - 2) % 2 == 1;
      return {kPerGroup[k][err], err ? st.group_errors[kIds[k]] : st.group_requests[kIds[k]]};
    }
    const flash::Stats now = d_.flash_.stats();
    if (g == 1) {
      switch (i) {
        case 0: return {"reads", u32(now.reads - base_.reads)};
        case 1: return {"writes", u32(now.writes - base_.writes)};
        case 2: return {"page_erases", u32(now.page_erases - base_.page_erases)};
        case 3: return {"bytes_read", u32(now.bytes_read - base_.bytes_read)};
        case 4: return {"bytes_written", u32(now.bytes_written - base_.bytes_written)};
        default: return {"operations", u32(now.operations - base_.operations)};
      }
    }
    return {"upload_bytes", u32(d_.img_->uploaded_bytes())};
  }

 private:
  static constexpr size_t kSmpGroups = 3;
  const mgmt::StatSource* App() const { return d_.config_.app_stats; }
  Device& d_;
  flash::Stats base_;
};

// The device's shell (group 9's commands), in the manner of Zephyr's kernel and mcuboot
// shell modules.
class Device::ShellImpl : public mgmt::ShellCommands {
 public:
  explicit ShellImpl(Device& d) : d_(d) {}
  std::optional<int> Execute(std::span<const std::string_view> argv,
                             mgmt::ShellOutput& out) override {
    const std::string_view cmd = argv[0];
    if (cmd == "help") {
      out.Print("Available commands:\n  dfu      :Image upload state\n  help     :Prints the "
                "help message.\n  kernel   :Kernel commands\n  mcuboot  :MCUboot commands\n");
      return 0;
    }
    if (cmd == "kernel") return Kernel(argv, out);
    if (cmd == "mcuboot") return Mcuboot(argv, out);
    if (cmd == "dfu") return Dfu(argv, out);
    return std::nullopt;
  }

 private:
  int WrongCount(std::string_view cmd, mgmt::ShellOutput& out) {
    out.Printf("%.*s: wrong parameter count\n", static_cast<int>(cmd.size()), cmd.data());
    return mgmt::kShellEinval;
  }

  int Kernel(std::span<const std::string_view> argv, mgmt::ShellOutput& out) {
    if (argv.size() < 2) {
      out.Print("kernel - Kernel commands\nSubcommands:\n  reboot  :Reboot\n  uptime  :Kernel "
                "uptime\n");
      return mgmt::kShellHelpPrinted;
    }
    if (argv[1] == "uptime") {
      if (argv.size() != 2) return WrongCount("uptime", out);
      const uint64_t now = d_.hooks_->NowMs();
      out.Printf("Uptime: %llu ms\n",
                 static_cast<unsigned long long>(now >= d_.boot_ms_ ? now - d_.boot_ms_ : 0));
      return 0;
    }
    if (argv[1] == "reboot") {
      if (argv.size() != 3 || (argv[2] != "cold" && argv[2] != "warm")) {
        out.Print("reboot - Reboot\nSubcommands:\n  cold  :Cold reboot\n  warm  :Warm reboot\n");
        return argv.size() == 2 ? mgmt::kShellHelpPrinted : mgmt::kShellEinval;
      }
      // sys_reboot() does not return: the answer never leaves.
      d_.reset_requested_ = true;
      out.DropAnswer();
      return 0;
    }
    out.Printf("kernel: unknown parameter: %.*s\n", static_cast<int>(std::min<size_t>(argv[1].size(), 64)),
               argv[1].data());
    return mgmt::kShellEinval;
  }

  // Each slot's image, as the image group's state read sees it.
  int Mcuboot(std::span<const std::string_view> argv, mgmt::ShellOutput& out) {
    if (argv.size() != 1) return WrongCount("mcuboot", out);
    auto state = d_.boot_->ReadImageState();
    if (!state.ok()) {
      out.Print("failed to read the image state\n");
      return -5;  // -EIO
    }
    if (state->count == 0) out.Print("no images\n");
    for (const auto& s : state->view()) {
      out.Printf("image %u slot %u: %u.%u.%u+%u%s%s%s%s\n", s.image, s.slot, s.version.major,
                 s.version.minor, s.version.revision, static_cast<unsigned>(s.version.build),
                 s.active ? " active" : "", s.confirmed ? " confirmed" : "",
                 s.pending ? (s.permanent ? " pending(perm)" : " pending(test)") : "",
                 s.bootable ? "" : " not-bootable");
    }
    return 0;
  }

  int Dfu(std::span<const std::string_view> argv, mgmt::ShellOutput& out) {
    if (argv.size() != 1) return WrongCount("dfu", out);
    const mgmt::ImgGroup& img = *d_.img_;
    if (img.upload_in_progress()) {
      out.Printf("upload in progress: %u bytes received\n", img.upload_offset());
    } else {
      out.Print("upload: idle\n");
    }
    out.Printf("boots: %u\n", d_.boot_count_);
    return 0;
  }

  Device& d_;
};

// The device's settings (group 3's backend), in the manner of Zephyr's settings subsystem:
// handlers by root name ("app": any key, read and write; "dev": read-only facts), runtime
// values in RAM, persisted to the settings partition by save and read back by load (at every
// boot too).
class Device::SettingsImpl : public mgmt::SettingsBackend {
 public:
  explicit SettingsImpl(Device& d) : d_(d) {
    if (d.layout_.storage.present()) {
      auto s = flash::SettingsStore::Open(d.layout_.storage);
      if (s.ok()) store_ = std::move(*s);
    }
  }
  int RuntimeGet(std::string_view name, ByteSpan out) override {
    std::string_view key;
    const Root root = Lookup(name, &key);
    if (root == Root::kNone) return kEinval;
    if (root == Root::kDev) {
      char text[32];
      int n = -1;
      if (key == "boots") {
        n = std::snprintf(text, sizeof(text), "%u", d_.boot_count_);
      } else if (key == "version") {
        auto v = d_.last_boot_.images[0].version;
        n = std::snprintf(text, sizeof(text), "%u.%u.%u+%u", v.major, v.minor, v.revision,
                          static_cast<unsigned>(v.build));
      }
      if (n < 0) return kEnoent;
      return Copy(ConstByteSpan(reinterpret_cast<const uint8_t*>(text), static_cast<size_t>(n)), out);
    }
    const Entry* e = Find(name);
    if (!e) return kEnoent;
    return Copy(ConstByteSpan(e->value.data(), e->len), out);
  }
  int RuntimeSet(std::string_view name, ConstByteSpan value) override {
    std::string_view key;
    const Root root = Lookup(name, &key);
    if (root == Root::kNone) return kEinval;
    if (root == Root::kDev) return kEnotsup;
    if (key.empty()) return kEnoent;
    if (value.size() > kValueMax || name.size() > kNameMax) return kEinval;
    Entry* e = Find(name);
    if (!e) {
      for (auto& f : entries_) {
        if (!f.used) {
          e = &f;
          break;
        }
      }
      if (!e) return kEnomem;
      e->used = true;
      e->name_len = static_cast<uint8_t>(name.size());
      std::copy(name.begin(), name.end(), e->name.begin());
    }
    e->len = static_cast<uint16_t>(value.size());
    std::copy(value.begin(), value.end(), e->value.begin());
    return 0;
  }
  int Delete(std::string_view name) override {
    if (!store_) return kEnoent;  // no storage backend registered
    return store_->Delete(name).ok() ? 0 : kEinval;
  }
  int Commit() override { return 0; }
  int Load() override {
    if (!store_) return kEnoent;
    Status st = store_->ForEach([this](std::string_view n, ConstByteSpan v) {
      std::string_view key;
      if (Lookup(n, &key) == Root::kApp) (void)RuntimeSet(n, v);
    });
    return st.ok() ? 0 : kEinval;
  }
  int Save() override {
    if (!store_) return kEnoent;
    for (const auto& e : entries_) {
      if (!e.used) continue;
      if (!store_->Save(std::string_view(e.name.data(), e.name_len), ConstByteSpan(e.value.data(), e.len)).ok()) {
        return kEnomem;
      }
    }
    return 0;
  }

 private:
  static constexpr size_t kNameMax = 63;
  static constexpr size_t kValueMax = flash::SettingsStore::kMaxValue;
  enum class Root : uint8_t { kNone, kApp, kDev };
  struct Entry {
    bool used = false;
    uint8_t name_len = 0;
    uint16_t len = 0;
    std::array<char, kNameMax> name{};
    std::array<uint8_t, kValueMax> value{};
  };
  // The handler for `name` (its root, up to the first '/'), and the rest as the key.
  static Root Lookup(std::string_view name, std::string_view* key) {
    const size_t slash = name.find('/');
    const std::string_view root = name.substr(0, slash);
    *key = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (root == "app") return Root::kApp;
    if (root == "dev") return Root::kDev;
    return Root::kNone;
  }
  Entry* Find(std::string_view name) {
    for (auto& e : entries_) {
      if (e.used && std::string_view(e.name.data(), e.name_len) == name) return &e;
    }
    return nullptr;
  }
  static int Copy(ConstByteSpan v, ByteSpan out) {
    const size_t n = std::min(v.size(), out.size());
    std::copy(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), out.begin());
    return static_cast<int>(n);
  }

  Device& d_;
  std::optional<flash::SettingsStore> store_;
  std::array<Entry, 32> entries_{};
};

Device::Device(flash::Flash& flash, const DeviceConfig& config, DeviceHooks* hooks)
    : flash_(flash), config_(config), hooks_(hooks ? hooks : &default_hooks_) {
  auto layout = flash::MakeLayout(
      flash_, {config_.bootloader_size, config_.slot_size, 1, 0, config_.settings_size});
  if (layout.ok()) {
    layout_ = *layout;
  } else {
    layout_status_ = layout.error();
  }
  scratch_.resize(config_.server.buf_size);
  // A slot of more sectors than BOOT_MAX_IMG_SECTORS could not swap: build the bootloader
  // for this layout as Zephyr's CONFIG_BOOT_MAX_IMG_SECTORS_AUTO does (table sized from the
  // partition). Smaller slots keep MCUboot's default of 128 (and their trailer layout).
  if (config_.page_size != 0 && config_.boot.trailer.max_sectors != 0 &&
      config_.slot_size / config_.page_size > config_.boot.trailer.max_sectors) {
    config_.boot.trailer.max_sectors = 0;
  }
}

Device::~Device() = default;

Status Device::Provision(ConstByteSpan image) {
  SMPKIT_TRY(layout_status_);
  const flash::Partition& primary = layout_.images[0].primary;
  if (image.size() > primary.size()) {
    return Error::Format(Errc::kNoSpace, "image of %zu bytes does not fit the %u-byte slot",
                         image.size(), primary.size());
  }
  SMPKIT_TRY(primary.EraseAll());
  // The last write unit, if the image ends inside it, keeps its erased bytes after the image.
  return primary.WriteUnaligned(0, image);
}

Result<mcuboot::BootReport> Device::Boot() {
  SMPKIT_TRY(layout_status_);
  running_ = false;
  reset_requested_ = false;
  // A reset loses all RAM state: tear the server down and run the bootloader afresh.
  server_.reset();
  registry_.reset();
  enum_.reset();
  fs_.reset();
  shell_.reset();
  shell_commands_.reset();
  settings_.reset();
  settings_backend_.reset();
  stat_.reset();
  stat_source_.reset();
  img_.reset();
  os_.reset();
  boot_.reset();
  boot_.emplace(std::span<const flash::SlotPair>(layout_.images.data(), 1), config_.boot);
  SMPKIT_ASSIGN_OR_RETURN(last_boot_, boot_->Boot());
  ++boot_count_;
  boot_ms_ = hooks_->NowMs();
  os_hooks_ = std::make_unique<OsHooksImpl>(*this);
  os_.emplace(config_.os, config_.server, *os_hooks_);
  img_.emplace(*boot_, std::span<const flash::SlotPair>(layout_.images.data(), 1), config_.img,
               *hooks_);
  registry_.emplace();
  // In Zephyr's order: groups register at start-up from MCUMGR_HANDLER_DEFINE's iterable
  // section, which the linker sorts by handler name (enum_mgmt, fs_mgmt, img_mgmt, os_mgmt,
  // settings_mgmt, shell_mgmt, stat_mgmt); the enumeration group lists them in that order.
  if (config_.enum_group) {
    enum_.emplace(config_.enumeration, *registry_);
    SMPKIT_TRY(registry_->Register(*enum_));
  }
  if (config_.fs_group) {
    if (config_.file_system == nullptr) {
      return Error(Errc::kInvalidArgument, "the file management group needs a file system");
    }
    fs_.emplace(config_.fs, config_.server, *config_.file_system);
    SMPKIT_TRY(registry_->Register(*fs_));
  }
  SMPKIT_TRY(registry_->Register(*img_));
  if (config_.os_group) SMPKIT_TRY(registry_->Register(*os_));
  if (config_.settings_group) {
    // RAM starts empty; the application loads its settings at start-up (settings_load).
    settings_backend_ = std::make_unique<SettingsImpl>(*this);
    (void)settings_backend_->Load();
    settings_.emplace(config_.settings, *settings_backend_);
    SMPKIT_TRY(registry_->Register(*settings_));
  }
  if (config_.shell_group) {
    shell_commands_ = std::make_unique<ShellImpl>(*this);
    shell_.emplace(config_.shell, *shell_commands_);
    SMPKIT_TRY(registry_->Register(*shell_));
  }
  if (config_.stat_group) {
    stat_source_ = std::make_unique<StatSourceImpl>(*this);
    stat_.emplace(config_.stat, *stat_source_);
    SMPKIT_TRY(registry_->Register(*stat_));
  }
  server_.emplace(*registry_, config_.server);
  running_ = true;
  return last_boot_;
}

size_t Device::HandlePacket(ConstByteSpan packet, smp::ResponseSink& sink) {
  if (!running_ || reset_requested_) return 0;  // rebooting: packets are lost
  return server_->Process(packet, scratch_, sink);
}

Result<mcuboot::ImageStateList> Device::ImageState() {
  if (!boot_) return Error(Errc::kBadState, "device has not booted");
  return boot_->ReadImageState();
}

Result<std::vector<uint8_t>> MakeFactoryImage(std::string_view version, uint32_t body_size,
                                              uint32_t seed, const mcuboot::PrivateKey* key) {
  SMPKIT_ASSIGN_OR_RETURN(mcuboot::ImageVersion v, mcuboot::ImageVersion::Parse(version));
  mcuboot::CreateOptions options;
  options.header_size = 0x200;
  options.pad_header = true;
  options.version = v;
  options.key = key;
  // The header area (filled in by CreateImage) followed by the pseudo-random body.
  std::vector<uint8_t> payload(0x200 + static_cast<size_t>(body_size), 0xff);
  std::mt19937 rng(seed);
  for (size_t i = 0x200; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(rng());
  return mcuboot::CreateImage(payload, options);
}

}  // namespace smpkit::device
