#pragma once
// An SMP server on Asio: serves whatever answers SMP packets (a PacketHandler: a simulated
// device, an smp::Server with its groups) over UDP (IPv4/IPv6) and over a serial console on a
// pseudo-terminal, as a Zephyr device's MCUmgr transports do:
// - one SMP work queue with buf_count request buffers of buf_size bytes (a request that
//   finds them all taken is dropped, as Zephyr drops it without a free net_buf);
// - a datagram above udp_mtu or buf_size is cut short (the SMP layer then answers rc 9);
// - console lines longer than serial_line_max are dropped whole (uart_mcumgr), the console
//   framing (CRC, base64, length) checked, answers encoded into a bounded output ring; the
//   reader stops while the ring is over half full (hardware flow control);
// - `baud`: the console's bytes arrive and leave at that line rate;
// - an accepted reset: the handler is restarted after the delay it asks for.
// The request path allocates nothing once running; output is bounded on every transport.

#include <asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/smp/server.h"

namespace smpkit::io {

class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // Answers one SMP packet (possibly several frames) through `sink`.
  virtual void HandlePacket(ConstByteSpan packet, smp::ResponseSink& sink) = 0;
  // Asked after every packet: the delay after which Restart() is wanted (an accepted OS
  // reset), or none.
  virtual std::optional<std::chrono::milliseconds> RestartRequested() { return std::nullopt; }
  // The device reboots. An error stops the server (restart_failed()).
  virtual Status Restart() { return Ok(); }
};

struct ServerOptions {
  std::vector<std::string> udp;  // HOST:PORT or [V6]:PORT to serve (port 0: any free one)
  bool serial_pty = false;       // serve the console on a new pty (see pty_path())
  uint32_t baud = 0;             // console line rate; 0: as fast as the pty goes
  size_t buf_size = 2475;        // CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE
  size_t buf_count = 4;          // CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT
  size_t udp_mtu = 1500;         // CONFIG_MCUMGR_TRANSPORT_UDP_MTU
  size_t serial_line_max = 128;  // CONFIG_UART_MCUMGR_RX_BUF_SIZE
};

class SmpServer {
 public:
  SmpServer(asio::io_context& io, PacketHandler& handler, ServerOptions options);
  ~SmpServer();
  SmpServer(const SmpServer&) = delete;
  SmpServer& operator=(const SmpServer&) = delete;

  // Binds the UDP sockets and opens the pty; serving starts when the io_context runs.
  // Errors: kInvalidArgument (a bad endpoint), kIo (cannot bind, cannot create a pty).
  Status Start();
  // The bound endpoints (with the ports picked for port 0), in the order given.
  const std::vector<asio::ip::udp::endpoint>& udp_endpoints() const;
  // The console's pty (/dev/pts/N), empty without serial_pty.
  const std::string& pty_path() const;
  // A restart failed (the device did not boot): the io_context was stopped.
  bool restart_failed() const;
  uint64_t dropped() const;     // requests dropped for want of a free request buffer
  uint64_t tx_dropped() const;  // console answers the full output ring could not take

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smpkit::io
