#pragma once
// SMP over Bluetooth LE through BlueZ (`--conn ble:ADDRESS` / `ble:NAME`): a client::Link on an
// Asio io_context. Requests go out as ATT write commands of at most MTU - 3 bytes (the server
// reassembles, so the session sizes requests to the device's buf_size), through the
// AcquireWrite socket (WriteValue type=command when BlueZ cannot hand one out); answers come
// as notifications through the AcquireNotify socket (StartNotify and PropertiesChanged as the
// fallback), reassembled by the SMP header's length.
//
// Security: nRF Desktop needs an encrypted link. BlueZ pairs by itself when enabling
// notifications meets insufficient authentication, but silently drops write commands to an
// unpaired peer. So `pair` pairs up front; otherwise notifications refused as not permitted,
// or no answer at all on an unpaired link, make the link pair and retry once; a failed pairing
// fails every later Send with kAccessDenied naming the device.
//
// A device that was connected before (a mouse in use) stays connected afterwards; one this
// link connected is disconnected when the link goes away.
//
// Resets: when the device disconnects (an OS reset, a DFU's swap) the link reconnects in the
// background to the same address and acquires the characteristic again; packets sent
// meanwhile are lost (the session retransmits).

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smpkit/base/result.h"
#include "smpkit/bluez/bluez_client.h"
#include "smpkit/bluez/notify_reassembler.h"
#include "smpkit/client/link.h"

namespace smpkit::bluez {

struct BleLinkOptions {
  std::string target;     // address (AA:BB:CC:DD:EE:FF) or the device's name
  bool pair = false;      // pair before anything else
  std::string bus_address;  // empty: the system bus ($DBUS_SYSTEM_BUS_ADDRESS)
  std::chrono::milliseconds find_timeout{10000};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds pair_timeout{30000};
  // On an unpaired link that has not answered anything yet: pair after this long.
  std::chrono::milliseconds answer_wait{1500};
  std::chrono::milliseconds reconnect_interval{300};
  // Progress notes ("pairing ...", "reconnected"), e.g. to stderr; may be empty.
  std::function<void(std::string_view)> note;
};

struct BleLinkStats {
  bool write_acquired = false;   // AcquireWrite (else WriteValue)
  bool notify_acquired = false;  // AcquireNotify (else StartNotify)
  uint16_t mtu = 0;
  uint64_t writes = 0;
  uint64_t notifications = 0;
  uint64_t packets = 0;
  uint32_t connects = 0;
  uint32_t pairings = 0;
};

class BleLink final : public client::Link {
 public:
  // Finds, connects and sets up the device. Errors: kNotFound (no adapter, no such device
  // within find_timeout), kBadState (adapter powered off), kAccessDenied (pairing failed),
  // kTimeout/kIo (connecting), kInvalidArgument (an ambiguous name).
  static Result<std::unique_ptr<BleLink>> Open(asio::io_context& io, BleLinkOptions options);
  ~BleLink() override;

  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  client::LinkInfo Info() const override;

  const DeviceInfo& device() const { return device_; }
  const BleLinkStats& stats() const { return stats_; }

 private:
  BleLink(asio::io_context& io, BleLinkOptions options, BluezClient client);
  Status SetUp();
  Status EnableNotifications();
  Status PairNow(std::string_view why);
  void WatchBus();
  void ProcessBus();
  void WatchNotify();
  void OnValue(ConstByteSpan value);
  void Down(std::string_view why);
  void Reconnect();
  void Note(std::string_view text) const;
  static int OnPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error* err);
  void HandlePropertiesChanged(sd_bus_message* m);

  asio::io_context& io_;
  BleLinkOptions options_;
  BluezClient client_;
  DeviceInfo device_;
  std::string chr_;
  bool up_ = false;
  bool was_connected_ = false;  // connected before Open: left connected at the end
  bool paired_ = false;
  bool pair_tried_ = false;
  bool received_any_ = false;  // on this connection
  bool answer_timer_armed_ = false;
  std::optional<Error> fatal_;
  int write_fd_ = -1;
  uint16_t mtu_ = 23;
  asio::posix::stream_descriptor bus_sd_;
  asio::posix::stream_descriptor notify_sd_;
  asio::steady_timer answer_timer_;
  asio::steady_timer reconnect_timer_;
  SlotPtr match_;
  NotifyReassembler reasm_;
  ReceiveHandler handler_;
  BleLinkStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace smpkit::bluez
