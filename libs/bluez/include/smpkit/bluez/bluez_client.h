#pragma once
// A client of BlueZ's D-Bus API (org.bluez, BlueZ 5.66 as in Debian 12): the default adapter,
// discovery filtered on the SMP service, Device1 connect/pair, and the SMP characteristic's
// GattCharacteristic1 (AcquireWrite/AcquireNotify, WriteValue/StartNotify as fallbacks).
// Synchronous: each call runs the bus until its answer (signals received meanwhile are
// queued for the caller's own processing).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/bluez/dbus.h"

namespace smpkit::bluez {

// BlueZ writes UUIDs in lower case.
inline constexpr std::string_view kSmpServiceUuid = "8d53dc1d-1db7-4cd3-868b-8a527460aa84";
inline constexpr std::string_view kSmpCharacteristicUuid = "da2e7828-fbce-4e01-ae9e-261174997c48";
inline constexpr const char* kBluez = "org.bluez";

struct AdapterInfo {
  std::string path;  // /org/bluez/hci0
  std::string address;
  bool powered = false;
};

struct DeviceInfo {
  std::string path;
  std::string address;
  std::string name;  // Name, else Alias
  std::optional<int16_t> rssi;
  bool connected = false;
  bool paired = false;
  bool services_resolved = false;
  bool smp = false;  // advertises or offers the SMP service
};

// A file descriptor from AcquireWrite/AcquireNotify and the ATT MTU BlueZ gave with it.
struct AcquiredFd {
  int fd = -1;
  uint16_t mtu = 0;
};

// "AA:BB:CC:DD:EE:FF" (any case) -> true.
bool LooksLikeAddress(std::string_view text);

class BluezClient {
 public:
  // Errors: as OpenSystemBus.
  static Result<BluezClient> Open(const std::string& bus_address = "");

  sd_bus* bus() { return bus_.get(); }

  // The first adapter (hci0 before hci1). Errors: kNotFound when BlueZ has no adapter or
  // is not on the bus; kBadState when it is powered off (naming it).
  Result<AdapterInfo> Adapter();
  // Every device BlueZ knows under `adapter`.
  Result<std::vector<DeviceInfo>> Devices(const std::string& adapter);
  // Discovery filtered on the SMP service (LE) for `duration`; the SMP devices seen.
  // Errors: the adapter's; StartDiscovery's (kBadState when not ready).
  Result<std::vector<DeviceInfo>> Scan(const std::string& adapter,
                                       std::chrono::milliseconds duration);
  // A device by address or (unique) name, discovering for up to `timeout` when BlueZ does not
  // know it yet. Errors: kNotFound (nothing within the timeout), kInvalidArgument (a name
  // that several devices carry, listing them).
  Result<DeviceInfo> Find(const std::string& adapter, const std::string& target,
                          std::chrono::milliseconds timeout);
  Result<DeviceInfo> Device(const std::string& path);

  Status Connect(const std::string& device, std::chrono::milliseconds timeout);
  Status Disconnect(const std::string& device);
  // Device1.Pair; an already paired device is fine. Errors: kAccessDenied (authentication
  // failed or rejected), others as the call's.
  Status Pair(const std::string& device, std::chrono::milliseconds timeout);
  // Waits for ServicesResolved, then finds the SMP characteristic's object path.
  // Errors: kTimeout, kNotFound (the device has no SMP characteristic), kBadState
  // (the device disconnected).
  Result<std::string> SmpCharacteristic(const std::string& device,
                                        std::chrono::milliseconds timeout);

  // Errors carry the D-Bus error name in `*err_name`.
  Result<AcquiredFd> AcquireWrite(const std::string& chr, std::string* err_name = nullptr);
  Result<AcquiredFd> AcquireNotify(const std::string& chr, std::string* err_name = nullptr);
  Status StartNotify(const std::string& chr, std::string* err_name = nullptr);
  // The characteristic's MTU property (BlueZ >= 5.62), if any.
  std::optional<uint16_t> CharacteristicMtu(const std::string& chr);
  // WriteValue with type "command", not waiting for an answer (as a write command has none).
  Status WriteCommand(const std::string& chr, ConstByteSpan value);

 private:
  explicit BluezClient(BusPtr bus) : bus_(std::move(bus)) {}
  Result<AcquiredFd> Acquire(const std::string& chr, const char* member, std::string* err_name);
  BusPtr bus_;
};

}  // namespace smpkit::bluez
