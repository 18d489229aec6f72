// File transfer rate over loopback UDP at 1472-byte datagrams (one Ethernet frame): a 16 MiB
// file uploaded to and downloaded from `smpkit device` as a process, its file management
// group serving a sandbox directory (--buf-size 1472, so that answers fit a datagram too,
// buf_count 4), with the client's default options (window up to buf_count - 1).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/testing/device_process.h"

namespace {

using namespace smpkit;

constexpr size_t kFile = 16u << 20;

struct Device {
  Device()
      : dir("/tmp/smpkit-fs-bench-" + std::to_string(getpid())),
        process(smpkit::testing::SmpkitBesideThisBinary(), Args(dir)) {}
  ~Device() {
    process.Kill(SIGTERM);
    std::filesystem::remove_all(dir);
  }
  static std::vector<std::string> Args(const std::string& d) {
    std::filesystem::remove_all(d);
    return {"--quiet",    "--udp",      "127.0.0.1:0",
            "--buf-size", "1472",       "--fs-root",
            d + "/fs",    "--fs-quota", std::to_string(2 * kFile)};
  }
  std::string dir;
  smpkit::testing::DeviceProcess process;
};

std::vector<uint8_t> File() {
  std::vector<uint8_t> v(kFile);
  std::mt19937 rng(9);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void Label(benchmark::State& state, double bytes, double seconds, const std::string& what) {
  state.SetLabel(what + " of a 16 MiB file, 1472-byte datagrams, smpkit device --buf-size 1472");
  state.counters["MB/s"] = seconds > 0 ? bytes / seconds / 1e6 : 0;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// A device process and a client with default options talking to it over loopback UDP.
struct Setup {
  Setup() {
    if (dev.process.udp_port() == 0) return;
    auto l = io::UdpLink::Open(io, "127.0.0.1", static_cast<uint16_t>(dev.process.udp_port()));
    if (!l.ok()) return;
    link = std::move(*l);
    session = std::make_unique<client::Session>(*link, ex);
    client = std::make_unique<client::Client>(*session);
  }
  Device dev;
  asio::io_context io;
  io::AsioExecutor ex{io};
  std::unique_ptr<io::UdpLink> link;
  std::unique_ptr<client::Session> session;
  std::unique_ptr<client::Client> client;
};

void BM_FsUpload(benchmark::State& state) {
  Setup s;
  if (!s.client) return state.SkipWithError("smpkit device did not start");
  client::Client& c = *s.client;
  auto file = File();
  client::UploadOptions opt;
  double bytes = 0, seconds = 0;
  size_t window = 0;
  for (auto _ : state) {
    file.back() = static_cast<uint8_t>(file.back() + 1);
    auto r = c.FsUpload(file, "/lfs1/bench.bin", opt);
    if (!r.ok()) return state.SkipWithError(std::string(r.error().message()).c_str());
    bytes += static_cast<double>(file.size());
    seconds += r->elapsed_s;
    window = r->max_window_used;
  }
  // The device's copy is the file.
  auto crc = c.FsHash("/lfs1/bench.bin");
  if (!crc.ok() || crc->len != file.size()) return state.SkipWithError("device copy differs");
  Label(state, bytes, seconds, "upload");
  state.counters["window"] = static_cast<double>(window);
}
BENCHMARK(BM_FsUpload)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FsDownload(benchmark::State& state) {
  Setup s;
  if (!s.client) return state.SkipWithError("smpkit device did not start");
  client::Client& c = *s.client;
  const auto file = File();
  client::UploadOptions up;
  if (!c.FsUpload(file, "/lfs1/bench.bin", up).ok()) return state.SkipWithError("upload");
  client::FsDownloadOptions opt;
  double bytes = 0, seconds = 0;
  size_t chunk = 0;
  for (auto _ : state) {
    auto r = c.FsDownload("/lfs1/bench.bin", opt);
    if (!r.ok()) return state.SkipWithError(std::string(r.error().message()).c_str());
    if (r->data != file) return state.SkipWithError("downloaded bytes differ");
    bytes += static_cast<double>(r->data.size());
    seconds += r->elapsed_s;
    chunk = r->chunk_data;
  }
  Label(state, bytes, seconds, "download");
  state.counters["chunk"] = static_cast<double>(chunk);
}
BENCHMARK(BM_FsDownload)->Iterations(10)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
