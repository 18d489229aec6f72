#include "smpkit/desktop/events.h"

#include <algorithm>

namespace smpkit::desktop {

std::string_view ModuleName(ModuleId id) {
  switch (id) {
    case ModuleId::kMain:
      return "main";
    case ModuleId::kBleState:
      return "ble_state";
    case ModuleId::kSmp:
      return "smp";
    case ModuleId::kDfu:
      return "dfu";
    case ModuleId::kBleLatency:
      return "ble_latency";
    case ModuleId::kPowerManager:
      return "power_manager";
    case ModuleId::kConfigChannel:
      return "config_channel";
    case ModuleId::kHidState:
      return "hid_state";
    case ModuleId::kCount:
      break;
  }
  return "?";
}

std::string_view ModuleStateName(ModuleState s) {
  switch (s) {
    case ModuleState::kReady:
      return "READY";
    case ModuleState::kOff:
      return "OFF";
    case ModuleState::kStandby:
      return "STANDBY";
    case ModuleState::kError:
      return "ERROR";
  }
  return "?";
}

std::string_view PeerStateName(PeerState s) {
  switch (s) {
    case PeerState::kConnected:
      return "CONNECTED";
    case PeerState::kSecured:
      return "SECURED";
    case PeerState::kDisconnecting:
      return "DISCONNECTING";
    case PeerState::kDisconnected:
      return "DISCONNECTED";
    case PeerState::kConnFailed:
      return "CONN_FAILED";
  }
  return "?";
}

bool ConfigEvent::SetPayload(ConstByteSpan d) {
  const size_t n = std::min(d.size(), data.size());
  std::copy_n(d.begin(), n, data.begin());
  data_len = static_cast<uint8_t>(n);
  return n == d.size();
}

}  // namespace smpkit::desktop
