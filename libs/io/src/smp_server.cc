#include "smpkit/io/smp_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "smpkit/io/udp_relay.h"
#include "smpkit/transport/console_lines.h"
#include "smpkit/transport/serial.h"

namespace smpkit::io {

// The request path is allocation-free once running: a datagram or serial packet
// is handled in place when nothing waits for the SMP work queue, else copied into one of
// buf_count fixed request buffers (a full queue drops, as a Zephyr server without free
// net_bufs does), and answered straight to the socket or into the serial output ring. Output is
// bounded on every transport: UDP sends never block (a datagram the socket cannot take is dropped),
// and the serial output ring stops the pty reader while it is over half full, as a UART with
// hardware flow control stops its peer, so a host that never reads holds the device's
// memory flat.
class SmpServer::Impl {
 public:
  Impl(asio::io_context& io, PacketHandler& handler, ServerOptions opt)
      : io_(io),
        handler_(handler),
        opt_(std::move(opt)),
        reset_timer_(io),
        pty_timer_(io),
        work_timer_(io),
        tx_timer_(io) {
    requests_.resize(opt_.buf_count);
    for (auto& r : requests_) r.data.resize(opt_.buf_size);
  }

  Status Start() {
    for (const auto& u : opt_.udp) {
      SMPKIT_ASSIGN_OR_RETURN(auto ep, io::ParseUdpEndpoint(u));
      auto sock = std::make_unique<asio::ip::udp::socket>(io_);
      asio::error_code ec;
      sock->open(ep.protocol(), ec);
      if (!ec) sock->bind(ep, ec);
      if (!ec) sock->non_blocking(true, ec);  // a full socket drops an answer, never blocks
      if (ec) {
        return Error::Format(Errc::kIo, "cannot bind UDP %s: %s", u.c_str(), ec.message().c_str());
      }
      udp_endpoints_.push_back(sock->local_endpoint());
      udp_.push_back(std::make_unique<Udp>(std::move(sock)));
      ReceiveUdp(*udp_.back());
    }
    if (opt_.serial_pty) SMPKIT_TRY(OpenPty());
    return Ok();
  }

  const std::vector<asio::ip::udp::endpoint>& udp_endpoints() const { return udp_endpoints_; }
  const std::string& pty_path() const { return pty_path_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t tx_dropped() const { return tx_dropped_; }

 private:
  struct Udp {
    explicit Udp(std::unique_ptr<asio::ip::udp::socket> s) : sock(std::move(s)) {}
    std::unique_ptr<asio::ip::udp::socket> sock;
    std::vector<uint8_t> rx = std::vector<uint8_t>(65536);
    asio::ip::udp::endpoint peer;
  };

  // One request waiting for the single SMP work queue, in a buffer of buf_size bytes.
  struct Request {
    std::vector<uint8_t> data;
    size_t size = 0;
    Udp* udp = nullptr;  // nullptr: the serial console
    asio::ip::udp::endpoint peer;
    std::chrono::steady_clock::time_point ready{};  // --baud: when its last byte arrived
  };

  // Answers go straight out: to the requesting UDP peer, or into the serial output ring.
  class UdpSink : public smp::ResponseSink {
   public:
    UdpSink(asio::ip::udp::socket& sock, const asio::ip::udp::endpoint& peer)
        : sock_(sock), peer_(peer) {}
    void SendResponse(ConstByteSpan f) override {
      asio::error_code ec;
      sock_.send_to(asio::buffer(f.data(), f.size()), peer_, 0, ec);
    }

   private:
    asio::ip::udp::socket& sock_;
    const asio::ip::udp::endpoint& peer_;
  };
  class SerialSink : public smp::ResponseSink {
   public:
    explicit SerialSink(Impl& p) : p_(p) {}
    void SendResponse(ConstByteSpan f) override { p_.WriteSerial(f); }

   private:
    Impl& p_;
  };

  // Takes a free request buffer (nullptr when all buf_count are taken: the packet is dropped).
  Request* Admit() {
    if (queued_ >= requests_.size()) {
      ++dropped_;
      return nullptr;
    }
    return &requests_[(head_ + queued_) % requests_.size()];
  }
  void Enqueue() {
    ++queued_;
    ScheduleWork();
  }

  void ScheduleWork() {
    if (work_scheduled_ || queued_ == 0) return;
    work_scheduled_ = true;
    const auto ready = requests_[head_].ready;
    if (opt_.baud && ready > std::chrono::steady_clock::now()) {
      work_timer_.expires_at(ready);
      work_timer_.async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        RunOne();
      });
    } else {
      asio::post(io_, [this] { RunOne(); });
    }
  }

  void RunOne() {
    work_scheduled_ = false;
    if (queued_ == 0) return;
    Request& r = requests_[head_];
    const ConstByteSpan packet(r.data.data(), r.size);
    if (r.udp) {
      UdpSink sink(*r.udp->sock, r.peer);
      handler_.HandlePacket(packet, sink);
    } else {
      SerialSink sink(*this);
      handler_.HandlePacket(packet, sink);
    }
    head_ = (head_ + 1) % requests_.size();
    --queued_;
    AfterRequest();
    ScheduleWork();
  }

  void ReceiveUdp(Udp& u) {
    u.sock->async_receive_from(
        asio::buffer(u.rx), u.peer, [this, &u](const asio::error_code& ec, size_t n) {
          if (ec) {
            if (ec != asio::error::operation_aborted) ReceiveUdp(u);
            return;
          }
          OnDatagram(u, n);
          // Datagrams already queued on the socket are taken at once (the socket is
          // non-blocking), without a trip through the reactor for each; a bounded number, so
          // that the other sockets and the console get their turn.
          for (int i = 0; i < kUdpBurst; ++i) {
            asio::error_code e;
            const size_t m = u.sock->receive_from(asio::buffer(u.rx), u.peer, 0, e);
            if (e) break;
            OnDatagram(u, m);
          }
          ReceiveUdp(u);
        });
  }
  static constexpr int kUdpBurst = 32;

  void OnDatagram(Udp& u, size_t n) {
    // As Zephyr's UDP transport: a datagram larger than its receive buffer
    // (CONFIG_MCUMGR_TRANSPORT_UDP_MTU) or the SMP buffer is cut short, and the SMP layer then
    // answers rc 9 (length mismatch).
    const size_t take = std::min<size_t>({n, opt_.udp_mtu, opt_.buf_size});
    if (queued_ == 0) {
      // Nothing waits in the work queue: handle it in place (no copy, no extra dispatch).
      UdpSink sink(*u.sock, u.peer);
      handler_.HandlePacket(ConstByteSpan(u.rx.data(), take), sink);
      AfterRequest();
    } else if (Request* r = Admit()) {
      std::memcpy(r->data.data(), u.rx.data(), take);
      r->size = take;
      r->udp = &u;
      r->peer = u.peer;
      r->ready = {};
      Enqueue();
    }
  }

  Status OpenPty() {
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
      return Error::Format(Errc::kIo, "cannot create a pty: %s", std::strerror(errno));
    }
    const char* name = ptsname(master);
    pty_path_ = name ? name : "";
    // Keep the slave open so that reads do not fail with EIO between clients, in raw mode.
    slave_fd_ = open(pty_path_.c_str(), O_RDWR | O_NOCTTY);
    if (slave_fd_ >= 0) {
      termios t{};
      if (tcgetattr(slave_fd_, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave_fd_, TCSANOW, &t);
      }
    }
    pty_ = std::make_unique<asio::posix::stream_descriptor>(io_, master);
    decoder_buf_.resize(opt_.buf_size - 2);  // P <= NETBUF_SIZE - 4 with length and CRC
    decoder_ = std::make_unique<transport::SerialDecoder>(ByteSpan(decoder_buf_));
    line_buf_.resize(opt_.serial_line_max);
    lines_ = std::make_unique<transport::ConsoleLineFilter>(ByteSpan(line_buf_));
    // One answer of buf_size bytes encoded, and the output ring: a few of them.
    encode_buf_.resize(transport::SerialEncoder::EncodedSize(opt_.buf_size));
    tx_ring_.resize(std::max<size_t>(kTxRingMin, 4 * encode_buf_.size()));
    ReadPty();
    return Ok();
  }

  // Flow control: the reader stops while the output ring is over half full and restarts
  // when it has drained below a quarter.
  bool TxCongested() const { return tx_size_ > tx_ring_.size() / 2; }

  void ReadPty() {
    if (TxCongested()) {
      read_paused_ = true;
      return;
    }
    read_paused_ = false;
    pty_->async_read_some(asio::buffer(pty_rx_), [this](const asio::error_code& ec, size_t n) {
      if (ec) {
        if (ec != asio::error::operation_aborted) {
          pty_timer_.expires_after(std::chrono::milliseconds(20));
          pty_timer_.async_wait([this](const asio::error_code& e) {
            if (!e) ReadPty();
          });
        }
        return;
      }
      // With baud emulation the bytes "arrive" at line rate.
      if (opt_.baud) {
        line_in_free_ = std::max(line_in_free_, std::chrono::steady_clock::now()) + ByteTime(n);
      }
      // Zephyr's uart_mcumgr collects lines in CONFIG_UART_MCUMGR_RX_BUF_SIZE buffers and
      // drops a longer line whole, before the console framing sees it.
      lines_->Feed(ConstByteSpan(pty_rx_.data(), n),
                   [this](ConstByteSpan line) { HandleConsoleLine(line); });
      ReadPty();
    });
  }

  // One console line (with its '\n') through the SMP console framing.
  void HandleConsoleLine(ConstByteSpan in) {
    while (!in.empty()) {
      auto r = decoder_->Feed(in);
      in = in.subspan(r.consumed);
      if (r.consumed == 0) break;
      // Errors (bad CRC, garbage) drop the partial packet; Zephyr answers nothing.
      if (!r.packet.ok() || !r.packet->has_value()) continue;
      const ConstByteSpan p = **r.packet;
      if (queued_ == 0 && !opt_.baud) {
        SerialSink sink(*this);
        handler_.HandlePacket(p, sink);
        AfterRequest();
        continue;
      }
      Request* req = Admit();
      if (!req) continue;
      const size_t take = std::min(p.size(), req->data.size());
      std::memcpy(req->data.data(), p.data(), take);
      req->size = take;
      req->udp = nullptr;
      req->ready = line_in_free_;
      Enqueue();
    }
  }

  std::chrono::steady_clock::duration ByteTime(size_t n) const {
    return std::chrono::nanoseconds(static_cast<int64_t>(n) * 10'000'000'000LL / opt_.baud);
  }

  // Encodes an answer into the output ring; an answer the ring cannot take is dropped (the
  // reader is stopped long before that in steady state).
  void WriteSerial(ConstByteSpan packet) {
    auto n = transport::SerialEncoder::Encode(packet, encode_buf_);
    if (!n.ok()) return;
    if (*n > tx_ring_.size() - tx_size_) {
      ++tx_dropped_;
      return;
    }
    size_t at = (tx_head_ + tx_size_) % tx_ring_.size();
    for (size_t done = 0; done < *n;) {
      const size_t k = std::min(*n - done, tx_ring_.size() - at);
      std::memcpy(tx_ring_.data() + at, encode_buf_.data() + done, k);
      done += k;
      at = (at + k) % tx_ring_.size();
    }
    tx_size_ += *n;
    if (!tx_busy_) PumpSerial();
  }

  void PumpSerial() {
    if (tx_size_ == 0) {
      tx_busy_ = false;
      return;
    }
    tx_busy_ = true;
    const size_t k = std::min(tx_size_, tx_ring_.size() - tx_head_);
    if (opt_.baud) {
      // The line is busy for the bytes' transfer time: they are complete then.
      line_out_free_ = std::max(line_out_free_, std::chrono::steady_clock::now()) + ByteTime(k);
      tx_timer_.expires_at(line_out_free_);
      tx_timer_.async_wait([this, k](const asio::error_code& ec) {
        if (ec) return;
        WriteRing(k);
      });
    } else {
      WriteRing(k);
    }
  }

  void WriteRing(size_t k) {
    asio::async_write(*pty_, asio::buffer(tx_ring_.data() + tx_head_, k),
                      [this](const asio::error_code& ec, size_t written) {
                        if (ec == asio::error::operation_aborted) return;
                        // On a write error the bytes are lost (no reader on the line), as on a
                        // UART.
                        const size_t done =
                            ec ? std::min(tx_size_, tx_ring_.size() - tx_head_) : written;
                        tx_head_ = (tx_head_ + done) % tx_ring_.size();
                        tx_size_ -= done;
                        if (read_paused_ && tx_size_ <= tx_ring_.size() / 4) ReadPty();
                        PumpSerial();
                      });
  }

  // An accepted OS reset: the handler restarts after the delay it asked for; the serial
  // framing starts afresh, as the device's UART driver does.
  void AfterRequest() {
    if (resetting_) return;
    const auto delay = handler_.RestartRequested();
    if (!delay) return;
    resetting_ = true;
    reset_timer_.expires_after(*delay);
    reset_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      resetting_ = false;
      if (decoder_) decoder_->Reset();
      if (lines_) lines_->Reset();
      if (!handler_.Restart().ok()) {
        restart_failed_ = true;
        io_.stop();
      }
    });
  }

 public:
  bool restart_failed() const { return restart_failed_; }

 private:
  asio::io_context& io_;
  PacketHandler& handler_;
  const ServerOptions opt_;
  asio::steady_timer reset_timer_;
  asio::steady_timer pty_timer_;
  static constexpr size_t kTxRingMin = 64 * 1024;
  std::vector<std::unique_ptr<Udp>> udp_;
  std::vector<Request> requests_;  // ring of buf_count; [head_, head_ + queued_) wait
  size_t head_ = 0;
  size_t queued_ = 0;
  bool work_scheduled_ = false;
  asio::steady_timer work_timer_;
  std::unique_ptr<asio::posix::stream_descriptor> pty_;
  std::string pty_path_;
  int slave_fd_ = -1;
  std::array<uint8_t, 4096> pty_rx_{};
  std::vector<uint8_t> decoder_buf_;
  std::unique_ptr<transport::SerialDecoder> decoder_;
  std::vector<uint8_t> line_buf_;
  std::unique_ptr<transport::ConsoleLineFilter> lines_;
  std::vector<uint8_t> encode_buf_;
  std::vector<uint8_t> tx_ring_;  // [tx_head_, tx_head_ + tx_size_) waits for the pty
  size_t tx_head_ = 0;
  size_t tx_size_ = 0;
  bool tx_busy_ = false;
  bool read_paused_ = false;
  asio::steady_timer tx_timer_;
  std::chrono::steady_clock::time_point line_in_free_{};
  std::chrono::steady_clock::time_point line_out_free_{};
  uint64_t dropped_ = 0;
  uint64_t tx_dropped_ = 0;
  std::vector<asio::ip::udp::endpoint> udp_endpoints_;
  bool resetting_ = false;
  bool restart_failed_ = false;
};

SmpServer::SmpServer(asio::io_context& io, PacketHandler& handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(io, handler, std::move(options))) {}
SmpServer::~SmpServer() = default;
Status SmpServer::Start() { return impl_->Start(); }
const std::vector<asio::ip::udp::endpoint>& SmpServer::udp_endpoints() const {
  return impl_->udp_endpoints();
}
const std::string& SmpServer::pty_path() const { return impl_->pty_path(); }
bool SmpServer::restart_failed() const { return impl_->restart_failed(); }
uint64_t SmpServer::dropped() const { return impl_->dropped(); }
uint64_t SmpServer::tx_dropped() const { return impl_->tx_dropped(); }

}  // namespace smpkit::io
