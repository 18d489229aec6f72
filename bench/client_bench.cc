// Upload throughput of the smpkit client against `smpkit device` run as a process:
//   * UDP loopback, window 1/2/4/8 x chunk 512..8192 data bytes, 448 KiB image (512 KiB slot),
//     device --buf-size = the exact upload frame for the chunk, --buf-count 9;
//   * a pty with the device emulating 115200 baud, window 1/4, default 384-byte buffer and
//     a 2 KiB one, 24 KiB image; reported against the line-rate ceiling of the framing
//     (base64 console lines, smp-protocol.md §8.3) in the request direction.
// Each label prints the full configuration; the last benchmark reports window4/window1.
// The device binary is found next to this one: <build>/apps/smpkit/smpkit.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/client/link_filter.h"
#include "smpkit/client/serial_link.h"
#include "smpkit/device/device.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/testing/device_process.h"
#include "smpkit/transport/serial.h"

namespace {

using namespace smpkit;

// A `smpkit device` on its own flash file, removed afterwards.
class BenchDevice {
 public:
  explicit BenchDevice(std::vector<std::string> args)
      : flash_("/tmp/smpkit-client-bench-" + std::to_string(getpid()) + ".flash"),
        process_(smpkit::testing::SmpkitBesideThisBinary(), WithFlash(flash_, std::move(args))) {}
  ~BenchDevice() {
    process_.Kill(SIGTERM);
    std::remove(flash_.c_str());
  }
  int port() const { return process_.udp_port(); }
  const std::string& pty() const { return process_.pty(); }

 private:
  static std::vector<std::string> WithFlash(const std::string& flash, std::vector<std::string> args) {
    std::remove(flash.c_str());
    args.insert(args.begin(), {"--quiet", "--flash", flash});
    return args;
  }
  std::string flash_;
  smpkit::testing::DeviceProcess process_;
};

std::map<std::string, double> g_rates;  // "udp/c8192/w4" -> bytes/s

std::vector<uint8_t> MakeImage(uint32_t size) {
  auto img = device::MakeFactoryImage("2.0.0", size - 1024, 11);
  return img.ok() ? *img : std::vector<uint8_t>{};
}

// Uploads `image` repeatedly (a different last byte each time, so the device's SHA check
// never short-cuts) and reports throughput.
void RunUploads(benchmark::State& state, client::Client& c, std::vector<uint8_t> image,
                size_t window, size_t chunk, const std::string& key) {
  client::UploadOptions o;
  o.max_window = window;
  o.max_chunk = chunk;
  o.skip_if_present = false;
  double bytes = 0, seconds = 0;
  uint64_t retransmits = 0, rewinds = 0;
  size_t used = 0;
  for (auto _ : state) {
    image.back() = static_cast<uint8_t>(image.back() + 1);
    auto r = c.Upload(image, o);
    if (!r.ok() || r->match != std::optional<bool>(true)) {
      state.SkipWithError(r.ok() ? "match false" : std::string(r.error().message()).c_str());
      return;
    }
    bytes += static_cast<double>(image.size());
    seconds += r->elapsed_s;
    retransmits += r->retransmits;
    rewinds += r->rewinds;
    used = r->max_window_used;
  }
  double rate = seconds > 0 ? bytes / seconds : 0;
  g_rates[key] = rate;
  state.counters["MB/s"] = rate / 1e6;
  state.counters["retransmits"] = static_cast<double>(retransmits);
  state.counters["rewinds"] = static_cast<double>(rewinds);
  state.counters["window_used"] = static_cast<double>(used);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_UdpUpload(benchmark::State& state) {
  size_t window = static_cast<size_t>(state.range(0));
  size_t chunk = static_cast<size_t>(state.range(1));
  constexpr uint32_t kImage = 448 << 10;
  // The exact frame of a continuation chunk of `chunk` bytes at a 32-bit offset.
  size_t buf_size = client::UploadFrameSize(false, 0, kImage, 0x10000, 32, false, chunk);
  // Datagrams up to 8 KiB here: the device's and the link's UDP MTU raised to the maximum.
  BenchDevice dev({"--udp", "127.0.0.1:0", "--buf-size", std::to_string(buf_size), "--buf-count",
                     "9", "--slot-size", std::to_string(512 << 10), "--udp-mtu", "65507"});
  if (dev.port() == 0) return state.SkipWithError("smpkit device did not start");
  asio::io_context io;
  io::AsioExecutor ex(io);
  auto link = io::UdpLink::Open(io, "127.0.0.1", static_cast<uint16_t>(dev.port()),
                                io::kMaxUdpPayload);
  if (!link.ok()) return state.SkipWithError("udp link");
  client::Session session(**link, ex, {.timeout = std::chrono::milliseconds(500)});
  client::Client c(session);
  state.SetLabel("udp loopback, window " + std::to_string(window) + ", chunk " +
                 std::to_string(chunk) + " B, image 448 KiB, device buf_size " +
                 std::to_string(buf_size) + " buf_count 9");
  RunUploads(state, c, MakeImage(kImage), window, chunk,
             "udp/c" + std::to_string(chunk) + "/w" + std::to_string(window));
}
BENCHMARK(BM_UdpUpload)
    ->ArgsProduct({{1, 2, 4, 8}, {512, 1024, 2048, 4096, 8192}})
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same over loopback with 1 ms of emulated one-way latency added on each side by a
// client::LinkFilter on the Asio executor (a 2 ms RTT, like a LAN/Thread hop): where the
// window matters.
void BM_UdpUploadRtt2ms(benchmark::State& state) {
  size_t window = static_cast<size_t>(state.range(0));
  size_t chunk = static_cast<size_t>(state.range(1));
  constexpr uint32_t kImage = 128 << 10;
  size_t buf_size = client::UploadFrameSize(false, 0, kImage, 0x10000, 32, false, chunk);
  BenchDevice dev({"--udp", "127.0.0.1:0", "--buf-size", std::to_string(buf_size), "--buf-count",
                     "9", "--slot-size", std::to_string(512 << 10), "--udp-mtu", "65507"});
  if (dev.port() == 0) return state.SkipWithError("smpkit device did not start");
  asio::io_context io;
  io::AsioExecutor ex(io);
  auto udp = io::UdpLink::Open(io, "127.0.0.1", static_cast<uint16_t>(dev.port()),
                               io::kMaxUdpPayload);
  if (!udp.ok()) return state.SkipWithError("udp link");
  client::FaultConfig latency;
  latency.delay = std::chrono::milliseconds(1);
  client::LinkFilter link(**udp, ex, latency, latency, 1);
  client::Session session(link, ex, {.timeout = std::chrono::milliseconds(500)});
  client::Client c(session);
  state.SetLabel("udp loopback + 2 ms emulated RTT, window " + std::to_string(window) + ", chunk " +
                 std::to_string(chunk) + " B, image 128 KiB, device buf_size " +
                 std::to_string(buf_size) + " buf_count 9");
  RunUploads(state, c, MakeImage(kImage), window, chunk,
             "udp+rtt2ms/c" + std::to_string(chunk) + "/w" + std::to_string(window));
}
BENCHMARK(BM_UdpUploadRtt2ms)
    ->ArgsProduct({{1, 2, 4, 8}, {1024, 8192}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SerialUpload(benchmark::State& state) {
  size_t window = static_cast<size_t>(state.range(0));
  size_t buf_size = static_cast<size_t>(state.range(1));
  constexpr uint32_t kImage = 24 * 1024;
  constexpr uint32_t kBaud = 115200;
  BenchDevice dev({"--serial-pty", "--baud", std::to_string(kBaud), "--buf-size",
                     std::to_string(buf_size), "--buf-count", "5", "--slot-size",
                     std::to_string(256 << 10)});
  if (dev.pty().empty()) return state.SkipWithError("smpkit device did not start");
  asio::io_context io;
  io::AsioExecutor ex(io);
  auto stream = io::SerialPortStream::Open(io, dev.pty(), kBaud);
  if (!stream.ok()) return state.SkipWithError("pty");
  client::SerialLink link(**stream);
  client::Session session(link, ex, {.timeout = std::chrono::seconds(2)});
  client::Client c(session);
  // Line-rate ceiling: data bytes per chunk over the chunk's request bytes on the wire
  // (10 bits per byte, 8N1).
  size_t packet = buf_size - 4;
  size_t data = client::UploadChunkFit(packet, false, 0, kImage, 0x1000, 32, false);
  size_t wire = transport::SerialEncoder::EncodedSize(packet);
  double ceiling = static_cast<double>(data) / (static_cast<double>(wire) * 10.0 / kBaud);
  state.SetLabel("pty at " + std::to_string(kBaud) + " baud (device-emulated), window " +
                 std::to_string(window) + ", device buf_size " + std::to_string(buf_size) +
                 " buf_count 5, image 24 KiB, chunk " + std::to_string(data) + " B");
  std::string key = "serial/b" + std::to_string(buf_size) + "/w" + std::to_string(window);
  RunUploads(state, c, MakeImage(kImage), window, 0, key);
  state.counters["ceiling_kB/s"] = ceiling / 1e3;
  state.counters["of_ceiling_%"] = g_rates[key] / ceiling * 100;
}
BENCHMARK(BM_SerialUpload)
    ->ArgsProduct({{1, 4}, {384, 2048}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// window 4 / window 1 for every link and chunk configuration measured above.
void BM_Window4OverWindow1(benchmark::State& state) {
  for (auto _ : state) {
  }
  std::string text;
  for (const auto& [key, rate] : g_rates) {
    if (key.size() < 3 || key.substr(key.size() - 3) != "/w1") continue;
    std::string base = key.substr(0, key.size() - 3);
    auto w4 = g_rates.find(base + "/w4");
    if (w4 == g_rates.end() || rate <= 0) continue;
    double ratio = w4->second / rate;
    state.counters[base] = ratio;
    char line[160];
    std::snprintf(line, sizeof(line),
                  "  %-16s window 1 %8.2f MB/s  window 4 %8.2f MB/s  ratio %.2f\n", base.c_str(),
                  rate / 1e6, w4->second / 1e6, ratio);
    text += line;
  }
  std::fprintf(stderr, "window 4 / window 1:\n%s", text.c_str());
}
BENCHMARK(BM_Window4OverWindow1)->Iterations(1);

}  // namespace
