#pragma once
// Thin Asio adapters for the SMP client: an Executor on an io_context (steady clock),
// a UDP link (IPv4/IPv6, one SMP packet per datagram, large datagrams), a serial byte stream
// for real ports and ptys (raw termios, baud rate) to run client::SerialLink over, and a
// connection-string parser/opener ("udp:HOST[:PORT]", "serial:PATH[,BAUD]").

#include <array>
#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/client/link.h"
#include "smpkit/client/serial_link.h"

namespace smpkit::io {

class AsioExecutor final : public client::Executor {
 public:
  explicit AsioExecutor(asio::io_context& io);
  ~AsioExecutor() override;
  client::Time Now() const override;
  client::TimerId PostAfter(client::Duration delay, std::function<void()> fn) override;
  bool Cancel(client::TimerId id) override;
  bool RunUntil(const std::function<bool()>& done) override;
  asio::io_context& io() { return io_; }

 private:
  using Deadlines = std::multimap<std::chrono::steady_clock::time_point, client::TimerId>;
  struct Task {
    Deadlines::iterator pos;
    std::function<void()> fn;
  };
  void Arm(std::chrono::steady_clock::time_point at);
  void OnTimer();

  asio::io_context& io_;
  std::chrono::steady_clock::time_point epoch_;
  client::TimerId next_id_ = 1;
  asio::steady_timer timer_;
  bool armed_ = false;
  std::chrono::steady_clock::time_point armed_at_{};
  Deadlines deadlines_;
  std::map<client::TimerId, Task> tasks_;
};

// Largest UDP payload over IPv4.
inline constexpr size_t kMaxUdpPayload = 65507;
// Datagrams UdpLink takes from its socket per wake-up at most.
inline constexpr int kReceiveBurst = 32;
// Default SMP packet size over UDP: one 1500-byte Ethernet frame less the IP and UDP headers
// (Zephyr's IP stack does not reassemble fragments by default; smp-protocol.md §8.5).
inline constexpr size_t kUdpMtuIpv4 = 1472;
inline constexpr size_t kUdpMtuIpv6 = 1452;

class UdpLink final : public client::Link {
 public:
  // Resolves `host` and connects a UDP socket to it. `mtu` is the largest datagram (SMP
  // packet) sent; 0 picks kUdpMtuIpv4 or kUdpMtuIpv6 by the resolved address. Errors:
  // kNotFound (resolution), kIo (socket), kInvalidArgument (mtu above kMaxUdpPayload).
  static Result<std::unique_ptr<UdpLink>> Open(asio::io_context& io, const std::string& host,
                                               uint16_t port, size_t mtu = 0);
  ~UdpLink() override;
  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  client::LinkInfo Info() const override { return {mtu_, false, 0}; }
  std::string peer() const;

 private:
  UdpLink(asio::io_context& io, size_t mtu);
  void Receive();
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  size_t mtu_;
  std::vector<uint8_t> rx_;
  ReceiveHandler handler_;
  std::shared_ptr<bool> alive_;
};

// A serial port or pty as a byte stream (raw mode, 8N1, no flow control).
class SerialPortStream final : public client::ByteStream {
 public:
  // Errors: kIo naming the path and the OS error; kInvalidArgument for an unsupported baud.
  static Result<std::unique_ptr<SerialPortStream>> Open(asio::io_context& io,
                                                        const std::string& path, uint32_t baud);
  ~SerialPortStream() override;
  Status Write(ConstByteSpan bytes) override;
  void SetReadHandler(ReadHandler handler) override { handler_ = std::move(handler); }

 private:
  explicit SerialPortStream(asio::io_context& io);
  void Read();
  void WriteNext();
  asio::serial_port port_;
  std::vector<uint8_t> rx_;
  std::deque<std::vector<uint8_t>> tx_;
  bool writing_ = false;
  ReadHandler handler_;
  std::shared_ptr<bool> alive_;
};

// SMP packets over a UNIX stream socket to `smpkit device --ble-sim PATH`, which carries them
// through its simulated phone and BLE link in real time. Each packet travels as a 2-byte
// big-endian length and the packet; the simulated link reassembles, so only the device's
// buf_size limits a request.
// The framing of that socket: BE16 length + packet. Errors: kNoSpace above 65535 bytes.
Result<std::vector<uint8_t>> FrameBleSimPacket(ConstByteSpan packet);

class BleSimLink final : public client::Link {
 public:
  // Errors: kIo naming the path when nothing listens there.
  static Result<std::unique_ptr<BleSimLink>> Open(asio::io_context& io, const std::string& path);
  ~BleSimLink() override;
  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  client::LinkInfo Info() const override { return {495, true, 0}; }

 private:
  explicit BleSimLink(asio::io_context& io);
  void ReadHeader();
  void WriteNext();
  asio::local::stream_protocol::socket socket_;
  std::array<uint8_t, 2> head_{};
  std::vector<uint8_t> body_;
  std::deque<std::vector<uint8_t>> tx_;
  bool writing_ = false;
  ReceiveHandler handler_;
  std::shared_ptr<bool> alive_;
};

struct ConnectionSpec {
  enum class Kind { kUdp, kSerial, kSim, kBleSim, kBle } kind = Kind::kUdp;
  std::string host;      // udp
  uint16_t port = 1337;  // udp
  std::string path;      // serial, blesim; ble: the address or name
  uint32_t baud = 115200;
  // Largest SMP packet the link carries (the CLI's --mtu); 0 = the transport's default.
  size_t mtu = 0;
};

// Parses "udp:HOST[:PORT]" (IPv6 as udp:[::1]:1337 or udp:::1), "serial:PATH[,BAUD]",
// "sim". Errors: kInvalidArgument naming what is wrong.
Result<ConnectionSpec> ParseConnection(std::string_view text);

// An open connection: the link (and for serial the stream below it).
struct Connection {
  std::unique_ptr<client::ByteStream> stream;
  std::unique_ptr<client::Link> inner;  // below `link` when an MTU cap wraps it
  std::unique_ptr<client::Link> link;
};

// Opens a udp, serial or blesim connection (not sim); spec.mtu caps the packet size (on UDP
// it is the datagram size, default by address family). Errors as the links' Open.
Result<Connection> OpenConnection(asio::io_context& io, const ConnectionSpec& spec);

}  // namespace smpkit::io
