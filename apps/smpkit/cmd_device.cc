// `smpkit device`: the simulated device as a process, serving SMP over UDP (IPv4/IPv6) and
// over a serial console on a pseudo-terminal. Flash lives in a file that persists across
// restarts; the bootloader runs at every start and after every OS reset (250 ms after the
// response, as Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS).
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ble_sim_device.h"
#include "commands.h"
#include "smpkit/device/device.h"
#include "smpkit/device/dir_fs.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/flash/file_flash.h"
#include "smpkit/io/udp_relay.h"
#include "smpkit/mcuboot/keys.h"
#include "smpkit/transport/console_lines.h"
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
  // CONFIG_UART_MCUMGR_RX_BUF_SIZE: console lines longer than this ('\n' included) are
  // dropped whole, as Zephyr's uart_mcumgr does.
  uint32_t serial_line_max = 128;
  uint32_t slot_size = 0x69000;
  std::vector<std::string> keys;
  std::string factory_version = "1.0.0";
  bool quiet = false;
  // Start-up and fault injection (power-cut sweeps through the real process).
  bool provision = false;
  std::string boot_mode = "swap-move";
  uint64_t fault_after_writes = UINT64_MAX;
  bool fault_tear = false;
  bool exit_after_boot = false;
  bool image_check = false;  // CONFIG_IMG_ENABLE_IMAGE_CHECK (n by default, as in Zephyr)
  bool stat = true;          // CONFIG_MCUMGR_GRP_STAT (smp_svr has it)
  bool enumeration = true;   // CONFIG_MCUMGR_GRP_ENUM
  // CONFIG_MCUMGR_GRP_FS over a sandbox directory (default: FLASH.fs beside --flash; in RAM
  // without --flash), mounted at /lfs1, with a quota on the bytes its files hold.
  bool fs = true;
  bool shell = true;  // CONFIG_MCUMGR_GRP_SHELL
  bool settings = true;  // CONFIG_MCUMGR_GRP_SETTINGS, over a settings partition
  uint32_t settings_size = 0x2000;
  std::string fs_root;
  uint64_t fs_quota = 64ull << 20;
};

// Exit status of a process stopped by --fault-after-writes (a simulated power cut).
constexpr int kExitPowerCut = 9;
// 65,535 - 8 (UDP header) - 20 (IPv4 header).
constexpr uint32_t kMaxUdpPayload = 65507;

// The process's request path is allocation-free once running: a datagram or serial packet
// is handled in place when nothing waits for the SMP work queue, else copied into one of
// buf_count fixed request buffers (a full queue drops, as a Zephyr server without free
// net_bufs does), and answered straight to the socket or into the serial output ring. Output is
// bounded on every transport: UDP sends never block (a datagram the socket cannot take is dropped),
// and the serial output ring stops the pty reader while it is over half full, as a UART with
// hardware flow control stops its peer, so a host that never reads holds the device's
// memory flat.
class DeviceProcess {
 public:
  DeviceProcess(asio::io_context& io, device::Device& dev, const DeviceOptions& opt)
      : io_(io),
        dev_(dev),
        opt_(opt),
        reset_timer_(io),
        pty_timer_(io),
        work_timer_(io),
        tx_timer_(io),
        signals_(io, SIGINT, SIGTERM) {
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
    explicit SerialSink(DeviceProcess& p) : p_(p) {}
    void SendResponse(ConstByteSpan f) override { p_.WriteSerial(f); }

   private:
    DeviceProcess& p_;
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
      dev_.HandlePacket(packet, sink);
    } else {
      SerialSink sink(*this);
      dev_.HandlePacket(packet, sink);
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
      dev_.HandlePacket(ConstByteSpan(u.rx.data(), take), sink);
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
    fmt::print("serial: {}\n", pty_path_);
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
        dev_.HandlePacket(p, sink);
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

  void AfterRequest() {
    if (!dev_.reset_requested() || resetting_) return;
    resetting_ = true;
    reset_timer_.expires_after(dev_.config().reset_delay);
    reset_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      resetting_ = false;
      if (decoder_) decoder_->Reset();
      if (lines_) lines_->Reset();
      auto r = dev_.Boot();
      if (!r.ok()) {
        fmt::print(stderr, "device: boot failed: {}\n", r.error().message());
        boot_failed_ = true;
        io_.stop();
        return;
      }
      if (!opt_.quiet) PrintBoot(dev_);
    });
  }

 public:
  // A reset's boot failed (the device is bricked): the process ends with a failure status.
  bool boot_failed() const { return boot_failed_; }

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
  asio::signal_set signals_;
  bool resetting_ = false;
  bool boot_failed_ = false;
};

int RunDevice(const DeviceOptions& opt) {
  device::DeviceConfig config;
  config.slot_size = opt.slot_size;
  config.settings_size = opt.settings_size;
  config.server.buf_size = opt.buf_size;
  config.server.buf_count = opt.buf_count;
  config.img.image_check = opt.image_check;
  config.stat_group = opt.stat;
  config.enum_group = opt.enumeration;
  if (opt.boot_mode == "overwrite-only") {
    config.boot.mode = mcuboot::BootMode::kOverwriteOnly;
  } else if (opt.boot_mode != "swap-move") {
    fmt::print(stderr, "smpkit device: --boot-mode '{}' (want swap-move or overwrite-only)\n",
               opt.boot_mode);
    return kExitUsage;
  }
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
  // A factory image is written only into a flash known to be new (RAM, or a file this run
  // created) or on --provision; never on a guess from its content: an erased primary slot
  // is a state swap-move passes through, and a power cut there must resume, not re-provision.
  bool fresh = true;
  if (opt.flash_path.empty()) {
    flash = std::make_unique<flash::RamFlash>(config.Geometry());
  } else {
    auto f = flash::FileFlash::Open(opt.flash_path, config.Geometry(), {false});
    if (!f.ok()) {
      // A file made before the settings partition existed is exactly that much smaller.
      struct stat st {};
      const bool before_settings =
          f.error().code() == Errc::kCorrupt && ::stat(opt.flash_path.c_str(), &st) == 0 &&
          opt.settings_size != 0 &&
          static_cast<uint64_t>(st.st_size) + opt.settings_size == config.FlashSize();
      fmt::print(stderr, "smpkit device: flash {}: {}{}\n", opt.flash_path, f.error().message(),
                 before_settings ? " (a file made without the settings partition: give "
                                   "--settings-size 0, or start from a new file)"
                                 : "");
      return kExitBadInput;
    }
    fresh = (*f)->created();
    flash = std::move(*f);
    GuardFlashFile("smpkit device", opt.flash_path);
  }
  if (opt.fault_after_writes != UINT64_MAX) {
    // Counted from the start of the process: after that many writes and page erases the
    // power goes, before the next one starts (or, with --fault-tear, in the middle of it),
    // and the process stops on the spot (no clean-up).
    if (opt.fault_tear) {
      flash->CutPowerAtMutation(opt.fault_after_writes);
    } else {
      flash->CutPowerBeforeMutation(opt.fault_after_writes);
    }
    flash->set_power_cut_handler([] {
      static const char kMsg[] = "smpkit device: power cut (--fault-after-writes)\n";
      (void)!write(2, kMsg, sizeof(kMsg) - 1);
      _exit(kExitPowerCut);
    });
  }
  std::unique_ptr<mgmt::FileSystem> files;
  std::string files_where = "RAM";
  if (opt.fs) {
    const std::string root =
        !opt.fs_root.empty() ? opt.fs_root
                             : (opt.flash_path.empty() ? std::string() : opt.flash_path + ".fs");
    if (root.empty()) {
      files = std::make_unique<mgmt::RamFileSystem>(opt.fs_quota);
    } else {
      auto d = device::DirFileSystem::Open(root, opt.fs_quota);
      if (!d.ok()) {
        fmt::print(stderr, "smpkit device: --fs-root {}: {}\n", root, d.error().message());
        return kExitBadInput;
      }
      files_where = (*d)->root();
      files = std::move(*d);
    }
    config.fs_group = true;
    config.file_system = files.get();
  }
  // The process's clock, for the shell's `kernel uptime`.
  class ProcessHooks : public device::DeviceHooks {
   public:
    uint64_t NowMs() override {
      return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    }
  } hooks;
  config.shell_group = opt.shell;
  config.settings_group = opt.settings;
  device::Device dev(*flash, config, &hooks);
  if (fresh || opt.provision) {
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
    fmt::print(stderr, "smpkit device: boot failed: {}{}\n", boot.error().message(),
               opt.flash_path.empty() ? ""
                                      : " (an existing flash file is never re-provisioned on "
                                        "its own; --provision writes the factory image)");
    return kExitFailure;
  }
  if (!opt.quiet) {
    DeviceProcess::PrintBoot(dev);
    if (files) {
      fmt::print("fs: {} served as {} (quota {} bytes)\n", files_where, config.fs.mount,
                 opt.fs_quota);
    }
  }
  if (opt.exit_after_boot) return kExitOk;
  asio::io_context io;
  DeviceProcess proc(io, dev, opt);
  if (auto st = proc.Start(); !st.ok()) {
    fmt::print(stderr, "smpkit device: {}\n", st.error().message());
    return kExitBadInput;
  }
  io.run();
  return proc.boot_failed() ? kExitFailure : kExitOk;
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
  cmd->add_option("--serial-line-max", opt->serial_line_max,
                  "CONFIG_UART_MCUMGR_RX_BUF_SIZE: longer console lines ('\\n' included) are "
                  "dropped whole, as Zephyr does")
      ->check(CLI::Range(8u, 65536u));
  cmd->add_option("--slot-size", opt->slot_size, "image slot size in bytes (4 KiB multiple)")
      ->check(CLI::Range(0x8000u, 0x800000u));
  cmd->add_option("--key", opt->keys,
                  "key file (PEM, public or private; repeatable): images must be signed with one "
                  "of them; a private key also signs the factory image of a fresh flash");
  cmd->add_option("--factory-version", opt->factory_version, "version of the factory image");
  cmd->add_flag("--quiet", opt->quiet, "print only the endpoints");
  cmd->add_flag("--provision", opt->provision,
                "write the factory image into the primary slot even if the flash file exists "
                "(a new file is always provisioned; an existing one never on its own)");
  cmd->add_option("--boot-mode", opt->boot_mode,
                  "MCUboot upgrade mode: swap-move or overwrite-only")
      ->check(CLI::IsMember({"swap-move", "overwrite-only"}));
  cmd->add_option("--fault-after-writes", opt->fault_after_writes,
                  "fault injection: after N flash writes/page erases of this process, cut the "
                  "power before the next one and exit at once with status 9");
  cmd->add_flag("--fault-tear", opt->fault_tear,
                "with --fault-after-writes: the cut tears the next operation (half a write, "
                "a garbage page) instead of coming before it");
  cmd->add_flag("!--no-enum", opt->enumeration,
                "leave out the enumeration group (CONFIG_MCUMGR_GRP_ENUM=n): its requests get rc 8");
  cmd->add_flag("!--no-fs", opt->fs, "leave the file management group (8) out");
  cmd->add_flag("!--no-shell", opt->shell, "leave the shell management group (9) out");
  cmd->add_flag("!--no-settings", opt->settings, "leave the settings management group (3) out");
  cmd->add_option("--settings-size", opt->settings_size,
                  "bytes of the settings partition after the slots (an even number of 4 KiB "
                  "pages; 0: none)")
      ->capture_default_str();
  cmd->add_option("--fs-root", opt->fs_root,
                  "directory the file management group serves as /lfs1 (default: FLASH.fs "
                  "beside --flash, RAM without it); nothing outside it is read or written");
  cmd->add_option("--fs-quota", opt->fs_quota, "bytes the served files may hold in all")
      ->capture_default_str();
  cmd->add_flag("!--no-stat", opt->stat,
                "leave out the statistics group (CONFIG_MCUMGR_GRP_STAT=n): its requests get rc 8");
  cmd->add_flag("--image-check,!--no-image-check", opt->image_check,
                "CONFIG_IMG_ENABLE_IMAGE_CHECK: SHA-256 of the uploaded image against the "
                "client's sha, answered as \"match\" (default off, as Zephyr's smp_svr)");
  cmd->add_flag("--exit-after-boot", opt->exit_after_boot,
                "run the bootloader, print what boots, and exit (no transports)");
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
    // An answer is at most --buf-size bytes; over UDP it must fit one datagram (65,507
    // bytes of payload over IPv4), or it could only be dropped. Refused up front instead.
    if (!opt->udp.empty() && opt->buf_size > kMaxUdpPayload) {
      fmt::print(stderr,
                 "smpkit device: --buf-size {} exceeds the largest UDP datagram payload ({}): "
                 "answers that large could not be sent over --udp\n",
                 opt->buf_size, kMaxUdpPayload);
      *exit_code = kExitUsage;
      return;
    }
    if (opt->slot_size % 4096 != 0) {
      fmt::print(stderr, "smpkit device: --slot-size must be a multiple of 4096\n");
      *exit_code = kExitUsage;
      return;
    }
    if (opt->settings_size % 8192 != 0) {
      fmt::print(stderr, "smpkit device: --settings-size must be an even number of 4096-byte "
                         "pages (a multiple of 8192), or 0\n");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = RunDevice(*opt);
  });
}

}  // namespace smpkit::cli
