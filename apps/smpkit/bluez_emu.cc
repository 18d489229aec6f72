// `smpkit ble emulate`: a BlueZ-compatible org.bluez service on a D-Bus bus, so that the
// BlueZ transport (`--conn ble:...`) runs end to end without a radio. It implements the parts
// of BlueZ 5.66's API the transport uses, following doc/adapter-api.txt, doc/device-api.txt
// and doc/gatt-api.txt: Adapter1 discovery, Device1 Connect/Disconnect/Pair and properties,
// GattService1, GattCharacteristic1 with AcquireWrite/AcquireNotify (SOCK_SEQPACKET sockets,
// one ATT value per datagram, the ATT MTU returned with the descriptor), WriteValue
// (type=command) and StartNotify/StopNotify with Value in PropertiesChanged, and their
// errors (NotReady, NotConnected, NotPermitted, NotSupported, InProgress, Failed,
// AuthenticationFailed, AlreadyExists). As BlueZ with its default GATT cache, the service
// objects stay after a disconnect; only Connected/ServicesResolved change.
//
// Behind it is the simulated nRF Desktop device on the BLE link model, in real time: this
// process plays BlueZ's side of the radio (the GATT client on the central end of the link),
// so MTU, connection events, latency, DFU lock and resets behave as in the simulation, and
// the device's log (ble_smp_transfer_event, dfu_lock, ble_latency) is printed on stdout.
#include "bluez_emu.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <asio.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "ble_dfu.h"
#include "commands.h"
#include "desktop_host.h"
#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"
#include "smpkit/bluez/bluez_client.h"
#include "smpkit/bluez/dbus.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/sim/real_time.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

namespace {

using bluez::MessagePtr;
using bluez::SlotPtr;

constexpr const char* kAdapterPath = "/org/bluez/hci0";
constexpr const char* kAdapterAddress = "00:1A:7D:DA:71:13";
// How long a device that dropped the link (a reboot) stays away before it advertises again.
constexpr auto kAwayAfterLoss = sim::Ms(700);

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class Emulator {
 public:
  Emulator(asio::io_context& io, sd_bus* bus, sim::Scheduler& sched, desktop::DesktopDevice& dev,
           std::vector<std::unique_ptr<ble::Link>>& links, const BluezEmuOptions& opt)
      : io_(io), bus_(bus), sched_(sched), dev_(dev), opt_(opt), driver_(sched), pump_(io),
        bus_sd_(io), write_sd_(io), notify_sd_(io), recut_timer_(io), ccc_timer_(io), advertise_timer_(io),
        links_(links) {
    rssi_ = opt.rssi;
    std::string addr = Upper(opt.address);
    for (char& c : addr) {
      if (c == ':') c = '_';
    }
    device_path_ = std::string(kAdapterPath) + "/dev_" + addr;
    service_path_ = device_path_ + "/service0010";
    char_path_ = service_path_ + "/char0011";
  }

  Status Start() {
    sd_bus_slot* slot = nullptr;
    if (sd_bus_add_object_manager(bus_, &slot, "/") < 0) {
      return Error(Errc::kIo, "cannot add the object manager");
    }
    slots_.emplace_back(slot);
    SMPKIT_TRY(AddVtable(kAdapterPath, "org.bluez.Adapter1", kAdapterVtable));
    int r = sd_bus_request_name(bus_, "org.bluez", 0);
    if (r < 0) {
      return Error::Format(Errc::kIo, "cannot own org.bluez on the bus: %s", std::strerror(-r));
    }
    WatchBus();
    Pump();
    return Ok();
  }

  void Stop() {
    if (link_ != nullptr && link_->connected()) (void)link_->Disconnect(ble::Role::kCentral);
  }

 private:
  // --- plumbing ---------------------------------------------------------------------------
  Status AddVtable(const std::string& path, const char* iface, const sd_bus_vtable* vt) {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(bus_, &slot, path.c_str(), iface, vt, this);
    if (r < 0) {
      return Error::Format(Errc::kIo, "cannot export %s on %s: %s", iface, path.c_str(),
                           std::strerror(-r));
    }
    slots_.emplace_back(slot);
    return Ok();
  }

  void WatchBus() {
    if (!bus_sd_.is_open()) {
      asio::error_code ec;
      bus_sd_.assign(::dup(sd_bus_get_fd(bus_)), ec);
      if (ec) return;
    }
    bus_sd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
      if (ec) return;
      ProcessBus();
      WatchBus();
    });
  }

  void ProcessBus() {
    while (sd_bus_process(bus_, nullptr) > 0) {
    }
    sd_bus_flush(bus_);
    Pump();
  }

  // Runs the simulation up to now and sleeps until its next task (or 50 ms).
  void Pump() {
    driver_.Poll();
    LogTransferEvents();
    sd_bus_flush(bus_);
    auto next = driver_.TimeUntilNextTask().value_or(std::chrono::milliseconds(50));
    pump_.expires_after(
        std::min<std::chrono::steady_clock::duration>(next, std::chrono::milliseconds(50)));
    pump_.async_wait([this](const asio::error_code& e) {
      if (!e) Pump();
    });
  }

  // The smp module submits a ble_smp_transfer_event per SMP packet (the latency module keeps
  // the link at low latency on them): summarised at most every 500 ms of device time.
  void LogTransferEvents() {
    const uint64_t total = dev_.bus().submitted<desktop::BleSmpTransferEvent>();
    if (total == transfer_logged_ || opt_.quiet) return;
    if (transfer_logged_ != 0 && sched_.Now() - transfer_logged_at_ < sim::Ms(500)) return;
    fmt::print("{:>12}  {:<13} ble_smp_transfer_event x{} (total {})\n",
               sim::FormatTime(sched_.Now()), "smp", total - transfer_logged_, total);
    std::fflush(stdout);
    transfer_logged_ = total;
    transfer_logged_at_ = sched_.Now();
  }

  void Log(std::string_view text) {
    if (opt_.quiet) return;
    fmt::print("{:>12}  {:<13} {}\n", sim::FormatTime(sched_.Now()), "bluez-emu", text);
    std::fflush(stdout);
  }

  void Emit(const std::string& path, const char* iface, const char* prop) {
    sd_bus_emit_properties_changed(bus_, path.c_str(), iface, prop, nullptr);
  }

  static Emulator* Self(void* userdata) { return static_cast<Emulator*>(userdata); }

  static int ReplyError(sd_bus_error* err, const char* name, const char* message) {
    return sd_bus_error_set(err, name, message);
  }

  // --- Adapter1 ---------------------------------------------------------------------------
  static int AdapterGet(sd_bus*, const char*, const char*, const char* prop, sd_bus_message* reply,
                        void* userdata, sd_bus_error*) {
    Emulator* e = Self(userdata);
    const std::string p = prop;
    if (p == "Address") return sd_bus_message_append(reply, "s", kAdapterAddress);
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "public");
    if (p == "Name" || p == "Alias") return sd_bus_message_append(reply, "s", "smpkit-emu");
    if (p == "Powered") return sd_bus_message_append(reply, "b", e->opt_.powered);
    if (p == "Discoverable") return sd_bus_message_append(reply, "b", false);
    if (p == "Pairable") return sd_bus_message_append(reply, "b", true);
    if (p == "Discovering") return sd_bus_message_append(reply, "b", e->discovering_);
    if (p == "UUIDs") return sd_bus_message_append(reply, "as", 0);
    return -ENOENT;
  }

  static int StartDiscovery(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->opt_.powered) return ReplyError(err, "org.bluez.Error.NotReady", "Resource Not Ready");
    if (e->discovering_) {
      return ReplyError(err, "org.bluez.Error.InProgress", "Operation already in progress");
    }
    e->discovering_ = true;
    e->Emit(kAdapterPath, "org.bluez.Adapter1", "Discovering");
    e->Advertise(std::chrono::milliseconds(150));
    return sd_bus_reply_method_return(m, "");
  }

  static int StopDiscovery(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->opt_.powered) return ReplyError(err, "org.bluez.Error.NotReady", "Resource Not Ready");
    if (!e->discovering_) return ReplyError(err, "org.bluez.Error.Failed", "No discovery started");
    e->discovering_ = false;
    e->advertise_timer_.cancel();
    e->Emit(kAdapterPath, "org.bluez.Adapter1", "Discovering");
    return sd_bus_reply_method_return(m, "");
  }

  static int SetDiscoveryFilter(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->opt_.powered) return ReplyError(err, "org.bluez.Error.NotReady", "Resource Not Ready");
    auto props = bluez::ReadProperties(m);
    if (!props.ok()) return ReplyError(err, "org.bluez.Error.InvalidArguments", "Invalid arguments");
    return sd_bus_reply_method_return(m, "");
  }

  // The device advertises (when it is not rebooting or connected): BlueZ then creates its
  // object, or updates its RSSI.
  void Advertise(std::chrono::milliseconds after) {
    advertise_timer_.expires_after(after);
    advertise_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec || !discovering_) return;
      if (sched_.Now() >= away_until_ && !connected_) {
        if (!device_exported_) {
          device_exported_ = true;
          if (AddVtable(device_path_, "org.bluez.Device1", kDeviceVtable).ok()) {
            sd_bus_emit_object_added(bus_, device_path_.c_str());
            Log(fmt::format("device {} \"{}\" found (RSSI {})", opt_.address, opt_.name, rssi_));
          }
        } else {
          rssi_ = static_cast<int16_t>(opt_.rssi - (++adv_count_ % 3));
          Emit(device_path_, "org.bluez.Device1", "RSSI");
        }
        sd_bus_flush(bus_);
      }
      Advertise(std::chrono::milliseconds(500));
    });
  }

  // --- Device1 ----------------------------------------------------------------------------
  static int DeviceGet(sd_bus*, const char*, const char*, const char* prop, sd_bus_message* reply,
                       void* userdata, sd_bus_error*) {
    Emulator* e = Self(userdata);
    const std::string p = prop;
    if (p == "Address") return sd_bus_message_append(reply, "s", e->opt_.address.c_str());
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "random");
    if (p == "Name" || p == "Alias") return sd_bus_message_append(reply, "s", e->opt_.name.c_str());
    if (p == "Appearance") return sd_bus_message_append(reply, "q", uint16_t{0x03c2});  // mouse
    if (p == "Paired" || p == "Bonded") return sd_bus_message_append(reply, "b", e->paired_);
    if (p == "Trusted" || p == "Blocked" || p == "LegacyPairing") {
      return sd_bus_message_append(reply, "b", false);
    }
    if (p == "Connected") return sd_bus_message_append(reply, "b", e->connected_);
    if (p == "ServicesResolved") return sd_bus_message_append(reply, "b", e->resolved_);
    if (p == "RSSI") return sd_bus_message_append(reply, "n", e->rssi_);
    if (p == "Adapter") return sd_bus_message_append(reply, "o", kAdapterPath);
    if (p == "UUIDs") {
      const std::string smp(bluez::kSmpServiceUuid);
      return sd_bus_message_append(reply, "as", 3, "00001800-0000-1000-8000-00805f9b34fb",
                                   "00001801-0000-1000-8000-00805f9b34fb", smp.c_str());
    }
    return -ENOENT;
  }

  static int Connect(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->opt_.powered) return ReplyError(err, "org.bluez.Error.NotReady", "Resource Not Ready");
    if (e->connected_) return sd_bus_reply_method_return(m, "");
    if (e->pending_connect_) {
      return ReplyError(err, "org.bluez.Error.InProgress", "In Progress");
    }
    e->pending_connect_.reset(sd_bus_message_ref(m));
    if (e->sched_.Now() < e->away_until_ || e->dev_.link_attached() || !e->dev_.running()) {
      // Not advertising (rebooting, the bootloader swapping, or its previous link still
      // terminating): the connection
      // attempt times out, as BlueZ reports it.
      e->sched_.PostAfter(sim::Ms(200), [e] {
        e->FailPendingConnect("org.bluez.Error.Failed", "le-connection-abort-by-local");
      });
      e->Pump();
      return 1;
    }
    e->StartLink();
    e->Pump();
    return 1;
  }

  void FailPendingConnect(const char* name, const char* message) {
    if (!pending_connect_) return;
    sd_bus_error error = SD_BUS_ERROR_MAKE_CONST(name, message);
    sd_bus_reply_method_error(pending_connect_.get(), &error);
    pending_connect_.reset();
    sd_bus_flush(bus_);
  }

  void StartLink() {
    BleDfuSetup setup;
    links_.push_back(std::make_unique<ble::Link>(
        sched_, desktop::WithPeripheralSide(dev_.config(), PhoneLink(setup))));
    ble::Link& link = *links_.back();
    if (!link.Connect().ok() || !dev_.AttachLink(link, opt_.mtu).ok()) {
      FailPendingConnect("org.bluez.Error.Failed", "le-connection-abort-by-remote");
      return;
    }
    link_ = &link;
    const uint64_t gen = ++generation_;
    link.AddDisconnectListener([this, gen](uint8_t reason) {
      if (gen == generation_) OnLinkDown(reason);
    });
    gatt_ = std::make_shared<ble::GattSmpClient>(link, opt_.mtu);
    gatt_->SetNotificationHandler([this](ConstByteSpan value) { OnNotification(value); });
    (void)gatt_->ExchangeMtu([this, gen](uint16_t mtu) {
      if (gen != generation_) return;
      mtu_ = mtu;
      connected_ = true;
      if (paired_) dev_.SetLinkSecured();
      Emit(device_path_, "org.bluez.Device1", "Connected");
      if (!gatt_exported_) {
        gatt_exported_ = true;
        (void)AddVtable(service_path_, "org.bluez.GattService1", kServiceVtable);
        (void)AddVtable(char_path_, "org.bluez.GattCharacteristic1", kCharVtable);
        sd_bus_emit_object_added(bus_, service_path_.c_str());
        sd_bus_emit_object_added(bus_, char_path_.c_str());
      } else {
        Emit(char_path_, "org.bluez.GattCharacteristic1", "MTU");
      }
      resolved_ = true;
      Emit(device_path_, "org.bluez.Device1", "ServicesResolved");
      Log(fmt::format("connected, ATT MTU {}{}", mtu, paired_ ? ", encrypted (bonded)" : ""));
      if (pending_connect_) {
        sd_bus_reply_method_return(pending_connect_.get(), "");
        pending_connect_.reset();
      }
      sd_bus_flush(bus_);
    });
  }

  void OnLinkDown(uint8_t reason) {
    const bool by_client = reason == ble::kReasonLocalHostTerminated;
    Log(fmt::format("link down (reason 0x{:02x}{})", reason, by_client ? ", Disconnect()" : ""));
    ++generation_;
    link_ = nullptr;
    // The GATT client registered handlers on the link: let it go outside this callback.
    asio::post(io_, [g = std::move(gatt_)] {});
    if (!by_client) away_until_ = sched_.Now() + kAwayAfterLoss;
    FailPendingConnect("org.bluez.Error.Failed", "le-connection-abort-by-remote");
    if (pending_disconnect_) {
      sd_bus_reply_method_return(pending_disconnect_.get(), "");
      pending_disconnect_.reset();
    }
    if (pending_notify_) {
      sd_bus_error error = SD_BUS_ERROR_MAKE_CONST("org.bluez.Error.NotConnected", "Not Connected");
      sd_bus_reply_method_error(pending_notify_.get(), &error);
      pending_notify_.reset();
    }
    CloseNotify();
    CloseWrite();
    const bool was_notifying = notifying_;
    notifying_ = false;
    connected_ = false;
    resolved_ = false;
    recut_buf_.clear();
    if (was_notifying) Emit(char_path_, "org.bluez.GattCharacteristic1", "Notifying");
    if (device_exported_) {
      sd_bus_emit_properties_changed(bus_, device_path_.c_str(), "org.bluez.Device1",
                                     "ServicesResolved", "Connected", nullptr);
    }
    sd_bus_flush(bus_);
  }

  static int Disconnect(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->connected_ || e->link_ == nullptr) {
      return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    }
    if (e->pending_disconnect_) return ReplyError(err, "org.bluez.Error.InProgress", "In Progress");
    // As BlueZ, the answer comes once the link is down.
    e->pending_disconnect_.reset(sd_bus_message_ref(m));
    (void)e->link_->Disconnect(ble::Role::kCentral, ble::kReasonLocalHostTerminated);
    e->Pump();
    return 1;
  }

  static int Pair(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (e->paired_) return ReplyError(err, "org.bluez.Error.AlreadyExists", "Already Exists");
    if (!e->connected_) return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    if (e->opt_.refuse_pairing) {
      e->Log("pairing refused by the device");
      return ReplyError(err, "org.bluez.Error.AuthenticationFailed", "Authentication Failed");
    }
    e->SetPaired();
    return sd_bus_reply_method_return(m, "");
  }

  static int CancelPairing(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "");
  }

  void SetPaired() {
    paired_ = true;
    Log("paired (Just Works), link encrypted");
    if (link_ != nullptr) dev_.SetLinkSecured();
    sd_bus_emit_properties_changed(bus_, device_path_.c_str(), "org.bluez.Device1", "Paired",
                                   "Bonded", nullptr);
  }

  // --- GattService1 -----------------------------------------------------------------------
  static int ServiceGet(sd_bus*, const char*, const char*, const char* prop, sd_bus_message* reply,
                        void* userdata, sd_bus_error*) {
    Emulator* e = Self(userdata);
    const std::string p = prop;
    const std::string uuid(bluez::kSmpServiceUuid);
    if (p == "UUID") return sd_bus_message_append(reply, "s", uuid.c_str());
    if (p == "Device") return sd_bus_message_append(reply, "o", e->device_path_.c_str());
    if (p == "Primary") return sd_bus_message_append(reply, "b", true);
    if (p == "Handle") return sd_bus_message_append(reply, "q", uint16_t{0x0010});
    return -ENOENT;
  }

  // --- GattCharacteristic1 ----------------------------------------------------------------
  static int CharGet(sd_bus*, const char*, const char*, const char* prop, sd_bus_message* reply,
                     void* userdata, sd_bus_error*) {
    Emulator* e = Self(userdata);
    const std::string p = prop;
    const std::string uuid(bluez::kSmpCharacteristicUuid);
    if (p == "UUID") return sd_bus_message_append(reply, "s", uuid.c_str());
    if (p == "Service") return sd_bus_message_append(reply, "o", e->service_path_.c_str());
    if (p == "Value") {
      return sd_bus_message_append_array(reply, 'y', e->value_.data(), e->value_.size());
    }
    if (p == "Notifying") return sd_bus_message_append(reply, "b", e->notifying_);
    if (p == "WriteAcquired") return sd_bus_message_append(reply, "b", e->write_fd_ >= 0);
    if (p == "NotifyAcquired") return sd_bus_message_append(reply, "b", e->notify_fd_ >= 0);
    if (p == "MTU") return sd_bus_message_append(reply, "q", e->mtu_);
    if (p == "Handle") return sd_bus_message_append(reply, "q", uint16_t{0x0012});
    if (p == "Flags") {
      return sd_bus_message_append(reply, "as", 2, "write-without-response", "notify");
    }
    return -ENOENT;
  }

  static int ReadValue(sd_bus_message*, void*, sd_bus_error* err) {
    return ReplyError(err, "org.bluez.Error.NotPermitted", "Read not permitted");
  }

  static int WriteValue(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    const void* data = nullptr;
    size_t size = 0;
    if (sd_bus_message_read_array(m, 'y', &data, &size) < 0) {
      return ReplyError(err, "org.bluez.Error.InvalidArguments", "Invalid arguments");
    }
    auto options = bluez::ReadProperties(m);
    if (!options.ok()) {
      return ReplyError(err, "org.bluez.Error.InvalidArguments", "Invalid arguments");
    }
    if (!e->connected_) return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    if (e->write_fd_ >= 0) return ReplyError(err, "org.bluez.Error.NotPermitted", "Write acquired");
    const std::string type = bluez::GetString(*options, "type");
    if (!type.empty() && type != "command") {
      // The SMP characteristic has no Write property: only write commands.
      return ReplyError(err, "org.bluez.Error.NotSupported", "Operation is not supported");
    }
    if (size > e->mtu_ - 3u) {
      return ReplyError(err, "org.bluez.Error.InvalidValueLength", "Invalid Length");
    }
    e->HandleWrite(ConstByteSpan(static_cast<const uint8_t*>(data), size));
    e->Pump();
    if (sd_bus_message_get_expect_reply(m)) return sd_bus_reply_method_return(m, "");
    return 1;
  }

  // Security of enabling notifications on an unpaired link. Returns 0 to go on, or an error.
  int NotifySecurity(sd_bus_error* err) {
    if (!opt_.require_pairing || paired_) return 0;
    if (opt_.notify_unpaired == "error") {
      Log("enabling notifications refused: not paired");
      return ReplyError(err, "org.bluez.Error.NotPermitted", "Not paired");
    }
    if (opt_.notify_unpaired == "auto") {
      // BlueZ meets insufficient authentication and raises the security by itself.
      if (opt_.refuse_pairing) {
        Log("pairing (raised by BlueZ) refused by the device");
        return ReplyError(err, "org.bluez.Error.Failed", "Operation failed with ATT error: 0x05");
      }
      SetPaired();
    }
    return 0;
  }

  static int AcquireWrite(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (e->opt_.no_acquire) {
      return ReplyError(err, "org.bluez.Error.NotSupported", "Operation is not supported");
    }
    if (!e->connected_) return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    if (e->write_fd_ >= 0) return ReplyError(err, "org.bluez.Error.NotPermitted", "Write acquired");
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
      return ReplyError(err, "org.bluez.Error.Failed", "socketpair failed");
    }
    e->write_fd_ = fds[0];
    asio::error_code ec;
    e->write_sd_.assign(::dup(fds[0]), ec);
    e->WatchWrite();
    int r = sd_bus_reply_method_return(m, "hq", fds[1], e->mtu_);
    ::close(fds[1]);
    e->Emit(e->char_path_, "org.bluez.GattCharacteristic1", "WriteAcquired");
    return r;
  }

  void WatchWrite() {
    write_sd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
      if (ec || write_fd_ < 0) return;
      std::array<uint8_t, 600> buf{};
      while (true) {
        ssize_t n = ::recv(write_fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
          HandleWrite(ConstByteSpan(buf.data(), static_cast<size_t>(n)));
          if (write_fd_ < 0) return;
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        CloseWrite();  // the client released it
        Emit(char_path_, "org.bluez.GattCharacteristic1", "WriteAcquired");
        sd_bus_flush(bus_);
        return;
      }
      Pump();
      WatchWrite();
    });
  }

  void CloseWrite() {
    asio::error_code ec;
    write_sd_.close(ec);
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }

  // One ATT write command from the client.
  void HandleWrite(ConstByteSpan value) {
    if (!gatt_ || !connected_) return;
    ++writes_;
    if (opt_.require_pairing && !paired_) {
      // BlueZ sends it; the device drops a write without encryption, and a write command
      // has no answer to say so.
      if (dropped_unpaired_++ == 0) Log("write command dropped: the link is not encrypted");
      return;
    }
    if (value.size() > gatt_->max_write()) return;
    (void)gatt_->WriteWithoutResponse(value);
    if (opt_.drop_link_after_writes != 0 && writes_ == opt_.drop_link_after_writes &&
        link_ != nullptr) {
      Log(fmt::format("dropping the link after {} writes (--drop-link-after-writes)", writes_));
      (void)link_->Disconnect(ble::Role::kPeripheral, ble::kReasonConnectionTimeout);
    }
  }

  static int AcquireNotify(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (e->opt_.no_acquire) {
      return ReplyError(err, "org.bluez.Error.NotSupported", "Operation is not supported");
    }
    if (!e->connected_) return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    if (e->notify_fd_ >= 0 || e->notifying_) {
      return ReplyError(err, "org.bluez.Error.NotPermitted", "Notify acquired");
    }
    if (e->pending_notify_) return ReplyError(err, "org.bluez.Error.InProgress", "In Progress");
    if (int r = e->NotifySecurity(err); r < 0) return r;
    e->pending_notify_.reset(sd_bus_message_ref(m));
    e->pending_notify_acquire_ = true;
    e->EnableCcc();
    return 1;
  }

  static int StartNotify(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->connected_) return ReplyError(err, "org.bluez.Error.NotConnected", "Not Connected");
    if (e->notify_fd_ >= 0) return ReplyError(err, "org.bluez.Error.NotPermitted", "Notify acquired");
    if (e->notifying_) return sd_bus_reply_method_return(m, "");
    if (e->pending_notify_) return ReplyError(err, "org.bluez.Error.InProgress", "In Progress");
    if (int r = e->NotifySecurity(err); r < 0) return r;
    e->pending_notify_.reset(sd_bus_message_ref(m));
    e->pending_notify_acquire_ = false;
    e->EnableCcc();
    return 1;
  }

  static int StopNotify(sd_bus_message* m, void* userdata, sd_bus_error* err) {
    Emulator* e = Self(userdata);
    if (!e->notifying_) return ReplyError(err, "org.bluez.Error.Failed", "No notify session started");
    e->notifying_ = false;
    if (e->gatt_) (void)e->gatt_->SetNotifications(false);
    e->Emit(e->char_path_, "org.bluez.GattCharacteristic1", "Notifying");
    e->Pump();
    return sd_bus_reply_method_return(m, "");
  }

  // Writes the CCC through the simulated link; the D-Bus answer waits for the write response.
  void EnableCcc() {
    const uint64_t gen = generation_;
    Status st = gatt_->SetNotifications(true, [this, gen] {
      if (gen != generation_ || !pending_notify_) return;
      if (pending_notify_acquire_) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
          sd_bus_error error = SD_BUS_ERROR_MAKE_CONST("org.bluez.Error.Failed", "socketpair failed");
          sd_bus_reply_method_error(pending_notify_.get(), &error);
        } else {
          notify_fd_ = fds[0];
          asio::error_code ec;
          notify_sd_.assign(::dup(fds[0]), ec);
          WatchNotifyPeer();
          sd_bus_reply_method_return(pending_notify_.get(), "hq", fds[1], mtu_);
          ::close(fds[1]);
          Emit(char_path_, "org.bluez.GattCharacteristic1", "NotifyAcquired");
          Log("notifications enabled (AcquireNotify)");
        }
      } else {
        notifying_ = true;
        sd_bus_reply_method_return(pending_notify_.get(), "");
        Emit(char_path_, "org.bluez.GattCharacteristic1", "Notifying");
        Log("notifications enabled (StartNotify)");
      }
      pending_notify_.reset();
      sd_bus_flush(bus_);
    });
    if (!st.ok() && st.error().code() == Errc::kBusy) {
      // Another ATT request is outstanding (the previous client's CCC write that released
      // the notifications, answered only at the peripheral's next attended event): BlueZ
      // queues ATT requests, so this one goes out once that one is answered.
      ccc_timer_.expires_after(std::chrono::milliseconds(2));
      ccc_timer_.async_wait([this, gen](const asio::error_code& ec) {
        if (!ec && gen == generation_ && pending_notify_) EnableCcc();
      });
      Pump();
      return;
    }
    if (!st.ok()) {
      sd_bus_error error = SD_BUS_ERROR_MAKE_CONST("org.bluez.Error.Failed", "Operation failed");
      sd_bus_reply_method_error(pending_notify_.get(), &error);
      pending_notify_.reset();
    }
    Pump();
  }

  // The client closes its end to release the notifications.
  void WatchNotifyPeer() {
    notify_sd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
      if (ec || notify_fd_ < 0) return;
      std::array<uint8_t, 16> buf{};
      ssize_t n = ::recv(notify_fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return WatchNotifyPeer();
      if (n > 0) return WatchNotifyPeer();
      CloseNotify();
      if (gatt_) (void)gatt_->SetNotifications(false);
      Emit(char_path_, "org.bluez.GattCharacteristic1", "NotifyAcquired");
      sd_bus_flush(bus_);
      Pump();
    });
  }

  void CloseNotify() {
    asio::error_code ec;
    notify_sd_.close(ec);
    if (notify_fd_ >= 0) ::close(notify_fd_);
    notify_fd_ = -1;
  }

  // A notification from the device (one ATT value).
  void OnNotification(ConstByteSpan value) {
    if (opt_.recut == 0) return Deliver(value);
    // Re-cut as one stream after a short delay: consecutive packets share notifications.
    recut_buf_.insert(recut_buf_.end(), value.begin(), value.end());
    if (recut_armed_) return;
    recut_armed_ = true;
    recut_timer_.expires_after(std::chrono::milliseconds(20));
    recut_timer_.async_wait([this](const asio::error_code& ec) {
      recut_armed_ = false;
      if (ec) return;
      const size_t piece = std::min<size_t>(opt_.recut, mtu_ - 3u);
      for (size_t off = 0; off < recut_buf_.size(); off += piece) {
        Deliver(ConstByteSpan(recut_buf_.data() + off, std::min(piece, recut_buf_.size() - off)));
      }
      recut_buf_.clear();
      sd_bus_flush(bus_);
    });
  }

  void Deliver(ConstByteSpan value) {
    value_.assign(value.begin(), value.end());
    if (notify_fd_ >= 0) {
      if (::send(notify_fd_, value.data(), value.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        Log("a notification was lost: the client does not read its socket");
      }
    } else if (notifying_) {
      Emit(char_path_, "org.bluez.GattCharacteristic1", "Value");
    }
  }

  static const sd_bus_vtable kAdapterVtable[];
  static const sd_bus_vtable kDeviceVtable[];
  static const sd_bus_vtable kServiceVtable[];
  static const sd_bus_vtable kCharVtable[];

  asio::io_context& io_;
  sd_bus* bus_;
  sim::Scheduler& sched_;
  desktop::DesktopDevice& dev_;
  BluezEmuOptions opt_;
  sim::RealTimeDriver driver_;
  asio::steady_timer pump_;
  asio::posix::stream_descriptor bus_sd_;
  asio::posix::stream_descriptor write_sd_;
  asio::posix::stream_descriptor notify_sd_;
  asio::steady_timer recut_timer_;
  asio::steady_timer ccc_timer_;  // a CCC write waiting for the ATT request before it
  asio::steady_timer advertise_timer_;
  std::vector<SlotPtr> slots_;
  std::string device_path_, service_path_, char_path_;
  bool discovering_ = false;
  bool device_exported_ = false;
  bool gatt_exported_ = false;
  bool connected_ = false;
  bool resolved_ = false;
  bool paired_ = false;
  bool notifying_ = false;
  int write_fd_ = -1;
  int notify_fd_ = -1;
  int16_t rssi_ = -48;
  uint32_t adv_count_ = 0;
  uint16_t mtu_ = 23;
  uint64_t generation_ = 0;
  uint64_t writes_ = 0;
  uint64_t dropped_unpaired_ = 0;
  sim::Time away_until_{0};
  uint64_t transfer_logged_ = 0;
  sim::Time transfer_logged_at_{0};
  MessagePtr pending_connect_;
  MessagePtr pending_notify_;
  MessagePtr pending_disconnect_;
  bool pending_notify_acquire_ = false;
  std::vector<uint8_t> value_;
  std::vector<uint8_t> recut_buf_;
  bool recut_armed_ = false;
  // Links outlive everything that may still reference them (the device, the GATT client).
  std::vector<std::unique_ptr<ble::Link>>& links_;
  ble::Link* link_ = nullptr;
  std::shared_ptr<ble::GattSmpClient> gatt_;
};

constexpr auto kEmits = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
constexpr auto kConst = SD_BUS_VTABLE_PROPERTY_CONST;
constexpr auto kUnpriv = SD_BUS_VTABLE_UNPRIVILEGED;

const sd_bus_vtable Emulator::kAdapterVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("StartDiscovery", "", "", &Emulator::StartDiscovery, kUnpriv),
    SD_BUS_METHOD("StopDiscovery", "", "", &Emulator::StopDiscovery, kUnpriv),
    SD_BUS_METHOD("SetDiscoveryFilter", "a{sv}", "", &Emulator::SetDiscoveryFilter, kUnpriv),
    SD_BUS_PROPERTY("Address", "s", &Emulator::AdapterGet, 0, kConst),
    SD_BUS_PROPERTY("AddressType", "s", &Emulator::AdapterGet, 0, kConst),
    SD_BUS_PROPERTY("Name", "s", &Emulator::AdapterGet, 0, kConst),
    SD_BUS_PROPERTY("Alias", "s", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_PROPERTY("Powered", "b", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_PROPERTY("Discoverable", "b", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_PROPERTY("Pairable", "b", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_PROPERTY("Discovering", "b", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_PROPERTY("UUIDs", "as", &Emulator::AdapterGet, 0, kEmits),
    SD_BUS_VTABLE_END};

const sd_bus_vtable Emulator::kDeviceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Connect", "", "", &Emulator::Connect, kUnpriv),
    SD_BUS_METHOD("Disconnect", "", "", &Emulator::Disconnect, kUnpriv),
    SD_BUS_METHOD("Pair", "", "", &Emulator::Pair, kUnpriv),
    SD_BUS_METHOD("CancelPairing", "", "", &Emulator::CancelPairing, kUnpriv),
    SD_BUS_PROPERTY("Address", "s", &Emulator::DeviceGet, 0, kConst),
    SD_BUS_PROPERTY("AddressType", "s", &Emulator::DeviceGet, 0, kConst),
    SD_BUS_PROPERTY("Name", "s", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Alias", "s", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Appearance", "q", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Paired", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Bonded", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Trusted", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Blocked", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("LegacyPairing", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Connected", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("ServicesResolved", "b", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("RSSI", "n", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("UUIDs", "as", &Emulator::DeviceGet, 0, kEmits),
    SD_BUS_PROPERTY("Adapter", "o", &Emulator::DeviceGet, 0, kConst),
    SD_BUS_VTABLE_END};

const sd_bus_vtable Emulator::kServiceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("UUID", "s", &Emulator::ServiceGet, 0, kConst),
    SD_BUS_PROPERTY("Device", "o", &Emulator::ServiceGet, 0, kConst),
    SD_BUS_PROPERTY("Primary", "b", &Emulator::ServiceGet, 0, kConst),
    SD_BUS_PROPERTY("Handle", "q", &Emulator::ServiceGet, 0, kConst),
    SD_BUS_VTABLE_END};

const sd_bus_vtable Emulator::kCharVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("ReadValue", "a{sv}", "ay", &Emulator::ReadValue, kUnpriv),
    SD_BUS_METHOD("WriteValue", "aya{sv}", "", &Emulator::WriteValue, kUnpriv),
    SD_BUS_METHOD("AcquireWrite", "a{sv}", "hq", &Emulator::AcquireWrite, kUnpriv),
    SD_BUS_METHOD("AcquireNotify", "a{sv}", "hq", &Emulator::AcquireNotify, kUnpriv),
    SD_BUS_METHOD("StartNotify", "", "", &Emulator::StartNotify, kUnpriv),
    SD_BUS_METHOD("StopNotify", "", "", &Emulator::StopNotify, kUnpriv),
    SD_BUS_PROPERTY("UUID", "s", &Emulator::CharGet, 0, kConst),
    SD_BUS_PROPERTY("Service", "o", &Emulator::CharGet, 0, kConst),
    SD_BUS_PROPERTY("Value", "ay", &Emulator::CharGet, 0, kEmits),
    SD_BUS_PROPERTY("Notifying", "b", &Emulator::CharGet, 0, kEmits),
    SD_BUS_PROPERTY("Flags", "as", &Emulator::CharGet, 0, kConst),
    SD_BUS_PROPERTY("WriteAcquired", "b", &Emulator::CharGet, 0, kEmits),
    SD_BUS_PROPERTY("NotifyAcquired", "b", &Emulator::CharGet, 0, kEmits),
    SD_BUS_PROPERTY("MTU", "q", &Emulator::CharGet, 0, kEmits),
    SD_BUS_PROPERTY("Handle", "q", &Emulator::CharGet, 0, kConst),
    SD_BUS_VTABLE_END};

}  // namespace

int RunBluezEmulator(const BluezEmuOptions& opt) {
  if (!bluez::LooksLikeAddress(opt.address)) {
    fmt::print(stderr, "smpkit ble emulate: --address {} is not AA:BB:CC:DD:EE:FF\n", opt.address);
    return kExitUsage;
  }
  int code = kExitOk;
  auto host =
      StartHostedDesktop("smpkit ble emulate", opt.prj_conf, opt.flash_path, opt.quiet, &code);
  if (!host) return code;
  auto bus = bluez::OpenSystemBus(opt.bus_address);
  if (!bus.ok()) {
    fmt::print(stderr, "smpkit ble emulate: {}\n", bus.error().message());
    return kExitUnreachable;
  }
  sim::Scheduler& sched = host->sched;
  desktop::DesktopDevice& dev = *host->dev;
  asio::io_context io;
  Emulator emu(io, bus->get(), sched, dev, host->links, opt);
  if (auto st = emu.Start(); !st.ok()) {
    fmt::print(stderr, "smpkit ble emulate: {}\n", st.error().message());
    return kExitUnreachable;
  }
  fmt::print("bluez-emu: org.bluez on {}: adapter hci0 {} ({}), device {} \"{}\"{}{}\n",
             opt.bus_address.empty() ? "the system bus" : opt.bus_address, kAdapterAddress,
             opt.powered ? "powered" : "powered off", opt.address, opt.name,
             opt.require_pairing ? ", needs pairing" : "", opt.no_acquire ? ", no Acquire*" : "");
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int) {
    emu.Stop();
    io.stop();
  });
  io.run();
  return kExitOk;
}

}  // namespace smpkit::cli
