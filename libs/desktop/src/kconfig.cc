#include "smpkit/desktop/kconfig.h"

#include <array>
#include <cstdio>
#include <string>

namespace smpkit::desktop {
namespace {

constexpr int64_t kU16 = 0xffff;

constexpr std::array kSymbols = {
    // Modules.
    SymbolInfo{"DESKTOP_SMP_ENABLE", SymbolType::kBool},
    SymbolInfo{"DESKTOP_DFU_MCUMGR_ENABLE", SymbolType::kBool},
    SymbolInfo{"DESKTOP_DFU_MCUMGR_MCUBOOT_DIRECT_XIP", SymbolType::kBool},
    SymbolInfo{"DESKTOP_DFU_LOCK", SymbolType::kBool},
    SymbolInfo{"CAF_BLE_SMP", SymbolType::kBool},
    SymbolInfo{"CAF_BLE_SMP_TRANSFER_EVENTS", SymbolType::kBool},
    SymbolInfo{"CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS", SymbolType::kBool},
    SymbolInfo{"DESKTOP_INIT_LOG_BLE_SMP_TRANSFER_EVENT", SymbolType::kBool},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_ENABLE", SymbolType::kBool},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_TIMEOUT", SymbolType::kInt, 1, 3600},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", SymbolType::kBool},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_SYNC_BUFFER_SIZE", SymbolType::kInt, 1, 16383},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP", SymbolType::kBool},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_VID", SymbolType::kInt, 0, kU16},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_PID", SymbolType::kInt, 0, kU16},
    SymbolInfo{"DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", SymbolType::kString},
    SymbolInfo{"DESKTOP_BT_PERIPHERAL", SymbolType::kBool},
    SymbolInfo{"DESKTOP_BLE_LATENCY_ENABLE", SymbolType::kBool},
    SymbolInfo{"DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S", SymbolType::kInt, 1, 3600},
    SymbolInfo{"DESKTOP_BLE_LOW_LATENCY_LOCK", SymbolType::kBool},
    SymbolInfo{"DESKTOP_BLE_LATENCY_PM_EVENTS", SymbolType::kBool},
    SymbolInfo{"CAF_POWER_MANAGER", SymbolType::kBool},
    SymbolInfo{"CAF_POWER_MANAGER_TIMEOUT", SymbolType::kInt, 1, 86400},
    SymbolInfo{"CAF_POWER_MANAGER_ERROR_TIMEOUT", SymbolType::kInt, 1, 86400},
    SymbolInfo{"CAF_PM_EVENTS", SymbolType::kBool},
    // Bootloader and MCUmgr.
    SymbolInfo{"BOOTLOADER_MCUBOOT", SymbolType::kBool},
    SymbolInfo{"MCUBOOT_IMGTOOL_SIGN_VERSION", SymbolType::kString},
    SymbolInfo{"MCUMGR", SymbolType::kBool},
    SymbolInfo{"MCUMGR_CMD_IMG_MGMT", SymbolType::kBool},
    SymbolInfo{"MCUMGR_GRP_IMG", SymbolType::kBool, 0, 0, "MCUMGR_CMD_IMG_MGMT"},
    SymbolInfo{"MCUMGR_CMD_OS_MGMT", SymbolType::kBool},
    SymbolInfo{"MCUMGR_GRP_OS", SymbolType::kBool, 0, 0, "MCUMGR_CMD_OS_MGMT"},
    SymbolInfo{"MCUMGR_SMP_BT", SymbolType::kBool},
    SymbolInfo{"MCUMGR_TRANSPORT_BT", SymbolType::kBool, 0, 0, "MCUMGR_SMP_BT"},
    SymbolInfo{"MCUMGR_SMP_BT_AUTHEN", SymbolType::kBool},
    SymbolInfo{"MCUMGR_TRANSPORT_BT_AUTHEN", SymbolType::kBool, 0, 0, "MCUMGR_SMP_BT_AUTHEN"},
    SymbolInfo{"MCUMGR_TRANSPORT_BT_PERM_RW_ENCRYPT", SymbolType::kBool},
    SymbolInfo{"MCUMGR_BUF_SIZE", SymbolType::kInt, 64, 65535},
    SymbolInfo{"MCUMGR_TRANSPORT_NETBUF_SIZE", SymbolType::kInt, 64, 65535, "MCUMGR_BUF_SIZE"},
    SymbolInfo{"MCUMGR_BUF_COUNT", SymbolType::kInt, 1, 64},
    SymbolInfo{"MCUMGR_TRANSPORT_NETBUF_COUNT", SymbolType::kInt, 1, 64, "MCUMGR_BUF_COUNT"},
    SymbolInfo{"OS_MGMT_RESET_MS", SymbolType::kInt, 0, 60000},
    SymbolInfo{"MCUMGR_GRP_OS_RESET_MS", SymbolType::kInt, 0, 60000, "OS_MGMT_RESET_MS"},
    SymbolInfo{"IMG_ERASE_PROGRESSIVELY", SymbolType::kBool},
    SymbolInfo{"IMG_ENABLE_IMAGE_CHECK", SymbolType::kBool},
    SymbolInfo{"SYSTEM_WORKQUEUE_STACK_SIZE", SymbolType::kInt, 256, 65536},
    // Bluetooth.
    SymbolInfo{"BT", SymbolType::kBool},
    SymbolInfo{"BT_PERIPHERAL", SymbolType::kBool},
    SymbolInfo{"BT_PERIPHERAL_PREF_MIN_INT", SymbolType::kInt, 6, 3200},
    SymbolInfo{"BT_PERIPHERAL_PREF_MAX_INT", SymbolType::kInt, 6, 3200},
    SymbolInfo{"BT_PERIPHERAL_PREF_LATENCY", SymbolType::kInt, 0, 499},
    SymbolInfo{"BT_PERIPHERAL_PREF_SLAVE_LATENCY", SymbolType::kInt, 0, 499,
               "BT_PERIPHERAL_PREF_LATENCY"},
    SymbolInfo{"BT_PERIPHERAL_PREF_TIMEOUT", SymbolType::kInt, 10, 3200},
    SymbolInfo{"BT_CONN_PARAM_UPDATE_TIMEOUT", SymbolType::kInt, 0, 65535},
    SymbolInfo{"BT_DATA_LEN_UPDATE", SymbolType::kBool},
    SymbolInfo{"BT_AUTO_PHY_UPDATE", SymbolType::kBool},
    SymbolInfo{"BT_CTLR_CONN_PARAM_REQ", SymbolType::kBool},
    SymbolInfo{"BT_L2CAP_TX_MTU", SymbolType::kInt, 23, 2000},
    SymbolInfo{"BT_BUF_ACL_RX_SIZE", SymbolType::kInt, 27, 2000},
    SymbolInfo{"BT_RX_BUF_LEN", SymbolType::kInt, 27, 2000, "BT_BUF_ACL_RX_SIZE"},
    SymbolInfo{"BT_CONN_TX_MAX", SymbolType::kInt, 1, 64},
    SymbolInfo{"BT_MAX_CONN", SymbolType::kInt, 1, 64},
    SymbolInfo{"BT_CTLR_SDC_LLPM", SymbolType::kBool},
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
         "CONFIG_MCUMGR_CMD_OS_MGMT=y\n"
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
  const bool era_a = k.Bool("DESKTOP_SMP_ENABLE", false);
  const bool mcumgr = k.Bool("DESKTOP_DFU_MCUMGR_ENABLE", false);
  if (era_a && mcumgr)
    return Error(Errc::kInvalidArgument,
                 "CONFIG_DESKTOP_SMP_ENABLE and CONFIG_DESKTOP_DFU_MCUMGR_ENABLE are mutually "
                 "exclusive (two SMP DFU modules)");
  if (mcumgr && k.Bool("CAF_BLE_SMP", false))
    return Error(Errc::kInvalidArgument,
                 "CONFIG_DESKTOP_DFU_MCUMGR_ENABLE cannot be combined with CONFIG_CAF_BLE_SMP");
  c.config_channel_dfu = k.Bool("DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", false);
  if (c.config_channel_dfu)
    SMPKIT_TRY(need("DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", "DESKTOP_CONFIG_CHANNEL_ENABLE",
                    "DFU runs over the HID configuration channel"));
  if (era_a) {
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "BOOTLOADER_MCUBOOT",
                    "DFU over SMP is supported only with the MCUboot bootloader"));
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "MCUMGR_CMD_IMG_MGMT",
                    "the module uses MCUmgr image management handlers"));
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "MCUMGR_SMP_BT",
                    "the device receives SMP commands over Bluetooth"));
    SMPKIT_TRY(need("DESKTOP_SMP_ENABLE", "DESKTOP_CONFIG_CHANNEL_DFU_ENABLE",
                    "the DFU module erases the secondary slot and confirms the running image"));
    c.smp = SmpEra::kEraA;
    c.dfu_lock = true;
  } else if (mcumgr) {
    SMPKIT_TRY(need("DESKTOP_DFU_MCUMGR_ENABLE", "BOOTLOADER_MCUBOOT",
                    "dfu_mcumgr supports only the MCUboot bootloader"));
    c.smp = SmpEra::kMcumgr;
    c.dfu_lock = k.Bool("DESKTOP_DFU_LOCK", c.config_channel_dfu);
    if (c.dfu_lock && !c.config_channel_dfu)
      SMPKIT_TRY(need("DESKTOP_DFU_LOCK", "DESKTOP_CONFIG_CHANNEL_DFU_ENABLE",
                      "the lock arbitrates two DFU transports"));
  } else {
    c.smp = SmpEra::kNone;
    c.dfu_lock = k.Bool("DESKTOP_DFU_LOCK", false);
  }
  c.direct_xip = k.Bool("DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP", false) ||
                 k.Bool("DESKTOP_DFU_MCUMGR_MCUBOOT_DIRECT_XIP", false);
  c.ble_latency = k.Bool("DESKTOP_BLE_LATENCY_ENABLE", true);
  c.low_latency_lock = k.Bool("DESKTOP_BLE_LOW_LATENCY_LOCK", false);
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
  c.l2cap_tx_mtu = static_cast<uint16_t>(k.Int("BT_L2CAP_TX_MTU", 260));
  c.vid = static_cast<uint16_t>(k.Int("DESKTOP_CONFIG_CHANNEL_DFU_VID", 0x1915));
  c.pid = static_cast<uint16_t>(k.Int("DESKTOP_CONFIG_CHANNEL_DFU_PID", 0x52DE));
  c.generation = k.String("DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", "default");
  return c;
}

Result<DesktopConfig> ParsePrjConf(std::string_view text) {
  SMPKIT_ASSIGN_OR_RETURN(auto k, Kconfig::Parse(text));
  return ResolveConfig(k);
}

}  // namespace smpkit::desktop
