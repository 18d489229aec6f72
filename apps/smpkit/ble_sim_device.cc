// `smpkit device --ble-sim PATH`: the simulated nRF Desktop device behind the BLE link model,
// run in real time, reachable from the CLI (`--conn blesim:PATH`) over a UNIX socket. The
// process also plays the phone's radio: each client connection is a phone that connects
// over the simulated link (2M PHY, DLE 251, encrypted), exchanges the ATT MTU, enables
// notifications and reconnects after the device reboots. Packets on the socket are a 2-byte
// big-endian length and one SMP packet.
#include "ble_sim_device.h"

#include <fmt/core.h>
#include <unistd.h>

#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "ble_dfu.h"
#include "commands.h"
#include "desktop_host.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/sim/real_time.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

namespace {

using asio::local::stream_protocol;

// One CLI connection: a phone on the simulated link.
class PhoneSession : public std::enable_shared_from_this<PhoneSession> {
 public:
  // `links` outlives every session: the device and the link model may still reference a link
  // after its phone went away.
  PhoneSession(stream_protocol::socket socket, sim::Scheduler& sched,
               desktop::DesktopDevice& dev, std::vector<std::unique_ptr<ble::Link>>& links,
               std::function<void()> on_close, bool quiet)
      : socket_(std::move(socket)), sched_(sched), dev_(dev), links_(links),
        on_close_(std::move(on_close)), quiet_(quiet) {}

  void Start() {
    phone_.SetReceiveHandler([this](ConstByteSpan packet) { Write(packet); });
    Connect();
    ReadHeader();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ec;
    socket_.close(ec);
    phone_.Detach();
    if (mine_ != nullptr && mine_->connected()) (void)mine_->Disconnect(ble::Role::kCentral);
    if (on_close_) on_close_();
  }

 private:
  void Connect() {
    if (closed_) return;
    std::weak_ptr<PhoneSession> weak = shared_from_this();
    if (dev_.link_attached() || !dev_.running()) {
      // (Or the bootloader is still swapping: the device does not advertise yet.)
      // The previous phone's link is still terminating (LL_TERMINATE_IND waits for an event
      // the peripheral attends): try again shortly.
      sched_.PostAfter(sim::Ms(100), [this, weak] {
        if (auto s = weak.lock()) Connect();
      });
      return;
    }
    BleDfuSetup setup;
    links_.push_back(std::make_unique<ble::Link>(
        sched_, desktop::WithPeripheralSide(dev_.config(), PhoneLink(setup))));
    ble::Link& link = *links_.back();
    mine_ = &link;
    if (!link.Connect().ok() || !dev_.AttachLink(link).ok()) {
      if (!quiet_) fmt::print("ble-sim: the device refused the connection\n");
      return;
    }
    link.AddDisconnectListener([this, weak](uint8_t reason) {
      auto self = weak.lock();
      if (!self || closed_) return;
      if (!quiet_) fmt::print("ble-sim: link lost (reason 0x{:02x}), phone reconnects\n", reason);
      std::fflush(stdout);
      phone_.Detach();
      sched_.PostAfter(sim::Ms(600), [this, weak] {
        if (auto s = weak.lock()) Connect();
      });
    });
    (void)phone_.Attach(link, [this] {
      if (!quiet_) fmt::print("ble-sim: phone connected, ATT MTU {}\n", phone_.mtu());
      std::fflush(stdout);
      // Requests that arrived while connecting go out now.
      for (const auto& p : waiting_) (void)phone_.Send(p);
      waiting_.clear();
    });
  }

  void ReadHeader() {
    auto self = shared_from_this();
    asio::async_read(socket_, asio::buffer(head_), [this, self](asio::error_code ec, size_t) {
      if (ec) return Close();
      body_.resize(size_t{head_[0]} << 8 | head_[1]);
      asio::async_read(socket_, asio::buffer(body_), [this, self](asio::error_code ec2, size_t) {
        if (ec2) return Close();
        if (phone_.ready()) {
          (void)phone_.Send(body_);
        } else if (waiting_.size() < 8) {
          waiting_.push_back(body_);  // sent once the phone is connected
        }
        // Flow control: while the client does not read its answers, stop reading its
        // requests (the output queue stays bounded); WriteNext() resumes.
        if (tx_.size() >= kMaxQueuedAnswers) {
          read_paused_ = true;
          return;
        }
        ReadHeader();
      });
    });
  }

  void Write(ConstByteSpan packet) {
    if (closed_) return;
    auto framed = io::FrameBleSimPacket(packet);
    if (!framed.ok()) return;
    tx_.push_back(std::move(*framed));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (tx_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(tx_.front()), [this, self](asio::error_code ec, size_t) {
      tx_.pop_front();
      if (ec) return Close();
      if (read_paused_ && tx_.size() < kMaxQueuedAnswers / 2) {
        read_paused_ = false;
        ReadHeader();
      }
      WriteNext();
    });
  }

  stream_protocol::socket socket_;
  sim::Scheduler& sched_;
  desktop::DesktopDevice& dev_;
  std::vector<std::unique_ptr<ble::Link>>& links_;
  std::function<void()> on_close_;
  bool quiet_;
  bool closed_ = false;
  central::BleSmpCentral phone_;
  std::array<uint8_t, 2> head_{};
  std::vector<uint8_t> body_;
  std::deque<std::vector<uint8_t>> tx_;
  std::vector<std::vector<uint8_t>> waiting_;
  bool writing_ = false;
  bool read_paused_ = false;
  static constexpr size_t kMaxQueuedAnswers = 16;
  ble::Link* mine_ = nullptr;  // this phone's current link (owned by links_)
};

}  // namespace

int RunBleSimDevice(const BleSimDeviceOptions& opt) {
  int code = kExitOk;
  auto host = StartHostedDesktop("smpkit device", opt.prj_conf, opt.flash_path, opt.quiet, &code);
  if (!host) return code;
  sim::Scheduler& sched = host->sched;
  std::vector<std::unique_ptr<ble::Link>>& links = host->links;
  desktop::DesktopDevice& dev = *host->dev;

  asio::io_context io;
  ::unlink(opt.socket_path.c_str());
  asio::error_code ec;
  stream_protocol::acceptor acceptor(io);
  acceptor.open(stream_protocol(), ec);
  if (!ec) acceptor.bind(stream_protocol::endpoint(opt.socket_path), ec);
  if (!ec) acceptor.listen(1, ec);
  if (ec) {
    fmt::print(stderr, "smpkit device: cannot listen on {}: {}\n", opt.socket_path, ec.message());
    return kExitBadInput;
  }
  fmt::print("ble-sim: {}\n", opt.socket_path);
  std::fflush(stdout);

  // Virtual time follows the wall clock: run what is due, sleep until the next task.
  sim::RealTimeDriver driver(sched);
  asio::steady_timer pump(io);
  std::function<void()> arm = [&] {
    driver.Poll();
    auto next = driver.TimeUntilNextTask().value_or(std::chrono::milliseconds(50));
    pump.expires_after(std::min<std::chrono::steady_clock::duration>(next, std::chrono::milliseconds(50)));
    pump.async_wait([&](const asio::error_code& e) {
      if (!e) arm();
    });
  };
  arm();

  std::shared_ptr<PhoneSession> active;
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](asio::error_code aec, stream_protocol::socket socket) {
      if (aec) return;
      if (active) {
        if (!opt.quiet) fmt::print("ble-sim: one phone at a time; refusing a second client\n");
        asio::error_code ignored;
        socket.close(ignored);
      } else {
        active = std::make_shared<PhoneSession>(std::move(socket), sched, dev, links,
                                                [&] { asio::post(io, [&] { active.reset(); }); },
                                                opt.quiet);
        active->Start();
      }
      accept();
    });
  };
  accept();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int) {
    if (active) active->Close();
    io.stop();
  });
  io.run();
  ::unlink(opt.socket_path.c_str());
  return kExitOk;
}

}  // namespace smpkit::cli
