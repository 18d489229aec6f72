#include "smpkit/io/asio_link.h"

#include <charconv>

namespace smpkit::io {

AsioExecutor::AsioExecutor(asio::io_context& io)
    : io_(io), epoch_(std::chrono::steady_clock::now()), timer_(io) {}

AsioExecutor::~AsioExecutor() {
  asio::error_code ec;
  timer_.cancel(ec);
}

client::Time AsioExecutor::Now() const {
  return std::chrono::duration_cast<client::Time>(std::chrono::steady_clock::now() - epoch_);
}

// One steady_timer serves every task, armed at the earliest deadline. A cancelled task
// leaves the timer as it is (it fires, finds nothing due, and re-arms): an uploader posts and
// cancels a retransmission timer per packet, and re-arming the kernel timer each time would
// cost a system call per packet.
client::TimerId AsioExecutor::PostAfter(client::Duration delay, std::function<void()> fn) {
  const client::TimerId id = next_id_++;
  const auto at = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
  auto pos = deadlines_.emplace(at, id);
  tasks_.emplace(id, Task{pos, std::move(fn)});
  if (!armed_ || at < armed_at_) Arm(at);
  return id;
}

bool AsioExecutor::Cancel(client::TimerId id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return false;
  deadlines_.erase(it->second.pos);
  tasks_.erase(it);
  return true;
}

void AsioExecutor::Arm(std::chrono::steady_clock::time_point at) {
  armed_ = true;
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;  // re-armed earlier, or the executor is going away
    OnTimer();
  });
}

void AsioExecutor::OnTimer() {
  armed_ = false;
  const auto now = std::chrono::steady_clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const client::TimerId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = tasks_.find(id);
    std::function<void()> fn = std::move(it->second.fn);
    tasks_.erase(it);
    fn();  // may post and cancel tasks
  }
  if (!deadlines_.empty() && (!armed_ || deadlines_.begin()->first < armed_at_)) {
    Arm(deadlines_.begin()->first);
  }
}

bool AsioExecutor::RunUntil(const std::function<bool()>& done) {
  while (!done()) {
    if (io_.stopped()) io_.restart();
    if (io_.run_one() == 0) return done();
  }
  return true;
}

// ------------------------------------------------------------------------------------------

UdpLink::UdpLink(asio::io_context& io, size_t mtu)
    : socket_(io), mtu_(mtu), rx_(kMaxUdpPayload + 1), alive_(std::make_shared<bool>(true)) {}

UdpLink::~UdpLink() {
  *alive_ = false;
  asio::error_code ec;
  socket_.close(ec);
}

Result<std::unique_ptr<UdpLink>> UdpLink::Open(asio::io_context& io, const std::string& host,
                                               uint16_t port, size_t mtu) {
  asio::error_code ec;
  asio::ip::udp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    return Error::Format(Errc::kNotFound, "cannot resolve host '%s': %s", host.c_str(),
                         ec ? ec.message().c_str() : "no address");
  }
  if (mtu > kMaxUdpPayload) {
    return Error::Format(Errc::kInvalidArgument, "UDP MTU %zu exceeds the largest datagram (%zu)",
                         mtu, kMaxUdpPayload);
  }
  const asio::ip::udp::endpoint peer = *results.begin();
  if (mtu == 0) mtu = peer.address().is_v6() ? kUdpMtuIpv6 : kUdpMtuIpv4;
  std::unique_ptr<UdpLink> link(new UdpLink(io, mtu));
  link->peer_ = peer;
  link->socket_.open(link->peer_.protocol(), ec);
  if (!ec) link->socket_.connect(link->peer_, ec);
  if (ec) {
    return Error::Format(Errc::kIo, "cannot open UDP socket to %s: %s", link->peer().c_str(),
                         ec.message().c_str());
  }
  // Large datagrams: make the kernel buffers hold a window of them.
  link->socket_.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
  link->socket_.set_option(asio::socket_base::send_buffer_size(1 << 20), ec);
  // Non-blocking: Receive() drains what is queued without blocking, and a full send buffer
  // drops the datagram (a lost packet) instead of stalling the executor.
  link->socket_.non_blocking(true, ec);
  link->Receive();
  return link;
}

std::string UdpLink::peer() const {
  std::string addr = peer_.address().to_string();
  if (peer_.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(peer_.port());
}

Status UdpLink::Send(ConstByteSpan packet) {
  if (packet.size() > mtu_) {
    return Error::Format(Errc::kNoSpace, "packet of %zu bytes exceeds the UDP MTU %zu",
                         packet.size(), mtu_);
  }
  asio::error_code ec;
  socket_.send(asio::buffer(packet.data(), packet.size()), 0, ec);
  // A refused or dropped datagram is a lost packet: the session's timeouts handle it.
  if (ec && ec != asio::error::connection_refused && ec != asio::error::would_block) {
    return Error::Format(Errc::kIo, "UDP send to %s failed: %s", peer().c_str(),
                         ec.message().c_str());
  }
  return {};
}

void UdpLink::Receive() {
  std::weak_ptr<bool> alive = alive_;
  socket_.async_receive(asio::buffer(rx_), [this, alive](const asio::error_code& ec, size_t n) {
    if (auto a = alive.lock(); !a || !*a) return;
    if (ec == asio::error::operation_aborted) return;
    if (!ec && n > 0 && n <= kMaxUdpPayload && handler_) {
      handler_(ConstByteSpan(rx_.data(), n));
    }
    // Answers already queued are taken at once, without a trip through the reactor for each
    // (a bounded number, so that timers get their turn).
    for (int i = 0; i < kReceiveBurst; ++i) {
      if (auto a = alive.lock(); !a || !*a) return;
      asio::error_code e;
      const size_t m = socket_.receive(asio::buffer(rx_), 0, e);
      if (e) break;
      if (m > 0 && m <= kMaxUdpPayload && handler_) handler_(ConstByteSpan(rx_.data(), m));
    }
    if (auto a = alive.lock(); !a || !*a) return;
    Receive();
  });
}

// ------------------------------------------------------------------------------------------

SerialPortStream::SerialPortStream(asio::io_context& io)
    : port_(io), rx_(4096), alive_(std::make_shared<bool>(true)) {}

SerialPortStream::~SerialPortStream() {
  *alive_ = false;
  asio::error_code ec;
  port_.close(ec);
}

Result<std::unique_ptr<SerialPortStream>> SerialPortStream::Open(asio::io_context& io,
                                                                 const std::string& path,
                                                                 uint32_t baud) {
  std::unique_ptr<SerialPortStream> s(new SerialPortStream(io));
  asio::error_code ec;
  s->port_.open(path, ec);
  if (ec) {
    return Error::Format(Errc::kIo, "cannot open serial port %s: %s", path.c_str(),
                         ec.message().c_str());
  }
  s->port_.set_option(asio::serial_port_base::baud_rate(baud), ec);
  if (ec) {
    return Error::Format(Errc::kInvalidArgument, "serial port %s: baud rate %u: %s", path.c_str(),
                         baud, ec.message().c_str());
  }
  s->port_.set_option(asio::serial_port_base::character_size(8), ec);
  s->port_.set_option(asio::serial_port_base::parity(asio::serial_port_base::parity::none), ec);
  s->port_.set_option(asio::serial_port_base::stop_bits(asio::serial_port_base::stop_bits::one),
                      ec);
  s->port_.set_option(
      asio::serial_port_base::flow_control(asio::serial_port_base::flow_control::none), ec);
  s->Read();
  return s;
}

Status SerialPortStream::Write(ConstByteSpan bytes) {
  tx_.emplace_back(bytes.begin(), bytes.end());
  if (!writing_) WriteNext();
  return {};
}

void SerialPortStream::WriteNext() {
  if (tx_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::async_write(port_, asio::buffer(tx_.front()),
                    [this, alive](const asio::error_code& ec, size_t) {
                      if (auto a = alive.lock(); !a || !*a) return;
                      tx_.pop_front();
                      if (ec) {
                        tx_.clear();
                        writing_ = false;
                        return;
                      }
                      WriteNext();
                    });
}

void SerialPortStream::Read() {
  std::weak_ptr<bool> alive = alive_;
  port_.async_read_some(asio::buffer(rx_), [this, alive](const asio::error_code& ec, size_t n) {
    if (auto a = alive.lock(); !a || !*a) return;
    if (ec) return;  // port closed (e.g. the device went away): the session times out
    if (handler_) handler_(ConstByteSpan(rx_.data(), n));
    if (auto a = alive.lock(); !a || !*a) return;
    Read();
  });
}

// ------------------------------------------------------------------------------------------

namespace {

Result<uint32_t> ParseNumber(std::string_view text, const char* what, uint32_t max) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > max) {
    return Error::Format(Errc::kInvalidArgument, "bad %s '%.*s'", what,
                         static_cast<int>(text.size()), text.data());
  }
  return v;
}

}  // namespace

Result<ConnectionSpec> ParseConnection(std::string_view text) {
  ConnectionSpec spec;
  if (text == "sim" || text == "sim:") {
    spec.kind = ConnectionSpec::Kind::kSim;
    return spec;
  }
  if (text.rfind("udp:", 0) == 0) {
    std::string_view rest = text.substr(4);
    spec.kind = ConnectionSpec::Kind::kUdp;
    if (!rest.empty() && rest.front() == '[') {
      size_t close = rest.find(']');
      if (close == std::string_view::npos) {
        return Error(Errc::kInvalidArgument, "udp: unterminated '[' in IPv6 address");
      }
      spec.host = std::string(rest.substr(1, close - 1));
      rest = rest.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') return Error(Errc::kInvalidArgument, "udp: expected ':PORT'");
        SMPKIT_ASSIGN_OR_RETURN(uint32_t port, ParseNumber(rest.substr(1), "port", 65535));
        spec.port = static_cast<uint16_t>(port);
      }
    } else if (std::count(rest.begin(), rest.end(), ':') > 1) {
      spec.host = std::string(rest);  // a bare IPv6 address, default port
    } else {
      size_t colon = rest.find(':');
      spec.host = std::string(rest.substr(0, colon));
      if (colon != std::string_view::npos) {
        SMPKIT_ASSIGN_OR_RETURN(uint32_t port, ParseNumber(rest.substr(colon + 1), "port", 65535));
        spec.port = static_cast<uint16_t>(port);
      }
    }
    if (spec.host.empty()) return Error(Errc::kInvalidArgument, "udp: missing host");
    return spec;
  }
  if (text.rfind("blesim:", 0) == 0) {
    spec.kind = ConnectionSpec::Kind::kBleSim;
    spec.path = std::string(text.substr(7));
    if (spec.path.empty()) return Error(Errc::kInvalidArgument, "blesim: missing socket path");
    return spec;
  }
  if (text.rfind("ble:", 0) == 0) {
    // Opened by libs/bluez (the CLI), not here: io stays free of D-Bus.
    spec.kind = ConnectionSpec::Kind::kBle;
    spec.path = std::string(text.substr(4));
    if (spec.path.empty()) {
      return Error(Errc::kInvalidArgument, "ble: missing device address or name");
    }
    return spec;
  }
  if (text.rfind("serial:", 0) == 0) {
    std::string_view rest = text.substr(7);
    spec.kind = ConnectionSpec::Kind::kSerial;
    size_t comma = rest.find(',');
    spec.path = std::string(rest.substr(0, comma));
    if (comma != std::string_view::npos) {
      SMPKIT_ASSIGN_OR_RETURN(spec.baud,
                              ParseNumber(rest.substr(comma + 1), "baud rate", 100000000));
    }
    if (spec.path.empty()) return Error(Errc::kInvalidArgument, "serial: missing device path");
    return spec;
  }
  return Error::Format(
      Errc::kInvalidArgument,
      "unknown connection '%.*s' (use udp:HOST[:PORT], serial:PATH[,BAUD], ble:ADDRESS|NAME, "
      "blesim:PATH, sim)",
      static_cast<int>(text.size()), text.data());
}

Result<Connection> OpenConnection(asio::io_context& io, const ConnectionSpec& spec) {
  Connection c;
  if (spec.kind == ConnectionSpec::Kind::kUdp) {
    SMPKIT_ASSIGN_OR_RETURN(auto link, UdpLink::Open(io, spec.host, spec.port, spec.mtu));
    c.link = std::move(link);
    return c;
  }
  if (spec.kind == ConnectionSpec::Kind::kSerial) {
    SMPKIT_ASSIGN_OR_RETURN(auto stream, SerialPortStream::Open(io, spec.path, spec.baud));
    c.link = std::make_unique<client::SerialLink>(*stream);
    c.stream = std::move(stream);
  } else if (spec.kind == ConnectionSpec::Kind::kBleSim) {
    SMPKIT_ASSIGN_OR_RETURN(auto link, BleSimLink::Open(io, spec.path));
    c.link = std::move(link);
  } else if (spec.kind == ConnectionSpec::Kind::kBle) {
    return Error(Errc::kInvalidArgument, "ble: connections are opened through libs/bluez");
  } else {
    return Error(Errc::kInvalidArgument, "the sim connection has no I/O to open");
  }
  if (spec.mtu != 0) {
    c.inner = std::move(c.link);
    c.link = std::make_unique<client::CappedLink>(*c.inner, spec.mtu);
  }
  return c;
}

BleSimLink::BleSimLink(asio::io_context& io) : socket_(io), alive_(std::make_shared<bool>(true)) {}

BleSimLink::~BleSimLink() {
  alive_.reset();
  asio::error_code ec;
  socket_.close(ec);
}

Result<std::unique_ptr<BleSimLink>> BleSimLink::Open(asio::io_context& io,
                                                     const std::string& path) {
  std::unique_ptr<BleSimLink> link(new BleSimLink(io));
  asio::error_code ec;
  link->socket_.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) {
    return Error::Format(Errc::kIo, "cannot connect to the BLE simulation at %s: %s", path.c_str(),
                         ec.message().c_str());
  }
  link->ReadHeader();
  return link;
}

Result<std::vector<uint8_t>> FrameBleSimPacket(ConstByteSpan packet) {
  if (packet.size() > 0xffff) return Error(Errc::kNoSpace, "SMP packet larger than 65535 bytes");
  std::vector<uint8_t> framed(2 + packet.size());
  StoreBe16(framed.data(), static_cast<uint16_t>(packet.size()));
  std::copy(packet.begin(), packet.end(), framed.begin() + 2);
  return framed;
}

Status BleSimLink::Send(ConstByteSpan packet) {
  SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> framed, FrameBleSimPacket(packet));
  tx_.push_back(std::move(framed));
  if (!writing_) WriteNext();
  return Ok();
}

void BleSimLink::WriteNext() {
  if (tx_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::async_write(socket_, asio::buffer(tx_.front()), [this, alive](asio::error_code ec, size_t) {
    if (alive.expired()) return;
    tx_.pop_front();
    if (ec) {
      tx_.clear();
      writing_ = false;
      return;  // the session's timeouts report the dead link
    }
    WriteNext();
  });
}

void BleSimLink::ReadHeader() {
  std::weak_ptr<bool> alive = alive_;
  asio::async_read(socket_, asio::buffer(head_), [this, alive](asio::error_code ec, size_t) {
    if (alive.expired() || ec) return;
    body_.resize(size_t{head_[0]} << 8 | head_[1]);
    asio::async_read(socket_, asio::buffer(body_), [this, alive](asio::error_code ec2, size_t) {
      if (alive.expired() || ec2) return;
      if (handler_) handler_(body_);
      ReadHeader();
    });
  });
}

}  // namespace smpkit::io
