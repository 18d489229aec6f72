#pragma once
// A seeded lossy UDP relay between real sockets, in the spirit of pigweed's pw_transfer
// integration-test proxy: clients send to the relay's listening socket, the relay forwards
// each datagram to the target from a socket of its own (one per client, so answers find
// their way back), and applies client::FaultConfig faults (drop, duplicate, reorder, delay,
// corrupt) in each direction, drawn from one seeded generator (client::DrawFate).
//
// It runs on an io_context like everything in libs/io; tests and benchmarks run it on a
// thread of its own (RelayThread), `smpkit relay` as a process.

#include <asio.hpp>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/client/link_filter.h"

namespace smpkit::io {

struct RelayConfig {
  client::FaultConfig to_target;  // client -> target (requests)
  client::FaultConfig to_client;  // target -> client (answers)
  uint64_t seed = 1;
};

struct RelayStats {
  client::FaultStats to_target;
  client::FaultStats to_client;
};

// "HOST:PORT", "[V6]:PORT" or "PORT" (on 127.0.0.1). Errors: kInvalidArgument naming the
// part that is wrong.
Result<asio::ip::udp::endpoint> ParseUdpEndpoint(const std::string& text);

// A FaultConfig without faults and without added delay.
client::FaultConfig NoFaults();

class UdpRelay {
 public:
  // Binds `listen` (port 0: any free port) and forwards to `target`. Errors: kIo.
  static Result<std::unique_ptr<UdpRelay>> Open(asio::io_context& io,
                                                const asio::ip::udp::endpoint& listen,
                                                const asio::ip::udp::endpoint& target,
                                                RelayConfig config);
  ~UdpRelay();
  asio::ip::udp::endpoint local_endpoint() const { return listen_.local_endpoint(); }
  const RelayStats& stats() const { return stats_; }

 private:
  struct Upstream;
  UdpRelay(asio::io_context& io, const asio::ip::udp::endpoint& target, RelayConfig config);
  void ReceiveFromClient();
  void ReceiveFromTarget(Upstream& up);
  // Applies the direction's faults to `packet` and sends it on `socket` to `to`.
  void Forward(int direction, asio::ip::udp::socket& socket, const asio::ip::udp::endpoint& to,
               std::vector<uint8_t> packet);

  asio::io_context& io_;
  asio::ip::udp::socket listen_;
  asio::ip::udp::endpoint target_;
  RelayConfig config_;
  RelayStats stats_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> rx_;
  asio::ip::udp::endpoint client_;
  std::map<asio::ip::udp::endpoint, std::unique_ptr<Upstream>> upstream_;
  std::shared_ptr<bool> alive_;
};

// A UdpRelay on its own io_context and thread, for tests and benchmarks. stats() may be read
// after Stop().
class RelayThread {
 public:
  // Errors as UdpRelay::Open.
  static Result<std::unique_ptr<RelayThread>> Start(const asio::ip::udp::endpoint& listen,
                                                    const asio::ip::udp::endpoint& target,
                                                    RelayConfig config);
  ~RelayThread() { Stop(); }
  void Stop();
  uint16_t port() const { return port_; }
  const RelayStats& stats() const { return relay_->stats(); }

 private:
  RelayThread() = default;
  asio::io_context io_;
  std::unique_ptr<UdpRelay> relay_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace smpkit::io
