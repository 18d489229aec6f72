#include "smpkit/bluez/ble_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace smpkit::bluez {

namespace {
constexpr size_t kMaxAttValue = 517;
}

BleLink::BleLink(asio::io_context& io, BleLinkOptions options, BluezClient client)
    : io_(io),
      options_(std::move(options)),
      client_(std::move(client)),
      bus_sd_(io),
      notify_sd_(io),
      answer_timer_(io),
      reconnect_timer_(io) {}

BleLink::~BleLink() {
  *alive_ = false;
  asio::error_code ec;
  notify_sd_.close(ec);
  bus_sd_.close(ec);
  if (write_fd_ >= 0) ::close(write_fd_);
  // BlueZ keeps a connection until told otherwise: end the one this link made.
  if (up_ && !was_connected_) (void)client_.Disconnect(device_.path);
}

Result<std::unique_ptr<BleLink>> BleLink::Open(asio::io_context& io, BleLinkOptions options) {
  SMPKIT_ASSIGN_OR_RETURN(BluezClient client, BluezClient::Open(options.bus_address));
  SMPKIT_ASSIGN_OR_RETURN(AdapterInfo adapter, client.Adapter());
  SMPKIT_ASSIGN_OR_RETURN(DeviceInfo dev,
                          client.Find(adapter.path, options.target, options.find_timeout));
  std::unique_ptr<BleLink> link(new BleLink(io, std::move(options), std::move(client)));
  link->device_ = dev;
  link->was_connected_ = dev.connected;
  link->paired_ = dev.paired;
  sd_bus_slot* slot = nullptr;
  if (sd_bus_match_signal(link->client_.bus(), &slot, nullptr, nullptr,
                          "org.freedesktop.DBus.Properties", "PropertiesChanged",
                          &BleLink::OnPropertiesChanged, link.get()) < 0) {
    return Error(Errc::kIo, "cannot subscribe to BlueZ's property changes");
  }
  link->match_.reset(slot);
  if (Status st = link->SetUp(); !st.ok()) {
    // Do not leave BlueZ holding a connection nobody uses (pairing refused, no SMP service).
    if (!dev.connected) (void)link->client_.Disconnect(link->device_.path);
    return st.error();
  }
  link->WatchBus();
  return link;
}

void BleLink::Note(std::string_view text) const {
  if (options_.note) options_.note(text);
}

Status BleLink::PairNow(std::string_view why) {
  pair_tried_ = true;
  Note(std::string("pairing with ") + device_.address + " (" + std::string(why) + ")");
  ++stats_.pairings;
  Status st = client_.Pair(device_.path, options_.pair_timeout);
  if (!st.ok()) {
    Error e = Error::Format(Errc::kAccessDenied, "Bluetooth pairing with %s failed: %s",
                            device_.address.c_str(), std::string(st.error().message()).c_str());
    fatal_ = e;
    return e;
  }
  paired_ = true;
  return Ok();
}

Status BleLink::SetUp() {
  SMPKIT_TRY(client_.Connect(device_.path, options_.connect_timeout));
  ++stats_.connects;
  if (auto d = client_.Device(device_.path); d.ok()) paired_ = d->paired;
  if (options_.pair && !paired_) SMPKIT_TRY(PairNow("--pair"));
  SMPKIT_ASSIGN_OR_RETURN(chr_, client_.SmpCharacteristic(device_.path, options_.connect_timeout));
  SMPKIT_TRY(EnableNotifications());
  std::string err;
  auto w = client_.AcquireWrite(chr_, &err);
  if (w.ok()) {
    write_fd_ = w->fd;
    mtu_ = std::max<uint16_t>(w->mtu, 23);
    stats_.write_acquired = true;
  } else {
    stats_.write_acquired = false;
    // Write commands then go through WriteValue; the MTU from the characteristic (BlueZ >=
    // 5.62), or what AcquireNotify said, or the ATT minimum.
    if (auto m = client_.CharacteristicMtu(chr_)) mtu_ = std::max<uint16_t>(*m, mtu_);
  }
  stats_.mtu = mtu_;
  received_any_ = false;
  reasm_.Reset();
  up_ = true;
  // Synchronous calls may have queued signals inside sd-bus: look at them from the loop.
  asio::post(io_, [this, alive = alive_] {
    if (*alive) ProcessBus();
  });
  return Ok();
}

Status BleLink::EnableNotifications() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string err;
    auto n = client_.AcquireNotify(chr_, &err);
    if (n.ok()) {
      stats_.notify_acquired = true;
      mtu_ = std::max<uint16_t>(n->mtu, 23);
      asio::error_code ec;
      notify_sd_.close(ec);
      notify_sd_.assign(n->fd, ec);
      if (ec) return Error(Errc::kIo, "cannot watch the notification socket");
      WatchNotify();
      return Ok();
    }
    Error e = n.error();
    if (e.code() == Errc::kNotSupported || err == "org.bluez.Error.Failed") {
      // No AcquireNotify: StartNotify, values then come as PropertiesChanged.
      stats_.notify_acquired = false;
      std::string err2;
      Status st = client_.StartNotify(chr_, &err2);
      if (st.ok() || err2 == "org.bluez.Error.InProgress") return Ok();
      e = st.error();
      err = err2;
    }
    if (e.code() != Errc::kAccessDenied || attempt > 0 || pair_tried_) {
      return Error::Format(e.code(), "cannot enable notifications from %s: %s",
                           device_.address.c_str(), std::string(e.message()).c_str());
    }
    SMPKIT_TRY(PairNow("notifications not permitted"));
  }
  return Error(Errc::kInternal, "unreachable");
}

void BleLink::WatchBus() {
  if (!bus_sd_.is_open()) {
    asio::error_code ec;
    bus_sd_.assign(::dup(sd_bus_get_fd(client_.bus())), ec);
    if (ec) return;
  }
  bus_sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, alive = alive_](const asio::error_code& ec) {
                       if (!*alive || ec) return;
                       ProcessBus();
                       WatchBus();
                     });
}

void BleLink::ProcessBus() {
  while (sd_bus_process(client_.bus(), nullptr) > 0) {
  }
}

int BleLink::OnPropertiesChanged(sd_bus_message* m, void* self, sd_bus_error*) {
  static_cast<BleLink*>(self)->HandlePropertiesChanged(m);
  return 0;
}

void BleLink::HandlePropertiesChanged(sd_bus_message* m) {
  const char* path = sd_bus_message_get_path(m);
  if (path == nullptr) return;
  const std::string p = path;
  if (p != device_.path && p != chr_) return;
  const char* iface = nullptr;
  if (sd_bus_message_read_basic(m, 's', &iface) < 0 || iface == nullptr) return;
  const std::string i = iface;
  auto props = ReadProperties(m);
  if (!props.ok()) return;
  if (p == device_.path && i == "org.bluez.Device1") {
    auto it = props->find("Paired");
    if (it != props->end() && std::holds_alternative<bool>(it->second)) {
      paired_ = std::get<bool>(it->second);
    }
    it = props->find("Connected");
    if (it != props->end() && std::holds_alternative<bool>(it->second) &&
        !std::get<bool>(it->second)) {
      Down("the device disconnected");
    }
  } else if (p == chr_ && i == "org.bluez.GattCharacteristic1" && up_ &&
             !stats_.notify_acquired) {
    auto it = props->find("Value");
    if (it != props->end() && std::holds_alternative<std::vector<uint8_t>>(it->second)) {
      OnValue(std::get<std::vector<uint8_t>>(it->second));
    }
  }
}

void BleLink::WatchNotify() {
  notify_sd_.async_wait(
      asio::posix::stream_descriptor::wait_read, [this, alive = alive_](const asio::error_code& ec) {
        if (!*alive || ec) return;
        std::array<uint8_t, kMaxAttValue> buf{};
        while (true) {
          ssize_t n = ::recv(notify_sd_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
          if (n > 0) {
            OnValue(ConstByteSpan(buf.data(), static_cast<size_t>(n)));
            if (!*alive || !notify_sd_.is_open()) return;
            continue;
          }
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
          // End of file or an error: BlueZ closed it, the link is gone.
          Down("the notification socket closed");
          return;
        }
        WatchNotify();
      });
}

void BleLink::OnValue(ConstByteSpan value) {
  ++stats_.notifications;
  received_any_ = true;
  (void)reasm_.Feed(value, [this](ConstByteSpan packet) {
    ++stats_.packets;
    if (handler_) handler_(packet);
  });
}

void BleLink::Down(std::string_view why) {
  if (!up_) return;
  up_ = false;
  asio::error_code ec;
  notify_sd_.close(ec);
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
  reasm_.Reset();
  answer_timer_.cancel();
  answer_timer_armed_ = false;
  Note(std::string("link to ") + device_.address + " lost (" + std::string(why) +
       "): reconnecting");
  reconnect_timer_.expires_after(options_.reconnect_interval);
  reconnect_timer_.async_wait([this, alive = alive_](const asio::error_code& e) {
    if (*alive && !e) Reconnect();
  });
}

void BleLink::Reconnect() {
  if (up_ || fatal_) return;
  // Property changes of the old connection (Connected false) must not end the new one.
  ProcessBus();
  Status st = SetUp();
  if (st.ok()) {
    Note(std::string("reconnected to ") + device_.address);
    return;
  }
  if (fatal_) return;
  reconnect_timer_.expires_after(options_.reconnect_interval);
  reconnect_timer_.async_wait([this, alive = alive_](const asio::error_code& e) {
    if (*alive && !e) Reconnect();
  });
  asio::post(io_, [this, alive = alive_] {
    if (*alive) ProcessBus();
  });
}

Status BleLink::Send(ConstByteSpan packet) {
  if (fatal_) return *fatal_;
  if (!up_) return Ok();  // lost while reconnecting: the session retransmits
  const size_t max_write = mtu_ - 3u;
  if (!paired_ && !pair_tried_ && !received_any_ && !answer_timer_armed_) {
    // BlueZ drops write commands to an unpaired peer that needs encryption, silently.
    answer_timer_armed_ = true;
    answer_timer_.expires_after(options_.answer_wait);
    answer_timer_.async_wait([this, alive = alive_](const asio::error_code& e) {
      if (!*alive || e) return;
      answer_timer_armed_ = false;
      if (up_ && !received_any_ && !paired_ && !pair_tried_) {
        (void)PairNow("no answer on an unpaired link");
        asio::post(io_, [this, alive] {
          if (*alive) ProcessBus();
        });
      }
    });
  }
  for (size_t off = 0; off < packet.size(); off += max_write) {
    ConstByteSpan piece = packet.subspan(off, std::min(max_write, packet.size() - off));
    ++stats_.writes;
    if (write_fd_ < 0) {
      SMPKIT_TRY(client_.WriteCommand(chr_, piece));
      continue;
    }
    while (true) {
      ssize_t n = ::send(write_fd_, piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) break;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // BlueZ has not taken the previous writes yet: wait for room (bounded).
        pollfd pfd{write_fd_, POLLOUT, 0};
        if (::poll(&pfd, 1, 2000) > 0) continue;
      }
      Down("the write socket failed");
      return Ok();
    }
  }
  if (write_fd_ < 0) sd_bus_flush(client_.bus());
  return Ok();
}

client::LinkInfo BleLink::Info() const {
  client::LinkInfo info;
  info.mtu = mtu_ - 3u;
  info.reassembles = true;
  return info;
}

}  // namespace smpkit::bluez
