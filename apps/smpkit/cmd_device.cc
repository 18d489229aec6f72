// `smpkit device`: the simulated device as a process, serving SMP over UDP (IPv4/IPv6) and
// over a serial console on a pseudo-terminal. Flash lives in a file that persists across
// restarts; the bootloader runs at every start and after every OS reset (250 ms after the
// response, as Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS).
#include <fcntl.h>
#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ble_sim_device.h"
#include "commands.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/file_flash.h"
#include "smpkit/mcuboot/keys.h"
#include "smpkit/transport/serial.h"

namespace smpkit::cli {

namespace {

struct DeviceOptions {
  std::string flash_path;
  std::string ble_sim;
  std::string prj_conf;
  std::vector<std::string> udp;
  bool serial_pty = false;
  uint32_t baud = 0;
  uint32_t buf_size = 2475;
  uint32_t buf_count = 4;
  // CONFIG_MCUMGR_TRANSPORT_UDP_MTU: datagrams above it are cut short (then answered rc 9).
  uint32_t udp_mtu = 1500;
  uint32_t slot_size = 0x69000;
  std::vector<std::string> keys;
  std::string factory_version = "1.0.0";
  bool quiet = false;
};

// "HOST:PORT", "[V6]:PORT", "PORT".
Result<asio::ip::udp::endpoint> ParseEndpoint(const std::string& text) {
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
  return asio::ip::udp::endpoint(addr, static_cast<uint16_t>(p));
}

// Collects the response frames of one request.
class Collect : public smp::ResponseSink {
 public:
  void SendResponse(ConstByteSpan f) override { frames.emplace_back(f.begin(), f.end()); }
  std::vector<std::vector<uint8_t>> frames;
};

class DeviceProcess {
 public:
  DeviceProcess(asio::io_context& io, device::Device& dev, const DeviceOptions& opt)
      : io_(io), dev_(dev), opt_(opt), reset_timer_(io), pty_timer_(io), signals_(io, SIGINT, SIGTERM) {}

  Status Start() {
    for (const auto& u : opt_.udp) {
      SMPKIT_ASSIGN_OR_RETURN(auto ep, ParseEndpoint(u));
      auto sock = std::make_unique<asio::ip::udp::socket>(io_);
      asio::error_code ec;
      sock->open(ep.protocol(), ec);
      if (!ec) sock->bind(ep, ec);
      if (ec) {
        return Error::Format(Errc::kIo, "cannot bind UDP %s: %s", u.c_str(), ec.message().c_str());
      }
      const auto local = sock->local_endpoint();
      if (local.address().is_v6()) {
        fmt::print("udp: [{}]:{}\n", local.address().to_string(), local.port());
      } else {
        fmt::print("udp: {}:{}\n", local.address().to_string(), local.port());
      }
      udp_.push_back(std::make_unique<Udp>(std::move(sock)));
      ReceiveUdp(*udp_.back());
    }
    if (opt_.serial_pty) SMPKIT_TRY(OpenPty());
    signals_.async_wait([this](const asio::error_code& ec, int sig) {
      if (ec) return;
      if (!opt_.quiet) fmt::print("device: signal {}, shutting down\n", sig);
      io_.stop();
    });
    std::fflush(stdout);
    return Ok();
  }

 private:
  struct Udp {
    explicit Udp(std::unique_ptr<asio::ip::udp::socket> s) : sock(std::move(s)) {}
    std::unique_ptr<asio::ip::udp::socket> sock;
    std::vector<uint8_t> rx = std::vector<uint8_t>(65536);
    asio::ip::udp::endpoint peer;
  };

  // Requests waiting for the single SMP work queue; at most buf_count, the rest dropped
  // (a Zephyr server without free buffers drops requests silently).
  bool Admit() {
    if (pending_ >= opt_.buf_count) {
      ++dropped_;
      return false;
    }
    ++pending_;
    return true;
  }

  void ReceiveUdp(Udp& u) {
    u.sock->async_receive_from(asio::buffer(u.rx), u.peer,
                               [this, &u](const asio::error_code& ec, size_t n) {
      if (ec) {
        if (ec != asio::error::operation_aborted) ReceiveUdp(u);
        return;
      }
      if (Admit()) {
        auto packet = std::make_shared<std::vector<uint8_t>>(u.rx.begin(), u.rx.begin() + n);
        auto peer = u.peer;
        asio::post(io_, [this, &u, packet, peer] {
          Collect c;
          // As Zephyr's UDP transport: a datagram larger than its receive buffer
          // (CONFIG_MCUMGR_TRANSPORT_UDP_MTU) or the SMP buffer is cut short, and the SMP
          // layer then answers rc 9 (length mismatch).
          const size_t take =
              std::min<size_t>({packet->size(), opt_.udp_mtu, opt_.buf_size});
          dev_.HandlePacket(ConstByteSpan(packet->data(), take), c);
          for (auto& f : c.frames) {
            asio::error_code ec2;
            u.sock->send_to(asio::buffer(f), peer, 0, ec2);
          }
          --pending_;
          AfterRequest();
        });
      }
      ReceiveUdp(u);
    });
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
    fmt::print("serial: {}\n", pty_path_);
    ReadPty();
    return Ok();
  }

  void ReadPty() {
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
      auto now = std::chrono::steady_clock::now();
      if (opt_.baud) {
        line_in_free_ = std::max(line_in_free_, now) + ByteTime(n);
      }
      ConstByteSpan in(pty_rx_.data(), n);
      while (!in.empty()) {
        auto r = decoder_->Feed(in);
        in = in.subspan(r.consumed);
        if (r.consumed == 0) break;
        // Errors (bad CRC, garbage) drop the partial packet; Zephyr answers nothing.
        if (!r.packet.ok() || !r.packet->has_value()) continue;
        if (!Admit()) continue;
        auto packet = std::make_shared<std::vector<uint8_t>>((*r.packet)->begin(), (*r.packet)->end());
        auto run = [this, packet] {
          Collect c;
          dev_.HandlePacket(*packet, c);
          for (auto& f : c.frames) WriteSerial(f);
          --pending_;
          AfterRequest();
        };
        if (opt_.baud && line_in_free_ > now) {
          auto t = std::make_shared<asio::steady_timer>(io_, line_in_free_);
          t->async_wait([t, run](const asio::error_code&) { run(); });
        } else {
          asio::post(io_, run);
        }
      }
      ReadPty();
    });
  }

  std::chrono::steady_clock::duration ByteTime(size_t n) const {
    return std::chrono::nanoseconds(static_cast<int64_t>(n) * 10'000'000'000LL / opt_.baud);
  }

  void WriteSerial(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> wire(transport::SerialEncoder::EncodedSize(packet.size()));
    auto n = transport::SerialEncoder::Encode(packet, wire);
    if (!n.ok()) return;
    wire.resize(*n);
    tx_queue_.push_back(std::move(wire));
    if (!tx_busy_) PumpSerial();
  }

  void PumpSerial() {
    if (tx_queue_.empty()) {
      tx_busy_ = false;
      return;
    }
    tx_busy_ = true;
    auto data = std::make_shared<std::vector<uint8_t>>(std::move(tx_queue_.front()));
    tx_queue_.pop_front();
    auto write = [this, data] {
      asio::async_write(*pty_, asio::buffer(*data), [this, data](const asio::error_code&, size_t) {
        PumpSerial();
      });
    };
    if (opt_.baud) {
      // The line is busy for the bytes' transfer time: the response is complete then.
      auto now = std::chrono::steady_clock::now();
      line_out_free_ = std::max(line_out_free_, now) + ByteTime(data->size());
      auto t = std::make_shared<asio::steady_timer>(io_, line_out_free_);
      t->async_wait([t, write](const asio::error_code&) { write(); });
    } else {
      write();
    }
  }

  void AfterRequest() {
    if (!dev_.reset_requested() || resetting_) return;
    resetting_ = true;
    reset_timer_.expires_after(dev_.config().reset_delay);
    reset_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      resetting_ = false;
      if (decoder_) decoder_->Reset();
      auto r = dev_.Boot();
      if (!r.ok()) {
        fmt::print(stderr, "device: boot failed: {}\n", r.error().message());
        io_.stop();
        return;
      }
      if (!opt_.quiet) PrintBoot(dev_);
    });
  }

 public:
  static void PrintBoot(device::Device& dev) {
    const auto& img = dev.last_boot().images[0];
    char v[32];
    fmt::print("boot #{}: running {} from slot {} (swap: {}{})", dev.boot_count(),
               img.version.Format(v), img.active_slot, mcuboot::SwapTypeName(img.swap),
               img.resumed ? ", resumed" : "");
    if (img.rejected != mcuboot::ImageFault::kNone) {
      fmt::print(", rejected slot {}: {}", img.rejected_slot, img.rejection.message());
    }
    fmt::print("\n");
    std::fflush(stdout);
  }

 private:
  asio::io_context& io_;
  device::Device& dev_;
  const DeviceOptions& opt_;
  asio::steady_timer reset_timer_;
  asio::steady_timer pty_timer_;
  asio::signal_set signals_;
  std::vector<std::unique_ptr<Udp>> udp_;
  std::unique_ptr<asio::posix::stream_descriptor> pty_;
  std::string pty_path_;
  int slave_fd_ = -1;
  std::array<uint8_t, 4096> pty_rx_{};
  std::vector<uint8_t> decoder_buf_;
  std::unique_ptr<transport::SerialDecoder> decoder_;
  std::deque<std::vector<uint8_t>> tx_queue_;
  bool tx_busy_ = false;
  std::chrono::steady_clock::time_point line_in_free_{};
  std::chrono::steady_clock::time_point line_out_free_{};
  uint32_t pending_ = 0;
  uint64_t dropped_ = 0;
  bool resetting_ = false;
};

int RunDevice(const DeviceOptions& opt) {
  device::DeviceConfig config;
  config.slot_size = opt.slot_size;
  config.server.buf_size = opt.buf_size;
  config.server.buf_count = opt.buf_count;
  config.os.taskstat = true;  // the CLI's taskstat and datetime commands have a server
  config.os.datetime = true;
  // --key FILE: PEM, public or private. The bootloader accepts images signed with any of
  // them; the first private key signs the factory image of a fresh flash.
  std::optional<mcuboot::PrivateKey> signing_key;
  for (const auto& path : opt.keys) {
    auto file = InputFile::Open(path);
    if (!file.ok()) {
      fmt::print(stderr, "smpkit device: --key {}\n", file.error().message());
      return kExitBadInput;
    }
    const std::string_view pem = AsString(file->bytes());
    auto key = mcuboot::PublicKey::FromPem(pem);
    if (!key.ok()) {
      fmt::print(stderr, "smpkit device: --key {}: not a PEM public or private key: {}\n", path,
                 key.error().message());
      return kExitBadInput;
    }
    if (!signing_key) {
      auto priv = mcuboot::PrivateKey::FromPem(pem);
      if (priv.ok()) signing_key = std::move(*priv);
    }
    config.boot.keys.push_back(std::move(*key));
  }
  std::unique_ptr<flash::Flash> flash;
  if (opt.flash_path.empty()) {
    flash = std::make_unique<flash::RamFlash>(config.Geometry());
  } else {
    auto f = flash::FileFlash::Open(opt.flash_path, config.Geometry(), {false});
    if (!f.ok()) {
      fmt::print(stderr, "smpkit device: flash {}: {}\n", opt.flash_path, f.error().message());
      return kExitBadInput;
    }
    flash = std::move(*f);
  }
  device::Device dev(*flash, config);
  // A fresh flash (nothing in the primary slot) gets a bootable factory image.
  std::array<uint8_t, 4> magic{};
  const bool blank = !dev.layout().images[0].primary.Read(0, magic).ok() ||
                     magic == std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff};
  if (blank) {
    if (!config.boot.keys.empty() && !signing_key) {
      fmt::print(stderr,
                 "smpkit device: a fresh flash needs a factory image signed with one of the "
                 "--key keys: give a private key (--key PRIVATE.pem), or a flash file that "
                 "already holds a signed image\n");
      return kExitBadInput;
    }
    auto factory = device::MakeFactoryImage(opt.factory_version, 16 * 1024, 1,
                                            signing_key ? &*signing_key : nullptr);
    if (!factory.ok() || !dev.Provision(*factory).ok()) {
      fmt::print(stderr, "smpkit device: cannot provision the factory image\n");
      return kExitFailure;
    }
    if (!opt.quiet) {
      fmt::print("flash: provisioned factory image {}{}\n", opt.factory_version,
                 signing_key ? " (signed)" : "");
    }
  }
  auto boot = dev.Boot();
  if (!boot.ok()) {
    fmt::print(stderr, "smpkit device: boot failed: {}\n", boot.error().message());
    return kExitFailure;
  }
  if (!opt.quiet) DeviceProcess::PrintBoot(dev);
  asio::io_context io;
  DeviceProcess proc(io, dev, opt);
  if (auto st = proc.Start(); !st.ok()) {
    fmt::print(stderr, "smpkit device: {}\n", st.error().message());
    return kExitBadInput;
  }
  io.run();
  return kExitOk;
}

}  // namespace

void RegisterDeviceCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto opt = std::make_shared<DeviceOptions>();
  auto* cmd = app.add_subcommand("device", "run a simulated SMP device (UDP and/or serial pty)");
  cmd->add_option("--flash", opt->flash_path, "flash image file (created on first run)");
  cmd->add_option("--udp", opt->udp, "serve UDP on HOST:PORT or [V6]:PORT (repeatable)");
  cmd->add_flag("--serial-pty", opt->serial_pty, "serve the SMP console on a new pty");
  cmd->add_option("--baud", opt->baud, "emulate this serial line rate (bits/s)");
  cmd->add_option("--buf-size", opt->buf_size,
                  "SMP buffer size: CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE (CONFIG_MCUMGR_BUF_SIZE "
                  "in older releases and the seed prj.conf)")
      ->check(CLI::Range(64u, 65535u));
  cmd->add_option("--buf-count", opt->buf_count,
                  "SMP buffer count: CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT (CONFIG_MCUMGR_BUF_COUNT "
                  "in older releases)")
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--udp-mtu", opt->udp_mtu,
                  "CONFIG_MCUMGR_TRANSPORT_UDP_MTU: larger datagrams are cut short and "
                  "answered rc 9, as Zephyr does")
      ->check(CLI::Range(64u, 65507u))
      ->capture_default_str();
  cmd->add_option("--slot-size", opt->slot_size, "image slot size in bytes (4 KiB multiple)")
      ->check(CLI::Range(0x8000u, 0x800000u));
  cmd->add_option("--key", opt->keys,
                  "key file (PEM, public or private; repeatable): images must be signed with one "
                  "of them; a private key also signs the factory image of a fresh flash");
  cmd->add_option("--factory-version", opt->factory_version, "version of the factory image");
  cmd->add_flag("--quiet", opt->quiet, "print only the endpoints");
  cmd->add_option("--ble-sim", opt->ble_sim,
                  "serve a simulated nRF Desktop device over the BLE link model on this UNIX "
                  "socket, in real time (clients: --conn blesim:PATH)");
  cmd->add_option("--config", opt->prj_conf, "prj.conf of the nRF Desktop device (--ble-sim)");
  cmd->callback([opt, exit_code] {
    if (!opt->ble_sim.empty()) {
      if (!opt->udp.empty() || opt->serial_pty) {
        fmt::print(stderr, "smpkit device: --ble-sim runs alone (no --udp or --serial-pty)\n");
        *exit_code = kExitUsage;
        return;
      }
      *exit_code = RunBleSimDevice({opt->ble_sim, opt->prj_conf, opt->flash_path, opt->quiet});
      return;
    }
    if (opt->udp.empty() && !opt->serial_pty) opt->udp.push_back("127.0.0.1:1337");
    if (opt->slot_size % 4096 != 0) {
      fmt::print(stderr, "smpkit device: --slot-size must be a multiple of 4096\n");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = RunDevice(*opt);
  });
}

}  // namespace smpkit::cli
