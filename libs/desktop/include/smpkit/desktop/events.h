#pragma once
// The nRF Desktop / CAF events used by the DFU modules (nrf-desktop.md §2.3), as plain typed
// structs. Every event type names itself (kName, as in the seed's propagation tables) so that
// the bus can print who submits and who subscribes to what.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smpkit/base/bytes.h"

namespace smpkit::desktop {

// Modules (and event sources) of the simulated device.
enum class ModuleId : uint8_t {
  kMain,
  kBleState,
  kSmp,  // Era A smp.c (or dfu_mcumgr in the newer era)
  kDfu,  // config-channel DFU (dfu.c)
  kBleLatency,
  kPowerManager,
  kConfigChannel,  // HID config-channel transport (hids / usb_state): requests in, responses out
  kHidState,       // HID reports (user activity)
  kCount,
};
inline constexpr size_t kModuleCount = static_cast<size_t>(ModuleId::kCount);
std::string_view ModuleName(ModuleId id);

enum class ModuleState : uint8_t { kReady, kOff, kStandby, kError };
std::string_view ModuleStateName(ModuleState s);

struct ModuleStateEvent {
  static constexpr std::string_view kName = "module_state_event";
  ModuleId module = ModuleId::kMain;
  ModuleState state = ModuleState::kReady;
};

enum class PeerState : uint8_t { kConnected, kSecured, kDisconnecting, kDisconnected, kConnFailed };
std::string_view PeerStateName(PeerState s);

struct BlePeerEvent {
  static constexpr std::string_view kName = "ble_peer_event";
  uint16_t conn = 0;
  PeerState state = PeerState::kConnected;
  uint8_t reason = 0;
};

struct BlePeerConnParamsEvent {
  static constexpr std::string_view kName = "ble_peer_conn_params_event";
  uint16_t conn = 0;
  uint16_t interval_min = 6;
  uint16_t interval_max = 6;
  uint16_t latency = 0;
  uint16_t timeout = 400;
  bool updated = false;  // true: parameters in effect; false: a peer's request
};

struct BleSmpTransferEvent {
  static constexpr std::string_view kName = "ble_smp_transfer_event";
};

// Config channel (config_event.h). event id = module id << 4 | option field; option field 0
// is the module-descriptor fetch, option index i is field i + 1.
enum class ConfigStatus : uint8_t {
  kSet = 0,
  kFetch = 1,
  kSuccess = 2,
  kPending = 3,
  kReject = 4,
  kWriteError = 5,
  kDisconnected = 6,
  kGetPeersList = 7,
  kGetPeerInfo = 8,
  kTimeout = 9,
};
inline constexpr size_t kConfigDataMax = 32;   // report data (25 B) and every fetch response
inline constexpr uint8_t kConfigModIdDfu = 1;  // the DFU module's id on the config channel

struct ConfigEvent {
  static constexpr std::string_view kName = "config_event";
  uint8_t transport_id = 0;
  bool is_request = true;
  uint8_t recipient = 0;  // 0: this device
  uint8_t module_id = 0;
  uint8_t option = 0;  // option field (index + 1; 0 = descriptor)
  ConfigStatus status = ConfigStatus::kSet;
  std::array<uint8_t, kConfigDataMax> data{};
  uint8_t data_len = 0;

  uint8_t event_id() const { return static_cast<uint8_t>((module_id << 4) | (option & 0x0f)); }
  ConstByteSpan payload() const { return {data.data(), data_len}; }
  // Copies up to kConfigDataMax bytes; returns false (and truncates) if `d` is longer.
  bool SetPayload(ConstByteSpan d);
};

struct HidReportEvent {
  static constexpr std::string_view kName = "hid_report_event";
  uint8_t report_id = 1;
};

enum class PowerLevel : uint8_t { kAlive = 0, kSuspended = 1, kOff = 2, kMax = 3 };
struct PowerManagerRestrictEvent {
  static constexpr std::string_view kName = "power_manager_restrict_event";
  ModuleId module = ModuleId::kMain;
  PowerLevel level = PowerLevel::kMax;
};

struct PowerDownEvent {
  static constexpr std::string_view kName = "power_down_event";
  bool error = false;
};

struct WakeUpEvent {
  static constexpr std::string_view kName = "wake_up_event";
};

struct KeepAliveEvent {
  static constexpr std::string_view kName = "keep_alive_event";
};

}  // namespace smpkit::desktop
