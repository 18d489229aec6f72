#include "smpkit/bluez/bluez_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace smpkit::bluez {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kCallTimeout{5000};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// path -> interface -> properties
using Objects = std::map<std::string, std::map<std::string, Properties>>;

Result<Objects> ManagedObjects(sd_bus* bus) {
  SMPKIT_ASSIGN_OR_RETURN(MessagePtr reply,
                          Call(bus, kBluez, "/", "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", kCallTimeout));
  sd_bus_message* m = reply.get();
  Objects objects;
  const Error bad(Errc::kCorrupt, "malformed GetManagedObjects answer");
  if (sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}") < 0) return bad;
  while (true) {
    int r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}");
    if (r < 0) return bad;
    if (r == 0) break;
    const char* path = nullptr;
    if (sd_bus_message_read_basic(m, 'o', &path) < 0) return bad;
    auto& ifaces = objects[path];
    if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") < 0) return bad;
    while (true) {
      r = sd_bus_message_enter_container(m, 'e', "sa{sv}");
      if (r < 0) return bad;
      if (r == 0) break;
      const char* iface = nullptr;
      if (sd_bus_message_read_basic(m, 's', &iface) < 0) return bad;
      std::string name = iface;
      SMPKIT_ASSIGN_OR_RETURN(ifaces[name], ReadProperties(m));
      if (sd_bus_message_exit_container(m) < 0) return bad;
    }
    if (sd_bus_message_exit_container(m) < 0 || sd_bus_message_exit_container(m) < 0) return bad;
  }
  return objects;
}

DeviceInfo ToDevice(const std::string& path, const Properties& p) {
  DeviceInfo d;
  d.path = path;
  d.address = GetString(p, "Address");
  d.name = GetString(p, "Name");
  if (d.name.empty()) d.name = GetString(p, "Alias");
  if (auto rssi = GetInt(p, "RSSI")) d.rssi = static_cast<int16_t>(*rssi);
  d.connected = GetBool(p, "Connected");
  d.paired = GetBool(p, "Paired");
  d.services_resolved = GetBool(p, "ServicesResolved");
  for (const auto& u : GetStrings(p, "UUIDs")) {
    if (Lower(u) == kSmpServiceUuid) d.smp = true;
  }
  return d;
}

bool Under(const std::string& path, const std::string& parent) {
  return path.size() > parent.size() && path.compare(0, parent.size(), parent) == 0 &&
         path[parent.size()] == '/';
}

}  // namespace

bool LooksLikeAddress(std::string_view t) {
  if (t.size() != 17) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i % 3 == 2) {
      if (t[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(t[i]))) {
      return false;
    }
  }
  return true;
}

Result<BluezClient> BluezClient::Open(const std::string& bus_address) {
  SMPKIT_ASSIGN_OR_RETURN(BusPtr bus, OpenSystemBus(bus_address));
  return BluezClient(std::move(bus));
}

Result<AdapterInfo> BluezClient::Adapter() {
  auto objects = ManagedObjects(bus());
  if (!objects.ok()) {
    return Error::Format(Errc::kNotFound, "BlueZ is not reachable on the system bus (%s)",
                         std::string(objects.error().message()).c_str());
  }
  for (const auto& [path, ifaces] : *objects) {
    auto it = ifaces.find("org.bluez.Adapter1");
    if (it == ifaces.end()) continue;
    AdapterInfo a;
    a.path = path;
    a.address = GetString(it->second, "Address");
    a.powered = GetBool(it->second, "Powered");
    if (!a.powered) {
      const std::string name = path.substr(path.rfind('/') + 1);
      return Error::Format(Errc::kBadState,
                           "Bluetooth adapter %s (%s) is powered off (bluetoothctl power on)",
                           name.c_str(), a.address.c_str());
    }
    return a;
  }
  return Error(Errc::kNotFound, "no Bluetooth adapter: BlueZ lists none");
}

Result<std::vector<DeviceInfo>> BluezClient::Devices(const std::string& adapter) {
  SMPKIT_ASSIGN_OR_RETURN(Objects objects, ManagedObjects(bus()));
  std::vector<DeviceInfo> out;
  for (const auto& [path, ifaces] : objects) {
    auto it = ifaces.find("org.bluez.Device1");
    if (it == ifaces.end() || !Under(path, adapter)) continue;
    out.push_back(ToDevice(path, it->second));
  }
  return out;
}

Result<std::vector<DeviceInfo>> BluezClient::Scan(const std::string& adapter,
                                                  milliseconds duration) {
  SMPKIT_ASSIGN_OR_RETURN(
      MessagePtr f, Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "SetDiscoveryFilter",
                         kCallTimeout, [](sd_bus_message* m) {
                           const std::string uuid(kSmpServiceUuid);
                           return sd_bus_message_append(m, "a{sv}", 2, "UUIDs", "as", 1,
                                                        uuid.c_str(), "Transport", "s", "le");
                         }));
  std::string err;
  auto started = Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "StartDiscovery",
                      kCallTimeout, {}, &err);
  // InProgress: another client is discovering already, which serves as well.
  if (!started.ok() && err != "org.bluez.Error.InProgress") return started.error();
  SMPKIT_TRY(RunBusUntil(bus(), duration, [] { return false; }));
  if (started.ok()) {
    (void)Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "StopDiscovery", kCallTimeout);
  }
  SMPKIT_ASSIGN_OR_RETURN(auto devices, Devices(adapter));
  std::vector<DeviceInfo> out;
  for (auto& d : devices) {
    if (d.smp && (d.rssi || d.connected)) out.push_back(std::move(d));
  }
  return out;
}

Result<DeviceInfo> BluezClient::Find(const std::string& adapter, const std::string& target,
                                     milliseconds timeout) {
  const bool by_address = LooksLikeAddress(target);
  // A name is matched among the devices around now (seen by this discovery or connected),
  // so that a stale cache entry does not make it ambiguous.
  auto match = [&](const std::vector<DeviceInfo>& devices) -> Result<std::optional<DeviceInfo>> {
    std::vector<DeviceInfo> hits;
    for (const auto& d : devices) {
      if (by_address ? Lower(d.address) == Lower(target)
                     : d.name == target && (d.rssi || d.connected)) {
        hits.push_back(d);
      }
    }
    if (hits.size() > 1) {
      std::string list;
      for (const auto& h : hits) list += (list.empty() ? "" : ", ") + h.address;
      return Error::Format(Errc::kInvalidArgument,
                           "several devices are named \"%s\" (%s): use ble:ADDRESS",
                           target.c_str(), list.c_str());
    }
    if (hits.empty()) return std::optional<DeviceInfo>();
    return std::optional<DeviceInfo>(hits[0]);
  };
  if (by_address) {
    SMPKIT_ASSIGN_OR_RETURN(auto known, Devices(adapter));
    SMPKIT_ASSIGN_OR_RETURN(auto hit, match(known));
    if (hit) return *hit;
  }
  SMPKIT_TRY(Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "SetDiscoveryFilter",
                  kCallTimeout, [](sd_bus_message* m) {
                    const std::string uuid(kSmpServiceUuid);
                    return sd_bus_message_append(m, "a{sv}", 2, "UUIDs", "as", 1, uuid.c_str(),
                                                 "Transport", "s", "le");
                  }));
  std::string err;
  auto started = Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "StartDiscovery",
                      kCallTimeout, {}, &err);
  if (!started.ok() && err != "org.bluez.Error.InProgress") return started.error();
  const auto now = [] { return std::chrono::steady_clock::now(); };
  const auto deadline = now() + timeout;
  // After a name first matches, discovery goes on briefly to see whether it is unique.
  std::optional<std::chrono::steady_clock::time_point> settle;
  Result<std::optional<DeviceInfo>> found = std::optional<DeviceInfo>();
  while (true) {
    auto devices = Devices(adapter);
    if (!devices.ok()) {
      found = devices.error();
      break;
    }
    found = match(*devices);
    if (!found.ok()) break;
    if (*found) {
      if (by_address) break;
      if (!settle) settle = now() + milliseconds(1000);
      if (now() >= *settle) break;
    }
    if (now() >= deadline) break;
    auto ran = RunBusUntil(bus(), milliseconds(100), [] { return false; });
    if (!ran.ok()) {
      found = ran.error();
      break;
    }
  }
  if (started.ok()) {
    (void)Call(bus(), kBluez, adapter, "org.bluez.Adapter1", "StopDiscovery", kCallTimeout);
  }
  if (!found.ok()) return found.error();
  if (!*found) {
    return Error::Format(Errc::kNotFound, "no Bluetooth LE device %s%s%s found within %.1f s",
                         by_address ? "" : "named \"", target.c_str(), by_address ? "" : "\"",
                         static_cast<double>(timeout.count()) / 1000.0);
  }
  return **found;
}

Result<DeviceInfo> BluezClient::Device(const std::string& path) {
  SMPKIT_ASSIGN_OR_RETURN(
      MessagePtr reply, Call(bus(), kBluez, path, "org.freedesktop.DBus.Properties", "GetAll",
                             kCallTimeout, [](sd_bus_message* m) {
                               return sd_bus_message_append(m, "s", "org.bluez.Device1");
                             }));
  SMPKIT_ASSIGN_OR_RETURN(Properties p, ReadProperties(reply.get()));
  return ToDevice(path, p);
}

Status BluezClient::Connect(const std::string& device, milliseconds timeout) {
  std::string err;
  auto r = Call(bus(), kBluez, device, "org.bluez.Device1", "Connect", timeout, {}, &err);
  if (r.ok() || err == "org.bluez.Error.AlreadyConnected") return Ok();
  if (err == "org.bluez.Error.InProgress") {
    auto done = RunBusUntil(bus(), timeout, [&] {
      auto d = Device(device);
      return d.ok() && d->connected;
    });
    if (done.ok() && *done) return Ok();
  }
  return r.error();
}

Status BluezClient::Disconnect(const std::string& device) {
  SMPKIT_TRY(Call(bus(), kBluez, device, "org.bluez.Device1", "Disconnect", kCallTimeout));
  return Ok();
}

Status BluezClient::Pair(const std::string& device, milliseconds timeout) {
  std::string err;
  auto r = Call(bus(), kBluez, device, "org.bluez.Device1", "Pair", timeout, {}, &err);
  if (r.ok() || err == "org.bluez.Error.AlreadyExists") return Ok();
  return Error::Format(r.error().code() == Errc::kIo ? Errc::kAccessDenied : r.error().code(),
                       "pairing failed: %s", std::string(r.error().message()).c_str());
}

Result<std::string> BluezClient::SmpCharacteristic(const std::string& device,
                                                   milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    SMPKIT_ASSIGN_OR_RETURN(Objects objects, ManagedObjects(bus()));
    auto dev = objects.find(device);
    if (dev == objects.end()) return Error(Errc::kNotFound, "the device went away");
    const Properties& dp = dev->second["org.bluez.Device1"];
    if (!GetBool(dp, "Connected")) return Error(Errc::kBadState, "the device disconnected");
    if (GetBool(dp, "ServicesResolved")) {
      for (const auto& [path, ifaces] : objects) {
        auto it = ifaces.find("org.bluez.GattCharacteristic1");
        if (it == ifaces.end() || !Under(path, device)) continue;
        if (Lower(GetString(it->second, "UUID")) == kSmpCharacteristicUuid) return path;
      }
      return Error(Errc::kNotFound,
                   "the device offers no SMP characteristic (DA2E7828-FBCE-4E01-AE9E-261174997C48)");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(Errc::kTimeout, "the device's GATT services were not resolved in time");
    }
    SMPKIT_TRY(RunBusUntil(bus(), milliseconds(50), [] { return false; }));
  }
}

Result<AcquiredFd> BluezClient::Acquire(const std::string& chr, const char* member,
                                        std::string* err_name) {
  SMPKIT_ASSIGN_OR_RETURN(
      MessagePtr reply,
      Call(bus(), kBluez, chr, "org.bluez.GattCharacteristic1", member, kCallTimeout,
           [](sd_bus_message* m) { return sd_bus_message_append(m, "a{sv}", 0); }, err_name));
  int fd = -1;
  uint16_t mtu = 0;
  if (sd_bus_message_read(reply.get(), "hq", &fd, &mtu) < 0) {
    return Error::Format(Errc::kCorrupt, "malformed %s answer", member);
  }
  // The message owns its descriptor: keep a copy.
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0) return Error::Format(Errc::kIo, "%s: cannot keep the descriptor", member);
  return AcquiredFd{own, mtu};
}

Result<AcquiredFd> BluezClient::AcquireWrite(const std::string& chr, std::string* err_name) {
  return Acquire(chr, "AcquireWrite", err_name);
}

Result<AcquiredFd> BluezClient::AcquireNotify(const std::string& chr, std::string* err_name) {
  return Acquire(chr, "AcquireNotify", err_name);
}

Status BluezClient::StartNotify(const std::string& chr, std::string* err_name) {
  SMPKIT_TRY(Call(bus(), kBluez, chr, "org.bluez.GattCharacteristic1", "StartNotify",
                  kCallTimeout, {}, err_name));
  return Ok();
}

std::optional<uint16_t> BluezClient::CharacteristicMtu(const std::string& chr) {
  auto reply = Call(bus(), kBluez, chr, "org.freedesktop.DBus.Properties", "GetAll",
                    kCallTimeout, [](sd_bus_message* m) {
                      return sd_bus_message_append(m, "s", "org.bluez.GattCharacteristic1");
                    });
  if (!reply.ok()) return std::nullopt;
  auto p = ReadProperties(reply->get());
  if (!p.ok()) return std::nullopt;
  auto mtu = GetInt(*p, "MTU");
  if (!mtu) return std::nullopt;
  return static_cast<uint16_t>(*mtu);
}

Status BluezClient::WriteCommand(const std::string& chr, ConstByteSpan value) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus(), &m, kBluez, chr.c_str(),
                                         "org.bluez.GattCharacteristic1", "WriteValue");
  if (r < 0) return MakeCallError(nullptr, r, "WriteValue").error;
  MessagePtr owned(m);
  r = sd_bus_message_append_array(m, 'y', value.data(), value.size());
  if (r >= 0) r = sd_bus_message_append(m, "a{sv}", 1, "type", "s", "command");
  if (r >= 0) r = sd_bus_message_set_expect_reply(m, 0);
  if (r >= 0) r = sd_bus_send(bus(), m, nullptr);
  if (r < 0) return MakeCallError(nullptr, r, "WriteValue").error;
  return Ok();
}

}  // namespace smpkit::bluez
