#pragma once
// nRF Desktop configuration in Kconfig `prj.conf` syntax (nrf-desktop.md §9): a parser for
// `CONFIG_<NAME>=<value>` lines (bool y/n, decimal or 0x-hex int, "quoted string"), `#`
// comments including `# CONFIG_X is not set`, with line-numbered errors; the known symbols with
// their types, ranges and defaults; and the dependency checks the seed states (SMP needs
// MCUboot, image management and the BT transport), whose errors name the missing option.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smpkit/base/result.h"

namespace smpkit::desktop {

enum class SymbolType : uint8_t { kBool, kInt, kString };

struct SymbolInfo {
  std::string_view name;  // without the CONFIG_ prefix
  SymbolType type;
  int64_t min = 0;  // ints only
  int64_t max = 0;
  std::string_view alias_of = {};  // older/newer spelling of another symbol
  // Whether the value changes what the simulated device does (otherwise: accepted and warned
  // as "no effect in this simulation"); what it does; where the symbol comes from.
  bool acts = false;
  std::string_view what = {};
  std::string_view source = {};
};

// The symbols this simulation understands (nullptr if unknown). `name` without CONFIG_.
const SymbolInfo* FindSymbol(std::string_view name);
// All of them, in table order.
std::span<const SymbolInfo> Symbols();

using KconfigValue = std::variant<bool, int64_t, std::string>;

// The assignments of one prj.conf (aliases resolved to their canonical name).
class Kconfig {
 public:
  // Parses prj.conf text. Errors (kInvalidArgument) carry "line N: ..." and name the option:
  // malformed lines, unknown options, type mismatches, out-of-range ints, bad string escapes. A
  // later assignment overrides an earlier one (Kconfig fragments).
  static Result<Kconfig> Parse(std::string_view text);

  void SetBool(std::string_view name, bool v) { values_[std::string(name)] = v; }
  void SetInt(std::string_view name, int64_t v) { values_[std::string(name)] = v; }
  void SetString(std::string_view name, std::string v) { values_[std::string(name)] = v; }

  bool IsSet(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  bool Bool(std::string_view name, bool fallback) const;
  int64_t Int(std::string_view name, int64_t fallback) const;
  std::string String(std::string_view name, std::string_view fallback) const;

  // Back to prj.conf text (canonical names, sorted).
  std::string ToText() const;
  const std::map<std::string, KconfigValue>& values() const { return values_; }

 private:
  std::map<std::string, KconfigValue> values_;
};

// What the SMP GATT characteristic requires of the link.
enum class SmpLinkSecurity : uint8_t {
  kNone,
  kEncrypt,       // CONFIG_MCUMGR_TRANSPORT_BT_PERM_RW_ENCRYPT
  kAuthenticate,  // CONFIG_MCUMGR_SMP_BT_AUTHEN: encrypted with MITM protection
};

// Which SMP implementation the configuration selects (nrf-desktop.md §1).
enum class SmpEra : uint8_t {
  kNone,    // no SMP DFU
  kEraA,    // CONFIG_DESKTOP_SMP_ENABLE: smp.c; lock taken on the first chunk until reboot
  kMcumgr,  // CONFIG_DESKTOP_DFU_MCUMGR_ENABLE: dfu_mcumgr.c (C1); 5 s lock hold, owner
            // callbacks, rc 11
};

// Everything the simulated device reads from its configuration.
struct DesktopConfig {
  SmpEra smp = SmpEra::kEraA;
  bool config_channel_dfu = true;    // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE
  bool dfu_lock = true;              // Era A: always; newer era: CONFIG_DESKTOP_DFU_LOCK
  bool direct_xip = false;           // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP
  bool ble_latency = true;           // CONFIG_DESKTOP_BLE_LATENCY_ENABLE
  bool low_latency_lock = false;     // CONFIG_DESKTOP_BLE_LOW_LATENCY_LOCK
  bool power_manager = true;         // CONFIG_CAF_POWER_MANAGER
  uint32_t sync_buffer_words = 128;  // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_SYNC_BUFFER_SIZE
  uint16_t pref_interval_min = 6;    // CONFIG_BT_PERIPHERAL_PREF_MIN_INT
  uint16_t pref_interval_max = 6;    // CONFIG_BT_PERIPHERAL_PREF_MAX_INT
  uint16_t pref_latency = 99;        // CONFIG_BT_PERIPHERAL_PREF_LATENCY
  uint16_t pref_timeout = 400;       // CONFIG_BT_PERIPHERAL_PREF_TIMEOUT
  uint32_t conn_param_update_timeout_ms = 1000;  // CONFIG_BT_CONN_PARAM_UPDATE_TIMEOUT
  uint32_t security_fail_timeout_s = 10;         // CONFIG_DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S
  uint32_t power_manager_timeout_s = 120;        // CONFIG_CAF_POWER_MANAGER_TIMEOUT
  uint32_t os_reset_ms = 250;                    // CONFIG_OS_MGMT_RESET_MS / MCUMGR_GRP_OS_RESET_MS
  uint16_t mcumgr_buf_size = 384;                // CONFIG_MCUMGR_BUF_SIZE
  uint16_t l2cap_tx_mtu = 260;                   // CONFIG_BT_L2CAP_TX_MTU
  uint16_t vid = 0x1915;                         // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_VID
  uint16_t pid = 0x52DE;                         // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_PID
  std::string generation = "default";            // CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_GENERATION
  // Simulation switch, no Kconfig in NCS: confirm the running image at main READY
  // (nrf-desktop.md §4.5). Off only to show that an unconfirmed test image is reverted.
  bool confirm_at_boot = true;

  bool config_channel = true;          // CONFIG_DESKTOP_CONFIG_CHANNEL_ENABLE
  bool os_group = false;               // Era A: never; dfu_mcumgr: selected
  // CONFIG_MCUMGR_GRP_{STAT,ENUM,FS,SHELL,SETTINGS} (dfu_mcumgr era; the seed's smp.c: never).
  bool settings_group = false;
  bool stat_group = false;
  bool enum_group = false;
  bool fs_group = false;
  bool shell_group = false;
  uint16_t mcumgr_buf_count = 4;       // CONFIG_MCUMGR_BUF_COUNT
  bool img_erase_progressively = false;  // CONFIG_IMG_ERASE_PROGRESSIVELY
  bool img_image_check = false;        // CONFIG_IMG_ENABLE_IMAGE_CHECK (Zephyr default n)
  SmpLinkSecurity smp_security = SmpLinkSecurity::kNone;  // ..._PERM_RW_ENCRYPT / ..._AUTHEN
  bool log_transfer_events = false;    // CONFIG_{CAF,DESKTOP}_INIT_LOG_BLE_SMP_TRANSFER_EVENT(S)
  bool latency_pm_events = true;       // CONFIG_DESKTOP_BLE_LATENCY_PM_EVENTS && CAF_PM_EVENTS
  bool data_len_update = false;        // CONFIG_BT_DATA_LEN_UPDATE
  bool auto_phy_update = false;        // CONFIG_BT_AUTO_PHY_UPDATE
  uint16_t acl_rx_size = 264;          // CONFIG_BT_BUF_ACL_RX_SIZE
  uint16_t conn_tx_max = 4;            // CONFIG_BT_CONN_TX_MAX
  // The link layer: Nordic's SoftDevice Controller (CONFIG_BT_LL_SOFTDEVICE, nRF Desktop's)
  // or Zephyr's open one (CONFIG_BT_LL_SW_SPLIT); see ble::ControllerProfile.
  bool zephyr_ll = false;

  // One line per assignment that has no effect here (unused symbol, or one the era ignores),
  // for the caller to print at start-up.
  std::vector<std::string> warnings;

  // The ATT MTU the device offers: CONFIG_BT_L2CAP_TX_MTU bounded by the ACL RX buffer.
  uint16_t AttMtu() const;
  // The name of the SMP module that runs ("smp (Era A)", "dfu_mcumgr", "none").
  std::string_view SmpModuleName() const;
};

// The nRF Desktop mouse "prj_mcuboot_smp.conf"-style defaults of the seed (Era A).
std::string_view DefaultPrjConf();

// Applies defaults, checks dependencies and ranges. Errors (kInvalidArgument) name the option,
// e.g. "CONFIG_DESKTOP_SMP_ENABLE depends on CONFIG_MCUMGR_SMP_BT, which is not set".
Result<DesktopConfig> ResolveConfig(const Kconfig& kconfig);
// Parse + resolve.
Result<DesktopConfig> ParsePrjConf(std::string_view text);
// The text of the prj.conf at `path`, or the seed's when `path` is empty. Errors: the file
// cannot be read (kNotFound, naming it).
Result<std::string> ReadPrjConf(std::string_view path);
// The seed's prj.conf, or the file at `path` when not empty, plus `extra` lines appended
// (Kconfig fragments), parsed and resolved. Errors: the file cannot be read (kNotFound, naming
// it), or the parser's/resolver's, prefixed with the file name.
Result<DesktopConfig> LoadPrjConf(std::string_view path, std::string_view extra = {});
// `text` (a prj.conf) with every assignment marked: "# acts: ..." or "# no effect: ...".
std::string AnnotatePrjConf(std::string_view text);

}  // namespace smpkit::desktop
