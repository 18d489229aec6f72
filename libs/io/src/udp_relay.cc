#include "smpkit/io/udp_relay.h"

#include <cstdlib>
#include <string>

namespace smpkit::io {

using asio::ip::udp;

Result<udp::endpoint> ParseUdpEndpoint(const std::string& text) {
  std::string host = "127.0.0.1";
  std::string port = text;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error::Format(Errc::kInvalidArgument, "bad UDP address '%s' (want [V6]:PORT)",
                           text.c_str());
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p > 65535) {
    return Error::Format(Errc::kInvalidArgument, "bad UDP port '%s'", port.c_str());
  }
  asio::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return Error::Format(Errc::kInvalidArgument, "bad UDP host '%s'", host.c_str());
  return udp::endpoint(addr, static_cast<uint16_t>(p));
}

client::FaultConfig NoFaults() {
  client::FaultConfig c;
  c.delay = client::Duration(0);
  return c;
}

struct UdpRelay::Upstream {
  explicit Upstream(asio::io_context& io) : socket(io), rx(kMaxDatagram) {}
  static constexpr size_t kMaxDatagram = 65536;
  udp::socket socket;
  udp::endpoint client;
  udp::endpoint from;
  std::vector<uint8_t> rx;
};

UdpRelay::UdpRelay(asio::io_context& io, const udp::endpoint& target, RelayConfig config)
    : io_(io),
      listen_(io),
      target_(target),
      config_(config),
      rng_(config.seed),
      rx_(Upstream::kMaxDatagram),
      alive_(std::make_shared<bool>(true)) {}

UdpRelay::~UdpRelay() {
  *alive_ = false;
  asio::error_code ec;
  listen_.close(ec);
  for (auto& [ep, up] : upstream_) up->socket.close(ec);
}

Result<std::unique_ptr<UdpRelay>> UdpRelay::Open(asio::io_context& io, const udp::endpoint& listen,
                                                 const udp::endpoint& target, RelayConfig config) {
  std::unique_ptr<UdpRelay> relay(new UdpRelay(io, target, config));
  asio::error_code ec;
  relay->listen_.open(listen.protocol(), ec);
  if (!ec) relay->listen_.bind(listen, ec);
  if (ec) {
    return Error::Format(Errc::kIo, "relay: cannot bind %s:%u: %s",
                         listen.address().to_string().c_str(), listen.port(), ec.message().c_str());
  }
  relay->listen_.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
  relay->listen_.set_option(asio::socket_base::send_buffer_size(1 << 20), ec);
  relay->ReceiveFromClient();
  return relay;
}

void UdpRelay::ReceiveFromClient() {
  listen_.async_receive_from(
      asio::buffer(rx_), client_, [this, alive = alive_](const asio::error_code& ec, size_t n) {
        if (!*alive) return;
        if (ec) {
          if (ec != asio::error::operation_aborted) ReceiveFromClient();
          return;
        }
        auto it = upstream_.find(client_);
        if (it == upstream_.end()) {
          auto up = std::make_unique<Upstream>(io_);
          asio::error_code e;
          up->socket.open(target_.protocol(), e);
          if (e) {
            ReceiveFromClient();
            return;
          }
          up->socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), e);
          up->socket.set_option(asio::socket_base::send_buffer_size(1 << 20), e);
          up->client = client_;
          it = upstream_.emplace(client_, std::move(up)).first;
          ReceiveFromTarget(*it->second);
        }
        Forward(0, it->second->socket, target_, std::vector<uint8_t>(rx_.begin(), rx_.begin() + n));
        ReceiveFromClient();
      });
}

void UdpRelay::ReceiveFromTarget(Upstream& up) {
  up.socket.async_receive_from(asio::buffer(up.rx), up.from,
                               [this, &up, alive = alive_](const asio::error_code& ec, size_t n) {
                                 if (!*alive) return;
                                 if (ec) {
                                   if (ec != asio::error::operation_aborted) ReceiveFromTarget(up);
                                   return;
                                 }
                                 Forward(1, listen_, up.client,
                                         std::vector<uint8_t>(up.rx.begin(), up.rx.begin() + n));
                                 ReceiveFromTarget(up);
                               });
}

void UdpRelay::Forward(int direction, udp::socket& socket, const udp::endpoint& to,
                       std::vector<uint8_t> packet) {
  const client::FaultConfig& config = direction == 0 ? config_.to_target : config_.to_client;
  client::FaultStats& stats = direction == 0 ? stats_.to_target : stats_.to_client;
  const client::FaultFate fate = client::DrawFate(config, stats, rng_, packet);
  for (int i = 0; i < fate.copies; ++i) {
    if (fate.delays[i] <= client::Duration(0)) {
      asio::error_code ec;
      socket.send_to(asio::buffer(packet), to, 0, ec);  // a failed send is a lost datagram
      continue;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, fate.delays[i]);
    timer->async_wait([timer, &socket, to, packet, alive = alive_](const asio::error_code& ec) {
      if (ec || !*alive) return;
      asio::error_code e;
      socket.send_to(asio::buffer(packet), to, 0, e);
    });
  }
}

Result<std::unique_ptr<RelayThread>> RelayThread::Start(const udp::endpoint& listen,
                                                        const udp::endpoint& target,
                                                        RelayConfig config) {
  std::unique_ptr<RelayThread> t(new RelayThread());
  SMPKIT_ASSIGN_OR_RETURN(t->relay_, UdpRelay::Open(t->io_, listen, target, config));
  t->port_ = t->relay_->local_endpoint().port();
  t->thread_ = std::thread([r = t.get()] {
    auto guard = asio::make_work_guard(r->io_);
    r->io_.run();
  });
  return t;
}

void RelayThread::Stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

}  // namespace smpkit::io
