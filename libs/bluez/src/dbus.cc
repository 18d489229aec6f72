#include "smpkit/bluez/dbus.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace smpkit::bluez {

Result<BusPtr> OpenSystemBus(const std::string& address) {
  sd_bus* bus = nullptr;
  int r = 0;
  if (address.empty()) {
    r = sd_bus_open_system(&bus);
  } else {
    r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_negotiate_fds(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
  }
  if (r < 0) {
    if (bus) sd_bus_unref(bus);
    const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
    const std::string where = !address.empty() ? address
                              : env             ? std::string(env)
                                                : std::string("the system bus");
    return Error::Format(Errc::kIo, "cannot connect to D-Bus at %s: %s", where.c_str(),
                         std::strerror(-r));
  }
  return BusPtr(bus);
}

Status SkipValue(sd_bus_message* m) {
  char type = 0;
  const char* contents = nullptr;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r <= 0) return Error(Errc::kCorrupt, "D-Bus message ends early");
  char sig[2] = {type, 0};
  r = sd_bus_message_skip(m, sig);
  if (r < 0) return Error(Errc::kCorrupt, "cannot skip a D-Bus value");
  return Ok();
}

namespace {

Result<Value> ReadVariant(sd_bus_message* m) {
  char type = 0;
  const char* contents = nullptr;
  if (sd_bus_message_peek_type(m, &type, &contents) <= 0 || type != 'v') {
    return Error(Errc::kCorrupt, "expected a D-Bus variant");
  }
  const std::string c = contents;
  if (sd_bus_message_enter_container(m, 'v', c.c_str()) < 0) {
    return Error(Errc::kCorrupt, "cannot enter a D-Bus variant");
  }
  Value v;
  int r = 0;
  if (c == "b") {
    int b = 0;
    r = sd_bus_message_read_basic(m, 'b', &b);
    v = b != 0;
  } else if (c == "n") {
    int16_t x = 0;
    r = sd_bus_message_read_basic(m, 'n', &x);
    v = int64_t{x};
  } else if (c == "q") {
    uint16_t x = 0;
    r = sd_bus_message_read_basic(m, 'q', &x);
    v = int64_t{x};
  } else if (c == "i") {
    int32_t x = 0;
    r = sd_bus_message_read_basic(m, 'i', &x);
    v = int64_t{x};
  } else if (c == "u") {
    uint32_t x = 0;
    r = sd_bus_message_read_basic(m, 'u', &x);
    v = int64_t{x};
  } else if (c == "s" || c == "o") {
    const char* s = nullptr;
    r = sd_bus_message_read_basic(m, c[0], &s);
    v = std::string(s ? s : "");
  } else if (c == "as" || c == "ao") {
    std::vector<std::string> list;
    r = sd_bus_message_enter_container(m, 'a', c.c_str() + 1);
    while (r >= 0) {
      const char* s = nullptr;
      r = sd_bus_message_read_basic(m, c[1], &s);
      if (r <= 0) break;
      list.emplace_back(s);
    }
    if (r >= 0) r = sd_bus_message_exit_container(m);
    v = std::move(list);
  } else if (c == "ay") {
    const void* data = nullptr;
    size_t size = 0;
    r = sd_bus_message_read_array(m, 'y', &data, &size);
    const auto* b = static_cast<const uint8_t*>(data);
    v = std::vector<uint8_t>(b, b + size);
  } else {
    r = sd_bus_message_skip(m, c.c_str());
  }
  if (r < 0 || sd_bus_message_exit_container(m) < 0) {
    return Error(Errc::kCorrupt, "cannot read a D-Bus variant");
  }
  return v;
}

}  // namespace

Result<Properties> ReadProperties(sd_bus_message* m) {
  Properties props;
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) {
    return Error(Errc::kCorrupt, "expected a D-Bus a{sv}");
  }
  while (true) {
    int r = sd_bus_message_enter_container(m, 'e', "sv");
    if (r < 0) return Error(Errc::kCorrupt, "bad D-Bus dict entry");
    if (r == 0) break;
    const char* key = nullptr;
    if (sd_bus_message_read_basic(m, 's', &key) < 0) {
      return Error(Errc::kCorrupt, "bad D-Bus dict key");
    }
    std::string k = key;
    SMPKIT_ASSIGN_OR_RETURN(Value v, ReadVariant(m));
    props[k] = std::move(v);
    if (sd_bus_message_exit_container(m) < 0) return Error(Errc::kCorrupt, "bad D-Bus dict");
  }
  if (sd_bus_message_exit_container(m) < 0) return Error(Errc::kCorrupt, "bad D-Bus dict");
  return props;
}

bool GetBool(const Properties& p, const std::string& key, bool fallback) {
  auto it = p.find(key);
  if (it == p.end() || !std::holds_alternative<bool>(it->second)) return fallback;
  return std::get<bool>(it->second);
}

std::string GetString(const Properties& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end() || !std::holds_alternative<std::string>(it->second)) return {};
  return std::get<std::string>(it->second);
}

std::optional<int64_t> GetInt(const Properties& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end() || !std::holds_alternative<int64_t>(it->second)) return std::nullopt;
  return std::get<int64_t>(it->second);
}

std::vector<std::string> GetStrings(const Properties& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end() || !std::holds_alternative<std::vector<std::string>>(it->second)) return {};
  return std::get<std::vector<std::string>>(it->second);
}

CallError MakeCallError(const sd_bus_error* e, int r, std::string_view what) {
  CallError out;
  std::string message;
  if (e != nullptr && sd_bus_error_is_set(e)) {
    out.name = e->name;
    message = e->message ? e->message : "";
  } else {
    out.name = r == -ETIMEDOUT ? "org.freedesktop.DBus.Error.NoReply" : "";
    message = std::strerror(-r);
  }
  const std::string& n = out.name;
  auto has = [&](std::string_view s) { return n.find(s) != std::string::npos; };
  Errc code = Errc::kIo;
  if (has("NotPermitted") || has("NotAuthorized") || has("Authentication") ||
      has("AccessDenied")) {
    code = Errc::kAccessDenied;
  } else if (has("NotConnected") || has("NotReady")) {
    code = Errc::kBadState;
  } else if (has("InProgress")) {
    code = Errc::kBusy;
  } else if (has("UnknownMethod") || has("NotSupported")) {
    code = Errc::kNotSupported;
  } else if (has("UnknownObject") || has("DoesNotExist") || has("ServiceUnknown")) {
    code = Errc::kNotFound;
  } else if (has("NoReply") || has("Timeout") || r == -ETIMEDOUT) {
    code = Errc::kTimeout;
  }
  std::string short_name = n.empty() ? std::string("error") : n;
  out.error = Error::Format(code, "%.*s: %s (%s)", static_cast<int>(what.size()), what.data(),
                            message.c_str(), short_name.c_str());
  return out;
}

Result<MessagePtr> Call(sd_bus* bus, const char* dest, const std::string& path, const char* iface,
                        const char* member, std::chrono::milliseconds timeout,
                        const std::function<int(sd_bus_message*)>& append,
                        std::string* err_name) {
  sd_bus_message* call = nullptr;
  int r = sd_bus_message_new_method_call(bus, &call, dest, path.c_str(), iface, member);
  if (r < 0) return MakeCallError(nullptr, r, member).error;
  MessagePtr call_owned(call);
  if (append) {
    r = append(call);
    if (r < 0) return MakeCallError(nullptr, r, member).error;
  }
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  r = sd_bus_call(bus, call, static_cast<uint64_t>(timeout.count()) * 1000, &error, &reply);
  if (r < 0) {
    CallError ce = MakeCallError(&error, r, member);
    sd_bus_error_free(&error);
    if (err_name) *err_name = ce.name;
    return ce.error;
  }
  sd_bus_error_free(&error);
  return MessagePtr(reply);
}

Result<bool> RunBusUntil(sd_bus* bus, std::chrono::milliseconds timeout,
                         const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) return Error::Format(Errc::kIo, "D-Bus connection failed: %s", std::strerror(-r));
    if (r > 0) continue;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return done();
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    r = sd_bus_wait(bus, static_cast<uint64_t>(left.count()));
    if (r < 0 && r != -EINTR) {
      return Error::Format(Errc::kIo, "D-Bus connection failed: %s", std::strerror(-r));
    }
  }
  return true;
}

}  // namespace smpkit::bluez
