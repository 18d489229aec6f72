#pragma once
// Small RAII helpers over sd-bus (libsystemd), shared by the BlueZ client and the emulated
// BlueZ service: owned bus/message/slot handles, a{sv} property decoding, error mapping.

#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smpkit/base/result.h"

namespace smpkit::bluez {

struct BusDeleter {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MessageDeleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotDeleter {
  void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageDeleter>;
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotDeleter>;

// Opens the system bus ($DBUS_SYSTEM_BUS_ADDRESS when set, as D-Bus conventions say), or
// `address` when given. Errors: kIo naming the address and the OS error.
Result<BusPtr> OpenSystemBus(const std::string& address = "");

// A decoded property value (the types BlueZ uses here; others stay monostate).
using Value = std::variant<std::monostate, bool, int64_t, std::string, std::vector<std::string>,
                           std::vector<uint8_t>>;
using Properties = std::map<std::string, Value>;

// Reads an a{sv} at the message's position. Errors: kCorrupt.
Result<Properties> ReadProperties(sd_bus_message* m);
// Skips one complete value of whatever type is next. Errors: kCorrupt.
Status SkipValue(sd_bus_message* m);

bool GetBool(const Properties& p, const std::string& key, bool fallback = false);
std::string GetString(const Properties& p, const std::string& key);
std::optional<int64_t> GetInt(const Properties& p, const std::string& key);
std::vector<std::string> GetStrings(const Properties& p, const std::string& key);

// An error from a D-Bus call: the error name (e.g. "org.bluez.Error.NotPermitted") and a
// smpkit Error whose code follows from it (NotPermitted/NotAuthorized/Authentication* ->
// kAccessDenied, NotConnected/NotReady -> kBadState, InProgress -> kBusy, UnknownMethod/
// NotSupported -> kNotSupported, UnknownObject/DoesNotExist -> kNotFound, NoReply/timeout ->
// kTimeout, others kIo).
struct CallError {
  std::string name;
  Error error;
};
CallError MakeCallError(const sd_bus_error* e, int r, std::string_view what);

// A method call built by `append` (may be empty), sent and waited for up to `timeout`.
// On failure `*err` (if given) receives the D-Bus error name.
Result<MessagePtr> Call(sd_bus* bus, const char* dest, const std::string& path, const char* iface,
                        const char* member, std::chrono::milliseconds timeout,
                        const std::function<int(sd_bus_message*)>& append = {},
                        std::string* err_name = nullptr);

// Processes bus traffic (signals, calls) until `done()` holds or `timeout` passes.
// Returns done(). Errors: kIo when the bus connection fails.
Result<bool> RunBusUntil(sd_bus* bus, std::chrono::milliseconds timeout,
                         const std::function<bool()>& done);

}  // namespace smpkit::bluez
