// Simulated 256 KiB SMP image upload over the BLE link model, across PHY, connection
// interval, ATT MTU and requests in flight (window 1 = stop-and-wait). Wall time measures the
// simulator; the counters report the simulated upload: sim_s (virtual seconds), kBps (image
// throughput), capacity_kBps (the model's own bound: min(air time, flash write, radio/flash
// sharing)), ratio (throughput / capacity), air_ratio (throughput / air-time capacity) and
// physical_ratio (throughput / min(air time, flash write)). The label says which term limits.
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
  smpkit::ble::UploadScenario sc = Scenario(phy, interval, mtu);
  sc.window = static_cast<size_t>(state.range(3));
  smpkit::ble::UploadResult result;
  for (auto _ : state) {
    auto r = smpkit::ble::SimulateUpload(sc);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.error().message()).c_str());
      return;
    }
    result = *r;
    benchmark::DoNotOptimize(result);
  }
  const smpkit::ble::Capacity cap = smpkit::ble::WriteCapacity(sc.link, mtu);
  smpkit::ble::DfuBound bound = smpkit::ble::ComputeDfuBound(
      cap, sc.word_write_time, sc.word_size, std::chrono::microseconds(87500), 4096, false);
  smpkit::ble::ApplyRadioFlashSharing(bound, sc.link, mtu);
  state.counters["sim_s"] = smpkit::sim::ToSeconds(result.elapsed);
  state.counters["kBps"] = result.bytes_per_second / 1000.0;
  state.counters["capacity_kBps"] = bound.bytes_per_second / 1000.0;
  state.counters["ratio"] = result.bytes_per_second / bound.bytes_per_second;
  state.counters["air_ratio"] = result.bytes_per_second / cap.bytes_per_second;
  state.counters["physical_ratio"] = result.bytes_per_second / bound.physical_bytes_per_second;
  state.SetLabel(std::string(smpkit::ble::PhyName(phy)) + " bound: " + bound.limited_by);
}

BENCHMARK(BM_Upload256KiB)
    ->ArgNames({"phy", "interval", "mtu", "window"})
    ->ArgsProduct({{1, 2}, {6, 12, 24}, {23, 247, 498}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
