// Simulated 256 KiB stop-and-wait SMP image upload over the BLE link model, across PHY,
// connection interval and ATT MTU. Wall time measures the simulator; the counters report the
// simulated upload: sim_s (virtual seconds), kBps (image throughput), capacity_kBps (the
// link's air-time bound from WriteCapacity) and ratio (throughput / capacity). The label says
// which term of min(air time, flash write) bounds the DFU.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "smpkit/ble/capacity.h"
#include "smpkit/ble/upload_model.h"

namespace {

using smpkit::ble::Phy;

smpkit::ble::UploadScenario Scenario(Phy phy, uint16_t interval, uint16_t mtu) {
  smpkit::ble::UploadScenario sc;
  sc.link.params = {interval, 0, 400};
  sc.link.phy = phy;
  sc.link.data_length = 251;
  sc.link.central.latency_mode = smpkit::ble::LatencyMode::kCancelledOnReceive;
  sc.link.peripheral.latency_mode = smpkit::ble::LatencyMode::kCancelledOnReceive;
  sc.att_mtu = mtu;
  sc.image_size = 256 * 1024;
  sc.idle_before_start = std::chrono::milliseconds(100);
  return sc;
}

void BM_Upload256KiB(benchmark::State& state) {
  const Phy phy = state.range(0) == 1 ? Phy::k1M : Phy::k2M;
  const auto interval = static_cast<uint16_t>(state.range(1));
  const auto mtu = static_cast<uint16_t>(state.range(2));
  const smpkit::ble::UploadScenario sc = Scenario(phy, interval, mtu);
  smpkit::ble::UploadResult result;
  for (auto _ : state) {
    auto r = smpkit::ble::SimulateStopAndWaitUpload(sc);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.error().message()).c_str());
      return;
    }
    result = *r;
    benchmark::DoNotOptimize(result);
  }
  const smpkit::ble::Capacity cap = smpkit::ble::WriteCapacity(sc.link, mtu);
  const smpkit::ble::DfuBound bound = smpkit::ble::ComputeDfuBound(
      cap, sc.word_write_time, sc.word_size, std::chrono::microseconds(87500), 4096, false);
  state.counters["sim_s"] = smpkit::sim::ToSeconds(result.elapsed);
  state.counters["kBps"] = result.bytes_per_second / 1000.0;
  state.counters["capacity_kBps"] = cap.bytes_per_second / 1000.0;
  state.counters["ratio"] = result.bytes_per_second / cap.bytes_per_second;
  state.counters["bound_ratio"] = result.bytes_per_second / bound.bytes_per_second;
  state.SetLabel(std::string(smpkit::ble::PhyName(phy)) + " bound: " + bound.limited_by);
}

BENCHMARK(BM_Upload256KiB)
    ->ArgNames({"phy", "interval", "mtu"})
    ->ArgsProduct({{1, 2}, {6, 12, 24}, {23, 247, 498}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
