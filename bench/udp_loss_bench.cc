// Upload rate over loopback UDP at 1472-byte datagrams (one Ethernet frame, the client's
// default for IPv4) against `smpkit device` as a process with its defaults (UDP MTU 1500,
// buf_size 2475, buf_count 4, no image check), with the client's default options:
//   * direct, client socket to device socket;
//   * through io::UdpRelay (a seeded relay between two real sockets, on its own thread),
//     lossless and dropping 1, 5 and 10 % of the datagrams each way.
// The last benchmark prints each rate against the lossless rate through the same relay.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/device/device.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/io/udp_relay.h"
#include "smpkit/testing/device_process.h"

namespace {

using namespace smpkit;

constexpr uint32_t kImage = 400 * 1024;

std::map<std::string, double> g_rates;

struct Device {
  Device()
      : flash("/tmp/smpkit-udp-loss-bench-" + std::to_string(getpid()) + ".flash"),
        process(smpkit::testing::SmpkitBesideThisBinary(), Args(flash)) {}
  ~Device() {
    process.Kill(SIGTERM);
    std::remove(flash.c_str());
  }
  static std::vector<std::string> Args(const std::string& f) {
    std::remove(f.c_str());
    return {"--quiet", "--flash", f, "--udp", "127.0.0.1:0"};
  }
  std::string flash;
  smpkit::testing::DeviceProcess process;
};

void Upload(benchmark::State& state, uint16_t port, const std::string& key,
            const std::string& label, const io::RelayThread* relay) {
  asio::io_context io;
  io::AsioExecutor ex(io);
  auto link = io::UdpLink::Open(io, "127.0.0.1", port);  // default MTU: 1472
  if (!link.ok()) return state.SkipWithError("udp link");
  client::Session session(**link, ex);  // default timeout and retries
  client::Client c(session);
  auto image = device::MakeFactoryImage("2.0.0", kImage - 1024, 3);
  if (!image.ok()) return state.SkipWithError("image");
  client::UploadOptions opt;  // defaults, but upload the same file again and again
  opt.skip_if_present = false;
  double bytes = 0, seconds = 0;
  uint64_t fast = 0, timeouts = 0, stale = 0;
  size_t packet = 0;
  for (auto _ : state) {
    image->back() = static_cast<uint8_t>(image->back() + 1);  // no short cut on the device
    auto r = c.Upload(*image, opt);
    // The device's defaults have no image check (Zephyr's): "match" only when it answers one.
    if (!r.ok() || r->match == std::optional<bool>(false)) {
      state.SkipWithError(r.ok() ? "match false" : std::string(r.error().message()).c_str());
      return;
    }
    bytes += static_cast<double>(image->size());
    seconds += r->elapsed_s;
    fast += r->fast_retransmits;
    timeouts += r->timeouts;
    stale += r->stale_answers;
    packet = r->packet_size;
  }
  const double rate = seconds > 0 ? bytes / seconds : 0;
  g_rates[key] = rate;
  state.SetLabel(label + ", 400 KiB image, packets of " + std::to_string(packet) +
                 " B, device defaults (udp-mtu 1500, buf 2475 x 4, no image check), client defaults");
  state.counters["MB/s"] = rate / 1e6;
  state.counters["fast_rtx/upload"] = static_cast<double>(fast) / state.iterations();
  state.counters["timeouts/upload"] = static_cast<double>(timeouts) / state.iterations();
  state.counters["stale/upload"] = static_cast<double>(stale) / state.iterations();
  if (relay) {
    state.counters["dropped"] =
        static_cast<double>(relay->stats().to_target.dropped + relay->stats().to_client.dropped);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_Direct(benchmark::State& state) {
  Device dev;
  if (dev.process.udp_port() == 0) return state.SkipWithError("smpkit device did not start");
  Upload(state, static_cast<uint16_t>(dev.process.udp_port()), "direct", "direct loopback",
         nullptr);
}
BENCHMARK(BM_Direct)->Iterations(100)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Relay(benchmark::State& state) {
  const double loss = static_cast<double>(state.range(0)) / 100.0;
  Device dev;
  if (dev.process.udp_port() == 0) return state.SkipWithError("smpkit device did not start");
  io::RelayConfig config;
  config.to_target = io::NoFaults();
  config.to_target.drop = loss;
  config.to_client = config.to_target;
  config.seed = 7;
  const auto lo = asio::ip::make_address("127.0.0.1");
  auto relay =
      io::RelayThread::Start({lo, 0}, {lo, static_cast<uint16_t>(dev.process.udp_port())}, config);
  if (!relay.ok()) return state.SkipWithError("relay");
  Upload(state, (*relay)->port(), "relay" + std::to_string(state.range(0)),
         "relay, " + std::to_string(state.range(0)) + " % loss each way", relay->get());
  (*relay)->Stop();
}
BENCHMARK(BM_Relay)
    ->Arg(0)
    ->Arg(1)
    ->Arg(5)
    ->Arg(10)
    ->Iterations(100)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Summary(benchmark::State& state) {
  for (auto _ : state) {
  }
  const double lossless = g_rates["relay0"];
  std::fprintf(stderr, "upload rate at 1472-byte datagrams (400 KiB image):\n");
  std::fprintf(stderr, "  direct              %8.2f MB/s\n", g_rates["direct"] / 1e6);
  for (int loss : {0, 1, 5, 10}) {
    const double r = g_rates["relay" + std::to_string(loss)];
    std::fprintf(stderr,
                 "  relay, %2d %% loss    %8.2f MB/s  %5.1f %% of lossless through the relay\n",
                 loss, r / 1e6, lossless > 0 ? r / lossless * 100 : 0);
    if (lossless > 0)
      state.counters["relay" + std::to_string(loss) + "_of_lossless"] = r / lossless;
  }
}
BENCHMARK(BM_Summary)->Iterations(1);

}  // namespace
