// `smpkit device --ble-sim PATH`: the simulated nRF Desktop device behind the BLE link model,
// run in real time, reachable from the CLI (`--conn blesim:PATH`) over a UNIX socket. The
// process also plays the phone's radio: each client connection is a phone that connects
// over the simulated link (2M PHY, DLE 251, encrypted), exchanges the ATT MTU, enables
// notifications and reconnects after the device reboots. The socket is io::PacketSocketServer
// (one client at a time, bounded output); this file is the phone behind it.
#include "ble_sim_device.h"

#include <fmt/core.h>

#include <asio.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "ble_dfu.h"
#include "commands.h"
#include "desktop_host.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/io/packet_socket_server.h"
#include "smpkit/sim/real_time.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

namespace {

// The phone: each client of the socket is a phone that connects to the device over the
// simulated link. One object serves every client in turn; `generation_` tells a scheduled
// step or a link's event which client it was for.
class Phone : public io::PacketSocketServer::Peer {
 public:
  // `links` outlives the phone: the device and the link model may still reference a link
  // after its phone went away.
  Phone(sim::Scheduler& sched, desktop::DesktopDevice& dev,
        std::vector<std::unique_ptr<ble::Link>>& links, bool quiet)
      : sched_(sched), dev_(dev), links_(links), quiet_(quiet) {}

  void set_server(io::PacketSocketServer* server) { server_ = server; }

  void OnClientConnected() override {
    ++generation_;
    central_ = std::make_unique<central::BleSmpCentral>();
    central_->SetReceiveHandler([this](ConstByteSpan packet) {
      if (server_ != nullptr) (void)server_->Send(packet);
    });
    Connect(generation_);
  }

  void OnClientPacket(ConstByteSpan packet) override {
    if (central_ == nullptr) return;
    if (central_->ready()) {
      (void)central_->Send(packet);
    } else if (waiting_.size() < 8) {
      waiting_.emplace_back(packet.begin(), packet.end());  // sent once connected
    }
  }

  void OnClientDisconnected() override {
    ++generation_;
    waiting_.clear();
    if (central_ != nullptr) central_->Detach();
    if (mine_ != nullptr && mine_->connected()) (void)mine_->Disconnect(ble::Role::kCentral);
    mine_ = nullptr;
    central_.reset();
  }

  void OnClientRefused() override {
    if (!quiet_) fmt::print("ble-sim: one phone at a time; refusing a second client\n");
    std::fflush(stdout);
  }

 private:
  void Connect(uint64_t gen) {
    if (gen != generation_) return;
    if (dev_.link_attached() || !dev_.running()) {
      // (Or the bootloader is still swapping: the device does not advertise yet.)
      // The previous phone's link is still terminating (LL_TERMINATE_IND waits for an event
      // the peripheral attends): try again shortly.
      sched_.PostAfter(sim::Ms(100), [this, gen] { Connect(gen); });
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
    link.AddDisconnectListener([this, gen](uint8_t reason) {
      if (gen != generation_) return;
      if (!quiet_) fmt::print("ble-sim: link lost (reason 0x{:02x}), phone reconnects\n", reason);
      std::fflush(stdout);
      central_->Detach();
      sched_.PostAfter(sim::Ms(600), [this, gen] { Connect(gen); });
    });
    (void)central_->Attach(link, [this, gen] {
      if (gen != generation_) return;
      if (!quiet_) fmt::print("ble-sim: phone connected, ATT MTU {}\n", central_->mtu());
      std::fflush(stdout);
      // Requests that arrived while connecting go out now.
      for (const auto& p : waiting_) (void)central_->Send(p);
      waiting_.clear();
    });
  }

  sim::Scheduler& sched_;
  desktop::DesktopDevice& dev_;
  std::vector<std::unique_ptr<ble::Link>>& links_;
  bool quiet_;
  io::PacketSocketServer* server_ = nullptr;
  uint64_t generation_ = 0;
  std::unique_ptr<central::BleSmpCentral> central_;
  std::vector<std::vector<uint8_t>> waiting_;
  ble::Link* mine_ = nullptr;  // the current phone's link (owned by links_)
};

}  // namespace

int RunBleSimDevice(const BleSimDeviceOptions& opt) {
  int code = kExitOk;
  auto host = StartHostedDesktop("smpkit device", opt.prj_conf, opt.flash_path, opt.quiet, &code);
  if (!host) return code;
  sim::Scheduler& sched = host->sched;

  asio::io_context io;
  Phone phone(sched, *host->dev, host->links, opt.quiet);
  io::PacketSocketServer server(io, opt.socket_path, phone);
  phone.set_server(&server);
  if (Status st = server.Start(); !st.ok()) {
    fmt::print(stderr, "smpkit device: {}\n", st.error().message());
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

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int) {
    server.Stop();
    io.stop();
  });
  io.run();
  server.Stop();
  return kExitOk;
}

}  // namespace smpkit::cli
