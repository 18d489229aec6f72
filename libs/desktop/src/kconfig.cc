#include "smpkit/desktop/kconfig.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace smpkit::desktop {
namespace {

constexpr int64_t kU16 = 0xffff;

// Every symbol the parser accepts, with what it does here and where it comes from. `acts`:
// flipping it changes what the simulated device does (a test per symbol checks that);
// otherwise it is accepted because real prj.conf files carry it, and a start-up warning says it
// has no effect in this simulation. Era-dependent effects are checked in ResolveConfig.
constexpr auto B = SymbolType::kBool;
constexpr auto I = SymbolType::kInt;
constexpr auto S = SymbolType::kString;
constexpr std::array kSymbols = {
    // Modules.
    SymbolInfo{"DESKTOP_SMP_ENABLE", B, 0, 0, {}, true,
               "the seed's smp module (Era A): image group only, DFU lock on the first chunk",
               "nrf_desktop src/modules/Kconfig.smp, smp.c (2020)"},
    SymbolInfo{"DESKTOP_DFU_MCUMGR_ENABLE", B, 0, 0, {}, true,
               "dfu_mcumgr (newer era, C1): image + OS groups, 5 s lock hold, owner callbacks",
               "nrf_desktop Kconfig.dfu_mcumgr, dfu_mcumgr.c"},
    SymbolInfo{"DESKTOP_DFU_MCUMGR_MCUBOOT_DIRECT_XIP", B, 0, 0, {}, true,
               "MCUboot direct-XIP: no confirm at boot, the other slot is erased",
               "nrf_desktop Kconfig.dfu_mcumgr"},
    SymbolInfo{"DESKTOP_DFU_LOCK", B, 0, 0, {}, true,
               "newer era: the DFU lock between dfu and dfu_mcumgr (Era A: always on, warned)",
               "nrf_desktop src/util/Kconfig.dfu_lock"},
    SymbolInfo{"CAF_BLE_SMP", B, 0, 0, {}, true,
               "Era B's CAF ble_smp module: refused (not simulated)",
               "sdk-nrf subsys/caf/modules/Kconfig.ble_smp"},
    SymbolInfo{"CAF_BLE_SMP_TRANSFER_EVENTS", B, 0, 0, {}, false,
               "selected by the SMP modules; the events exist whenever an SMP module does",
               "sdk-nrf subsys/caf/events/Kconfig"},
    SymbolInfo{"CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS", B, 0, 0, {}, true,
               "log every ble_smp_transfer_event (the event manager's init log)",
               "sdk-nrf subsys/caf/events/Kconfig"},
    SymbolInfo{"DESKTOP_INIT_LOG_BLE_SMP_TRANSFER_EVENT", B, 0, 0, "CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS",
               true, "Era A name of CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS",
               "nrf_desktop src/events/Kconfig (2020)"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_ENABLE", B, 0, 0, {}, true,
               "the HID configuration channel: without it config-channel requests get no answer",
               "nrf_desktop Kconfig.config_channel"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_TIMEOUT", I, 1, 3600, {}, false,
               "the transport's transaction timeout (the host side is not simulated)",
               "nrf_desktop Kconfig.config_channel"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", B, 0, 0, {}, true,
               "the dfu module: background erase, config-channel DFU, image confirm at boot",
               "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_SYNC_BUFFER_SIZE", I, 1, 16383, {}, true,
               "the dfu module's sync buffer (words); reported by the sync fetch",
               "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP", B, 0, 0, {}, true,
               "MCUboot direct-XIP for the dfu module (variant \"MCUBOOT+XIP\")",
               "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_VID", I, 0, kU16, {}, true,
               "devinfo fetch: vendor id", "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_PID", I, 0, kU16, {}, true,
               "devinfo fetch: product id", "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", S, 0, 0, {}, true,
               "devinfo fetch: generation string", "nrf_desktop Kconfig.dfu"},
    SymbolInfo{"DESKTOP_BT_PERIPHERAL", B, 0, 0, {}, false,
               "the device is always a BLE peripheral here", "nrf_desktop Kconfig.ble"},
    SymbolInfo{"DESKTOP_BLE_LATENCY_ENABLE", B, 0, 0, {}, true,
               "the ble_latency module: latency 0 while SMP or config-channel DFU runs",
               "nrf_desktop Kconfig.ble_latency"},
    SymbolInfo{"DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S", I, 1, 3600, {}, true,
               "ble_latency disconnects a link not secured within this time",
               "nrf_desktop Kconfig.ble_latency"},
    SymbolInfo{"DESKTOP_BLE_LOW_LATENCY_LOCK", B, 0, 0, {}, true,
               "ble_latency keeps latency 0 on LLPM links while the device is awake",
               "nrf_desktop Kconfig.ble_latency"},
    SymbolInfo{"DESKTOP_BLE_LATENCY_PM_EVENTS", B, 0, 0, {}, true,
               "ble_latency listens to power_down/wake_up (with the low-latency lock)",
               "nrf_desktop Kconfig.ble_latency"},
    SymbolInfo{"CAF_POWER_MANAGER", B, 0, 0, {}, true,
               "the power manager: suspends after the idle timeout", "sdk-nrf Kconfig.power_manager"},
    SymbolInfo{"CAF_POWER_MANAGER_TIMEOUT", I, 1, 86400, {}, true,
               "seconds without keep-alive before suspending", "sdk-nrf Kconfig.power_manager"},
    SymbolInfo{"CAF_POWER_MANAGER_ERROR_TIMEOUT", I, 1, 86400, {}, false,
               "power-off after a module error (no module of this simulation powers off)",
               "sdk-nrf Kconfig.power_manager"},
    SymbolInfo{"CAF_PM_EVENTS", B, 0, 0, {}, true,
               "power_down/wake_up events exist (needed by DESKTOP_BLE_LATENCY_PM_EVENTS)",
               "sdk-nrf subsys/caf/events/Kconfig"},
    // Bootloader and MCUmgr.
    SymbolInfo{"BOOTLOADER_MCUBOOT", B, 0, 0, {}, true,
               "required by every SMP DFU module (refused without)", "zephyr/nrf Kconfig"},
    SymbolInfo{"MCUBOOT_IMGTOOL_SIGN_VERSION", S, 0, 0, {}, false,
               "the build's own version (images here carry theirs in the header)",
               "nrf modules/mcuboot Kconfig"},
    SymbolInfo{"MCUMGR", B, 0, 0, {}, true, "MCUmgr itself: required by the SMP modules",
               "zephyr subsys/mgmt/mcumgr/Kconfig"},
    SymbolInfo{"MCUMGR_CMD_IMG_MGMT", B, 0, 0, {}, true,
               "the image group: required by the SMP modules", "zephyr mcumgr Kconfig (2.x)"},
    SymbolInfo{"MCUMGR_GRP_IMG", B, 0, 0, "MCUMGR_CMD_IMG_MGMT", true,
               "newer name of MCUMGR_CMD_IMG_MGMT", "zephyr mcumgr grp/img_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_CMD_OS_MGMT", B, 0, 0, {}, false,
               "Era A's smp.c never registers the OS group; dfu_mcumgr selects it (warned)",
               "zephyr mcumgr Kconfig (2.x); nrf_desktop smp.c, Kconfig.dfu_mcumgr"},
    SymbolInfo{"MCUMGR_GRP_OS", B, 0, 0, "MCUMGR_CMD_OS_MGMT", false,
               "newer name of MCUMGR_CMD_OS_MGMT", "zephyr mcumgr grp/os_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_GRP_STAT", B, 0, 0, {}, true,
               "the statistics group (smp, flash, img and ble counters), dfu_mcumgr era only: the "
               "seed's smp.c registers the image group alone", "zephyr mcumgr grp/stat_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_GRP_ENUM", B, 0, 0, {}, true,
               "the enumeration group (lists the groups registered), dfu_mcumgr era only",
               "zephyr mcumgr grp/enum_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_GRP_FS", B, 0, 0, {}, true,
               "the file management group, over a 64 KiB RAM file system at /lfs1 (nRF Desktop "
               "has no file system partition), dfu_mcumgr era only",
               "zephyr mcumgr grp/fs_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_GRP_SETTINGS", B, 0, 0, {}, true,
               "the settings management group over the device's settings partition (app/* "
               "read-write, dev/boots and dev/version read-only; saved ones survive resets), "
               "dfu_mcumgr era only", "zephyr mcumgr grp/settings_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_GRP_SHELL", B, 0, 0, {}, true,
               "the shell management group (kernel uptime/reboot, mcuboot, dfu), dfu_mcumgr era "
               "only", "zephyr mcumgr grp/shell_mgmt/Kconfig"},
    SymbolInfo{"MCUMGR_SMP_BT", B, 0, 0, {}, true,
               "the SMP GATT service: required by the SMP modules", "zephyr mcumgr Kconfig (2.x)"},
    SymbolInfo{"MCUMGR_TRANSPORT_BT", B, 0, 0, "MCUMGR_SMP_BT", true,
               "newer name of MCUMGR_SMP_BT", "zephyr mcumgr transport/Kconfig.bluetooth"},
    SymbolInfo{"MCUMGR_SMP_BT_AUTHEN", B, 0, 0, {}, true,
               "the SMP characteristic needs an authenticated (MITM) link: a Just Works bond "
               "cannot use it", "zephyr mcumgr Kconfig (2.x)"},
    SymbolInfo{"MCUMGR_TRANSPORT_BT_AUTHEN", B, 0, 0, "MCUMGR_SMP_BT_AUTHEN", true,
               "newer name of MCUMGR_SMP_BT_AUTHEN", "zephyr mcumgr transport/Kconfig.bluetooth"},
    SymbolInfo{"MCUMGR_TRANSPORT_BT_PERM_RW_ENCRYPT", B, 0, 0, {}, true,
               "the SMP characteristic needs an encrypted link: writes and notifications on a "
               "plain link are refused", "zephyr mcumgr transport/Kconfig.bluetooth"},
    SymbolInfo{"MCUMGR_BUF_SIZE", I, 64, 65535, {}, true,
               "largest SMP packet (MCUmgr params buf_size; longer requests are dropped)",
               "zephyr mcumgr Kconfig"},
    SymbolInfo{"MCUMGR_TRANSPORT_NETBUF_SIZE", I, 64, 65535, "MCUMGR_BUF_SIZE", true,
               "newer name of MCUMGR_BUF_SIZE", "zephyr mcumgr transport/Kconfig"},
    SymbolInfo{"MCUMGR_BUF_COUNT", I, 1, 64, {}, true,
               "SMP buffers: requests beyond this many awaiting an answer are dropped",
               "zephyr mcumgr Kconfig"},
    SymbolInfo{"MCUMGR_TRANSPORT_NETBUF_COUNT", I, 1, 64, "MCUMGR_BUF_COUNT", true,
               "newer name of MCUMGR_BUF_COUNT", "zephyr mcumgr transport/Kconfig"},
    SymbolInfo{"OS_MGMT_RESET_MS", I, 0, 60000, {}, true,
               "delay of an OS-group reset (only where the OS group is registered)",
               "zephyr mcumgr Kconfig (2.x)"},
    SymbolInfo{"MCUMGR_GRP_OS_RESET_MS", I, 0, 60000, "OS_MGMT_RESET_MS", true,
               "newer name of OS_MGMT_RESET_MS", "zephyr mcumgr grp/os_mgmt/Kconfig"},
    SymbolInfo{"IMG_ERASE_PROGRESSIVELY", B, 0, 0, {}, true,
               "the image group erases page by page during the upload, not all on the first chunk",
               "zephyr subsys/dfu/Kconfig"},
    SymbolInfo{"IMG_ENABLE_IMAGE_CHECK", B, 0, 0, {}, true,
               "the image group checks the uploaded image's hash (\"match\")",
               "zephyr subsys/dfu/Kconfig"},
    SymbolInfo{"SYSTEM_WORKQUEUE_STACK_SIZE", I, 256, 65536, {}, false,
               "stack sizes are not simulated", "zephyr kernel/Kconfig"},
    // Bluetooth.
    SymbolInfo{"BT", B, 0, 0, {}, true, "Bluetooth: required by the SMP GATT transport",
               "zephyr subsys/bluetooth/Kconfig"},
    SymbolInfo{"BT_PERIPHERAL", B, 0, 0, {}, true,
               "the peripheral role: required by the SMP GATT transport",
               "zephyr subsys/bluetooth/Kconfig"},
    SymbolInfo{"BT_PERIPHERAL_PREF_MIN_INT", I, 6, 3200, {}, true,
               "preferred connection interval (min), requested after connecting",
               "zephyr subsys/bluetooth/host/Kconfig; nrf_desktop Kconfig.ble"},
    SymbolInfo{"BT_PERIPHERAL_PREF_MAX_INT", I, 6, 3200, {}, true,
               "preferred connection interval (max)",
               "zephyr subsys/bluetooth/host/Kconfig; nrf_desktop Kconfig.ble"},
    SymbolInfo{"BT_PERIPHERAL_PREF_LATENCY", I, 0, 499, {}, true,
               "preferred peripheral latency (ble_latency goes back to it when idle)",
               "zephyr subsys/bluetooth/host/Kconfig; nrf_desktop Kconfig.ble"},
    SymbolInfo{"BT_PERIPHERAL_PREF_SLAVE_LATENCY", I, 0, 499, "BT_PERIPHERAL_PREF_LATENCY", true,
               "older name of BT_PERIPHERAL_PREF_LATENCY", "zephyr Kconfig (before ~NCS 1.8)"},
    SymbolInfo{"BT_PERIPHERAL_PREF_TIMEOUT", I, 10, 3200, {}, true,
               "preferred supervision timeout", "zephyr subsys/bluetooth/host/Kconfig"},
    SymbolInfo{"BT_CONN_PARAM_UPDATE_TIMEOUT", I, 0, 65535, {}, true,
               "the post-connect window before the first parameter request",
               "zephyr subsys/bluetooth/host/Kconfig; nrf_desktop Kconfig.ble"},
    SymbolInfo{"BT_DATA_LEN_UPDATE", B, 0, 0, {}, true,
               "the peripheral starts the data length update itself (else it waits for the "
               "central)", "zephyr subsys/bluetooth/host/Kconfig"},
    SymbolInfo{"BT_AUTO_PHY_UPDATE", B, 0, 0, {}, true,
               "the peripheral asks for 2M PHY itself (else it waits for the central)",
               "zephyr subsys/bluetooth/host/Kconfig"},
    SymbolInfo{"BT_CTLR_CONN_PARAM_REQ", B, 0, 0, {}, false,
               "parameter requests always go over L2CAP signalling here (nRF Desktop: n)",
               "zephyr subsys/bluetooth/controller/Kconfig"},
    SymbolInfo{"BT_L2CAP_TX_MTU", I, 23, 2000, {}, true,
               "the device's ATT MTU (bounded by BT_BUF_ACL_RX_SIZE - 4)",
               "zephyr subsys/bluetooth/host/Kconfig.l2cap"},
    SymbolInfo{"BT_BUF_ACL_RX_SIZE", I, 27, 2000, {}, true,
               "ACL receive buffer: bounds the ATT MTU (size - 4) and the data length",
               "zephyr subsys/bluetooth/common/Kconfig"},
    SymbolInfo{"BT_RX_BUF_LEN", I, 27, 2000, "BT_BUF_ACL_RX_SIZE", true,
               "older name of BT_BUF_ACL_RX_SIZE", "zephyr Kconfig (2.x)"},
    SymbolInfo{"BT_CONN_TX_MAX", I, 1, 64, {}, true,
               "notifications the peripheral can have queued for the radio",
               "zephyr subsys/bluetooth/host/Kconfig"},
    SymbolInfo{"BT_MAX_CONN", I, 1, 64, {}, true,
               "must be 1 with ble_latency (its build assert); refused otherwise",
               "zephyr subsys/bluetooth/Kconfig; nrf_desktop ble_latency.c"},
    SymbolInfo{"BT_LL_SOFTDEVICE", B, 0, 0, {}, true,
               "the peripheral's link layer is the SoftDevice Controller (default): 7.5 ms "
               "events, strict latency, skipped events free for flash; n: Zephyr's LL",
               "nrf subsys/bluetooth/controller/Kconfig (choice BT_LL_CHOOSE)"},
    SymbolInfo{"BT_LL_SW_SPLIT", B, 0, 0, {}, true,
               "the peripheral's link layer is Zephyr's: events run while data flows, latency "
               "cancelled on receive, skipped events stay reserved",
               "zephyr subsys/bluetooth/controller/Kconfig (choice BT_LL_CHOOSE)"},
    SymbolInfo{"BT_CTLR_SDC_LLPM", B, 0, 0, {}, false,
               "LLPM (1 ms intervals) needs an nRF Desktop dongle; phones do not use it",
               "nrf subsys/bluetooth/controller/Kconfig"},
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsSymbolChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Kconfig int: optional sign, decimal or 0x hex. Returns false on junk or overflow.
bool ParseInt(std::string_view s, int64_t* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    if (v > (uint64_t{1} << 62) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  *out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

std::string Short(std::string_view s) {
  return std::string(s.substr(0, 40)) + (s.size() > 40 ? "..." : "");
}

}  // namespace

std::span<const SymbolInfo> Symbols() { return kSymbols; }

const SymbolInfo* FindSymbol(std::string_view name) {
  for (const auto& s : kSymbols)
    if (s.name == name) return &s;
  return nullptr;
}

Result<Kconfig> Kconfig::Parse(std::string_view text) {
  Kconfig k;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      // "# CONFIG_FOO is not set" assigns n.
      std::string_view c = Trim(line.substr(1));
      constexpr std::string_view kNotSet = " is not set";
      if (c.substr(0, 7) == "CONFIG_" && c.size() > kNotSet.size() &&
          c.substr(c.size() - kNotSet.size()) == kNotSet) {
        std::string_view name = c.substr(7, c.size() - 7 - kNotSet.size());
        const SymbolInfo* sym = FindSymbol(name);
        if (sym != nullptr && sym->type == SymbolType::kBool) {
          std::string canon(sym->alias_of.empty() ? sym->name : sym->alias_of);
          k.values_[canon] = false;
        }
      }
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Error::Format(Errc::kInvalidArgument,
                           "line %zu: expected CONFIG_<NAME>=<value>, got '%s'", line_no,
                           Short(line).c_str());
    std::string_view lhs = Trim(line.substr(0, eq));
    std::string_view rhs = Trim(line.substr(eq + 1));
    if (lhs.substr(0, 7) != "CONFIG_" || lhs.size() == 7)
      return Error::Format(Errc::kInvalidArgument,
                           "line %zu: option '%s' does not start with CONFIG_", line_no,
                           Short(lhs).c_str());
    std::string_view name = lhs.substr(7);
    for (char c : name)
      if (!IsSymbolChar(c))
        return Error::Format(Errc::kInvalidArgument,
                             "line %zu: invalid character in option name '%s'", line_no,
                             Short(lhs).c_str());
    const SymbolInfo* sym = FindSymbol(name);
    if (sym == nullptr)
      return Error::Format(Errc::kInvalidArgument, "line %zu: unknown option CONFIG_%s", line_no,
                           Short(name).c_str());
    const std::string canon(sym->alias_of.empty() ? sym->name : sym->alias_of);
    KconfigValue value;
    switch (sym->type) {
      case SymbolType::kBool:
        if (rhs == "y")
          value = true;
        else if (rhs == "n")
          value = false;
        else
          return Error::Format(Errc::kInvalidArgument,
                               "line %zu: CONFIG_%s is a bool, expected y or n, got '%s'", line_no,
                               std::string(name).c_str(), Short(rhs).c_str());
        break;
      case SymbolType::kInt: {
        int64_t v = 0;
        if (!ParseInt(rhs, &v))
          return Error::Format(Errc::kInvalidArgument, "line %zu: CONFIG_%s is an int, got '%s'",
                               line_no, std::string(name).c_str(), Short(rhs).c_str());
        if (v < sym->min || v > sym->max)
          return Error::Format(Errc::kInvalidArgument,
                               "line %zu: CONFIG_%s=%lld is outside its range [%lld, %lld]",
                               line_no, std::string(name).c_str(), static_cast<long long>(v),
                               static_cast<long long>(sym->min), static_cast<long long>(sym->max));
        value = v;
        break;
      }
      case SymbolType::kString: {
        if (rhs.size() < 2 || rhs.front() != '"' || rhs.back() != '"')
          return Error::Format(Errc::kInvalidArgument,
                               "line %zu: CONFIG_%s is a string, expected a \"quoted\" value",
                               line_no, std::string(name).c_str());
        std::string s;
        std::string_view body = rhs.substr(1, rhs.size() - 2);
        for (size_t i = 0; i < body.size(); ++i) {
          char c = body[i];
          if (c == '\\') {
            if (i + 1 == body.size() || (body[i + 1] != '"' && body[i + 1] != '\\'))
              return Error::Format(Errc::kInvalidArgument,
                                   "line %zu: CONFIG_%s: bad escape in string", line_no,
                                   std::string(name).c_str());
            c = body[++i];
          } else if (c == '"') {
            return Error::Format(Errc::kInvalidArgument,
                                 "line %zu: CONFIG_%s: unescaped quote in string", line_no,
                                 std::string(name).c_str());
          }
          s.push_back(c);
        }
        value = std::move(s);
        break;
      }
    }
    // As in Kconfig fragments, a later assignment overrides an earlier one.
    k.values_[canon] = std::move(value);
  }
  return k;
}

bool Kconfig::Bool(std::string_view name, bool fallback) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end() || !std::holds_alternative<bool>(it->second)) return fallback;
  return std::get<bool>(it->second);
}

int64_t Kconfig::Int(std::string_view name, int64_t fallback) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end() || !std::holds_alternative<int64_t>(it->second)) return fallback;
  return std::get<int64_t>(it->second);
}

std::string Kconfig::String(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end() || !std::holds_alternative<std::string>(it->second))
    return std::string(fallback);
  return std::get<std::string>(it->second);
}

std::string Kconfig::ToText() const {
  std::string out;
  for (const auto& [name, v] : values_) {
    out += "CONFIG_" + name + "=";
    if (std::holds_alternative<bool>(v)) {
      out += std::get<bool>(v) ? "y" : "n";
    } else if (std::holds_alternative<int64_t>(v)) {
      out += std::to_string(std::get<int64_t>(v));
    } else {
      out += '"';
      for (char c : std::get<std::string>(v)) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    out += '\n';
  }
  return out;
}

std::string_view DefaultPrjConf() {
  return "# nRF Desktop mouse with MCUboot and SMP (Era A)\n"
         "CONFIG_BOOTLOADER_MCUBOOT=y\n"
         "CONFIG_MCUMGR=y\n"
         "CONFIG_MCUMGR_CMD_IMG_MGMT=y\n"
         "CONFIG_MCUMGR_SMP_BT=y\n"
         "CONFIG_DESKTOP_SMP_ENABLE=y\n"
         "CONFIG_DESKTOP_CONFIG_CHANNEL_ENABLE=y\n"
         "CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE=y\n"
         "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=y\n"
         "CONFIG_CAF_POWER_MANAGER=y\n"
         "CONFIG_BT_PERIPHERAL_PREF_MIN_INT=6\n"
         "CONFIG_BT_PERIPHERAL_PREF_MAX_INT=6\n"
         "CONFIG_BT_PERIPHERAL_PREF_LATENCY=99\n"
         "CONFIG_BT_PERIPHERAL_PREF_TIMEOUT=400\n"
         "CONFIG_BT_CONN_PARAM_UPDATE_TIMEOUT=1000\n"
         "CONFIG_BT_L2CAP_TX_MTU=260\n"
         "CONFIG_BT_BUF_ACL_RX_SIZE=264\n"
         "CONFIG_BT_CONN_TX_MAX=4\n"
         "# CONFIG_BT_DATA_LEN_UPDATE is not set\n"
         "# CONFIG_BT_AUTO_PHY_UPDATE is not set\n"
         "# CONFIG_DESKTOP_INIT_LOG_BLE_SMP_TRANSFER_EVENT is not set\n";
}

Result<DesktopConfig> ResolveConfig(const Kconfig& k) {
  auto need = [&](std::string_view option, std::string_view dep, std::string_view why) -> Status {
    if (k.Bool(dep, false)) return Ok();
    return Error::Format(
        Errc::kInvalidArgument, "CONFIG_%s depends on CONFIG_%s, which is not set (%s)",
        std::string(option).c_str(), std::string(dep).c_str(), std::string(why).c_str());
  };
  DesktopConfig c;
  auto warn = [&](std::string_view name, std::string_view why) {
    c.warnings.push_back("CONFIG_" + std::string(name) + ": no effect in this simulation (" +
                         std::string(why) + ")");
  };
  // Symbols that never act: each assignment is reported once.
  for (const auto& [name, value] : k.values()) {
    const SymbolInfo* sym = FindSymbol(name);
    if (sym != nullptr && !sym->acts && name != "MCUMGR_CMD_OS_MGMT") warn(name, sym->what);
  }
  const bool era_a = k.Bool("DESKTOP_SMP_ENABLE", false);
  const bool mcumgr = k.Bool("DESKTOP_DFU_MCUMGR_ENABLE", false);
  if (k.Bool("CAF_BLE_SMP", false))
    return Error(Errc::kInvalidArgument,
                 "CONFIG_CAF_BLE_SMP (Era B's CAF SMP module) is not simulated: use "
                 "CONFIG_DESKTOP_SMP_ENABLE (the seed's era) or CONFIG_DESKTOP_DFU_MCUMGR_ENABLE");
  if (era_a && mcumgr)
    return Error(Errc::kInvalidArgument,
                 "CONFIG_DESKTOP_SMP_ENABLE and CONFIG_DESKTOP_DFU_MCUMGR_ENABLE are mutually "
                 "exclusive (two SMP DFU modules)");
  c.config_channel = k.Bool("DESKTOP_CONFIG_CHANNEL_ENABLE", false);
  c.config_channel_dfu = k.Bool("DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", false);
  if (c.config_channel_dfu)
    SMPKIT_TRY(need("DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", "DESKTOP_CONFIG_CHANNEL_ENABLE",
                    "DFU runs over the HID configuration channel"));
  if (era_a || mcumgr) {
    const std::string_view module = era_a ? "DESKTOP_SMP_ENABLE" : "DESKTOP_DFU_MCUMGR_ENABLE";
    SMPKIT_TRY(need(module, "BOOTLOADER_MCUBOOT",
                    "DFU over SMP is supported only with the MCUboot bootloader"));
    if (era_a) {
      SMPKIT_TRY(need(module, "MCUMGR", "the module is built on MCUmgr"));
    } else if (!k.Bool("MCUMGR", true)) {
      warn("MCUMGR", "CONFIG_DESKTOP_DFU_MCUMGR_ENABLE selects MCUmgr");
    }
    // Zephyr's defaults are y for these two once MCUmgr is on, so only an explicit n refuses.
    if (!k.Bool("BT", true))
      return Error::Format(Errc::kInvalidArgument,
                           "CONFIG_%s needs CONFIG_BT, which is set to n (SMP over Bluetooth)",
                           std::string(module).c_str());
    if (!k.Bool("BT_PERIPHERAL", true))
      return Error::Format(Errc::kInvalidArgument,
                           "CONFIG_%s needs CONFIG_BT_PERIPHERAL, which is set to n (the SMP "
                           "GATT service runs on the peripheral)",
                           std::string(module).c_str());
  }
  if (era_a) {
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "MCUMGR_CMD_IMG_MGMT",
                    "the module uses MCUmgr image management handlers"));
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "MCUMGR_SMP_BT",
                    "the device receives SMP commands over Bluetooth"));
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "DESKTOP_CONFIG_CHANNEL_DFU_ENABLE",
                    "the DFU module erases the secondary slot and confirms the running image"));
    c.smp = SmpEra::kEraA;
    // Era A: dfu_lock.c is always built and both modules always use it.
    c.dfu_lock = true;
    if (k.IsSet("DESKTOP_DFU_LOCK") && !k.Bool("DESKTOP_DFU_LOCK", true))
      warn("DESKTOP_DFU_LOCK",
           "the seed's era has no such option: smp.c and dfu.c always use the DFU lock");
    // smp.c registers the image group only (nrf-desktop.md §4.1).
    c.os_group = false;
    if (k.Bool("MCUMGR_CMD_OS_MGMT", false))
      warn("MCUMGR_CMD_OS_MGMT",
           "the seed's smp.c registers only the image group, so the OS group (echo, reset, "
           "params) is absent; a reset needs a power cycle");
    if (k.IsSet("OS_MGMT_RESET_MS"))
      warn("OS_MGMT_RESET_MS", "no OS group in the seed's era, so no remote reset");
    for (const char* g : {"MCUMGR_GRP_STAT", "MCUMGR_GRP_ENUM", "MCUMGR_GRP_FS",
                          "MCUMGR_GRP_SHELL", "MCUMGR_GRP_SETTINGS"}) {
      if (k.Bool(g, false)) warn(g, "the seed's smp.c registers only the image group");
    }
  } else if (mcumgr) {
    c.smp = SmpEra::kMcumgr;
    c.dfu_lock = k.Bool("DESKTOP_DFU_LOCK", c.config_channel_dfu);
    if (c.dfu_lock && !c.config_channel_dfu)
      SMPKIT_TRY(need("DESKTOP_DFU_LOCK", "DESKTOP_CONFIG_CHANNEL_DFU_ENABLE",
                      "the lock arbitrates two DFU transports"));
    // Kconfig.dfu_mcumgr selects MCUMGR_GRP_IMG, MCUMGR_GRP_OS and the BT transport hooks.
    c.os_group = true;
    // Zephyr registers every enabled group at start-up (MCUMGR_HANDLER_DEFINE).
    c.stat_group = k.Bool("MCUMGR_GRP_STAT", false);
    c.enum_group = k.Bool("MCUMGR_GRP_ENUM", false);
    c.fs_group = k.Bool("MCUMGR_GRP_FS", false);
    c.shell_group = k.Bool("MCUMGR_GRP_SHELL", false);
    c.settings_group = k.Bool("MCUMGR_GRP_SETTINGS", false);
    if (k.IsSet("MCUMGR_CMD_OS_MGMT") && !k.Bool("MCUMGR_CMD_OS_MGMT", true))
      warn("MCUMGR_CMD_OS_MGMT", "CONFIG_DESKTOP_DFU_MCUMGR_ENABLE selects the OS group");
  } else {
    c.smp = SmpEra::kNone;
    c.dfu_lock = k.Bool("DESKTOP_DFU_LOCK", false);
    if (k.IsSet("MCUMGR_CMD_OS_MGMT"))
      warn("MCUMGR_CMD_OS_MGMT", "no SMP module, so no MCUmgr groups");
    for (const char* g : {"MCUMGR_GRP_STAT", "MCUMGR_GRP_ENUM", "MCUMGR_GRP_FS",
                          "MCUMGR_GRP_SHELL", "MCUMGR_GRP_SETTINGS"}) {
      if (k.IsSet(g)) warn(g, "no SMP module, so no MCUmgr groups");
    }
  }
  c.direct_xip = k.Bool("DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP", false) ||
                 k.Bool("DESKTOP_DFU_MCUMGR_MCUBOOT_DIRECT_XIP", false);
  c.ble_latency = k.Bool("DESKTOP_BLE_LATENCY_ENABLE", true);
  if (c.ble_latency && k.Int("BT_MAX_CONN", 1) != 1)
    return Error::Format(Errc::kInvalidArgument,
                         "CONFIG_BT_MAX_CONN=%lld: the ble_latency module supports one "
                         "connection only (its build assert)",
                         static_cast<long long>(k.Int("BT_MAX_CONN", 1)));
  c.low_latency_lock = k.Bool("DESKTOP_BLE_LOW_LATENCY_LOCK", false);
  c.latency_pm_events =
      k.Bool("DESKTOP_BLE_LATENCY_PM_EVENTS", true) && k.Bool("CAF_PM_EVENTS", true);
  c.power_manager = k.Bool("CAF_POWER_MANAGER", true);
  c.sync_buffer_words =
      static_cast<uint32_t>(k.Int("DESKTOP_CONFIG_CHANNEL_DFU_SYNC_BUFFER_SIZE", 128));
  c.pref_interval_min = static_cast<uint16_t>(k.Int("BT_PERIPHERAL_PREF_MIN_INT", 6));
  c.pref_interval_max = static_cast<uint16_t>(k.Int("BT_PERIPHERAL_PREF_MAX_INT", 6));
  if (c.pref_interval_min > c.pref_interval_max)
    return Error::Format(
        Errc::kInvalidArgument,
        "CONFIG_BT_PERIPHERAL_PREF_MIN_INT=%u exceeds CONFIG_BT_PERIPHERAL_PREF_MAX_INT=%u",
        c.pref_interval_min, c.pref_interval_max);
  c.pref_latency = static_cast<uint16_t>(k.Int("BT_PERIPHERAL_PREF_LATENCY", 99));
  c.pref_timeout = static_cast<uint16_t>(k.Int("BT_PERIPHERAL_PREF_TIMEOUT", 400));
  // Core spec: timeout (10 ms) > (1 + latency) * interval (1.25 ms) * 2.
  const int64_t min_timeout_us = (1 + int64_t{c.pref_latency}) * c.pref_interval_max * 1250 * 2;
  if (int64_t{c.pref_timeout} * 10000 <= min_timeout_us)
    return Error::Format(Errc::kInvalidArgument,
                         "CONFIG_BT_PERIPHERAL_PREF_TIMEOUT=%u is too short for latency %u at "
                         "interval %u (needs > %lld ms)",
                         c.pref_timeout, c.pref_latency, c.pref_interval_max,
                         static_cast<long long>(min_timeout_us / 1000));
  c.conn_param_update_timeout_ms =
      static_cast<uint32_t>(k.Int("BT_CONN_PARAM_UPDATE_TIMEOUT", 1000));
  c.security_fail_timeout_s =
      static_cast<uint32_t>(k.Int("DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S", 10));
  c.power_manager_timeout_s = static_cast<uint32_t>(k.Int("CAF_POWER_MANAGER_TIMEOUT", 120));
  c.os_reset_ms = static_cast<uint32_t>(k.Int("OS_MGMT_RESET_MS", 250));
  c.mcumgr_buf_size = static_cast<uint16_t>(k.Int("MCUMGR_BUF_SIZE", 384));
  c.mcumgr_buf_count = static_cast<uint16_t>(k.Int("MCUMGR_BUF_COUNT", 4));
  c.img_erase_progressively = k.Bool("IMG_ERASE_PROGRESSIVELY", false);
  c.img_image_check = k.Bool("IMG_ENABLE_IMAGE_CHECK", false);
  c.smp_security = k.Bool("MCUMGR_SMP_BT_AUTHEN", false) ? SmpLinkSecurity::kAuthenticate
                   : k.Bool("MCUMGR_TRANSPORT_BT_PERM_RW_ENCRYPT", false)
                       ? SmpLinkSecurity::kEncrypt
                       : SmpLinkSecurity::kNone;
  c.log_transfer_events = k.Bool("CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS", false);
  c.data_len_update = k.Bool("BT_DATA_LEN_UPDATE", false);
  c.auto_phy_update = k.Bool("BT_AUTO_PHY_UPDATE", false);
  c.l2cap_tx_mtu = static_cast<uint16_t>(k.Int("BT_L2CAP_TX_MTU", 260));
  c.acl_rx_size = static_cast<uint16_t>(k.Int("BT_BUF_ACL_RX_SIZE", 264));
  c.conn_tx_max = static_cast<uint16_t>(k.Int("BT_CONN_TX_MAX", 4));
  // A Kconfig choice: one link layer. SOFTDEVICE is the default; turning it off leaves the
  // other.
  if (k.Bool("BT_LL_SW_SPLIT", false) && k.IsSet("BT_LL_SOFTDEVICE") &&
      k.Bool("BT_LL_SOFTDEVICE", false)) {
    return Error(Errc::kInvalidArgument,
                 "CONFIG_BT_LL_SOFTDEVICE and CONFIG_BT_LL_SW_SPLIT are one choice: set one");
  }
  c.zephyr_ll = k.Bool("BT_LL_SW_SPLIT", false) || !k.Bool("BT_LL_SOFTDEVICE", true);
  c.vid = static_cast<uint16_t>(k.Int("DESKTOP_CONFIG_CHANNEL_DFU_VID", 0x1915));
  c.pid = static_cast<uint16_t>(k.Int("DESKTOP_CONFIG_CHANNEL_DFU_PID", 0x52DE));
  c.generation = k.String("DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", "default");
  return c;
}

uint16_t DesktopConfig::AttMtu() const {
  // The L2CAP header (4 bytes) shares the ACL buffer with the ATT PDU.
  const int bound = std::min<int>(l2cap_tx_mtu, acl_rx_size - 4);
  return static_cast<uint16_t>(std::clamp(bound, 23, 517));
}

std::string_view DesktopConfig::SmpModuleName() const {
  switch (smp) {
    case SmpEra::kEraA:
      return "smp (seed's era)";
    case SmpEra::kMcumgr:
      return "dfu_mcumgr (newer era)";
    case SmpEra::kNone:
      break;
  }
  return "none";
}

Result<DesktopConfig> ParsePrjConf(std::string_view text) {
  SMPKIT_ASSIGN_OR_RETURN(auto k, Kconfig::Parse(text));
  return ResolveConfig(k);
}

Result<std::string> ReadPrjConf(std::string_view path) {
  if (path.empty()) return std::string(DefaultPrjConf());
  std::ifstream in{std::string(path)};
  if (!in) return Error::Format(Errc::kNotFound, "cannot read %s", Short(path).c_str());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<DesktopConfig> LoadPrjConf(std::string_view path, std::string_view extra) {
  SMPKIT_ASSIGN_OR_RETURN(std::string text, ReadPrjConf(path));
  text += extra;
  auto c = ParsePrjConf(text);
  if (!c.ok())
    return Error::Format(c.error().code(), "%s: %s",
                         path.empty() ? "the seed's prj.conf" : Short(path).c_str(),
                         std::string(c.error().message()).c_str());
  return c;
}

std::string AnnotatePrjConf(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view line = Trim(raw);
    std::string_view name;
    if (line.substr(0, 7) == "CONFIG_") {
      name = line.substr(7, line.find('=') == std::string_view::npos ? 0 : line.find('=') - 7);
    } else if (line.substr(0, 9) == "# CONFIG_" && line.find(" is not set") != line.npos) {
      name = line.substr(9, line.find(" is not set") - 9);
    }
    out.append(raw);
    if (const SymbolInfo* sym = name.empty() ? nullptr : FindSymbol(Trim(name))) {
      out.append(std::max<size_t>(1, 56 - std::min<size_t>(56, raw.size())), ' ');
      out += sym->acts ? "# acts: " : "# no effect: ";
      out += sym->what;
    }
    out += '\n';
  }
  return out;
}

}  // namespace smpkit::desktop
