// Checks the link model against the BabbleSim reference in ble-calibration.md.
#include <gtest/gtest.h>

#include <cstdio>

#include "smpkit/ble/capacity.h"
#include "smpkit/ble/upload_model.h"

namespace smpkit::ble {
namespace {

// The reference setup: Zephyr LL both sides, 2M PHY, DLE 251, MTU 498, ACL TX buffers 3,
// 2475-octet requests (2392 image octets) in 495-octet writes, 42 us per 4-octet word.
UploadScenario Reference(uint16_t interval, uint16_t latency, size_t image_size) {
  UploadScenario sc;
  sc.link.params = ConnParams{interval, latency, 400};
  sc.link.phy = Phy::k2M;
  sc.link.data_length = 251;
  sc.link.central.acl_tx_buffers = 3;
  sc.link.peripheral.acl_tx_buffers = 3;
  sc.link.central.latency_mode = LatencyMode::kCancelledOnReceive;
  sc.link.peripheral.latency_mode = LatencyMode::kCancelledOnReceive;
  sc.att_mtu = 498;
  sc.image_size = image_size;
  return sc;
}

struct Row {
  uint16_t interval;
  uint16_t latency;
  double ref_64k_s;
  double ref_256k_s;
};
constexpr Row kRows[] = {
    {6, 0, 1.760, 7.070},
    {9, 0, 1.825, 7.259},
    {12, 0, 2.015, 8.060},
};

double Simulate(uint16_t interval, uint16_t latency, size_t size) {
  auto r = SimulateStopAndWaitUpload(Reference(interval, latency, size));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : std::string(r.error().message()));
  return r.ok() ? sim::ToSeconds(r->elapsed) : 0.0;
}

TEST(CalibrationTest, LatencyZeroWithinFifteenPercentOfReference) {
  std::printf("interval   64 KiB model/ref      256 KiB model/ref     256 KiB KiB/s\n");
  for (const Row& row : kRows) {
    const double t64 = Simulate(row.interval, row.latency, 64 * 1024);
    const double t256 = Simulate(row.interval, row.latency, 256 * 1024);
    std::printf("%6.2f ms  %.3f / %.3f s (%+5.1f%%)  %.3f / %.3f s (%+5.1f%%)  %.1f\n",
                row.interval * 1.25, t64, row.ref_64k_s, 100 * (t64 / row.ref_64k_s - 1), t256,
                row.ref_256k_s, 100 * (t256 / row.ref_256k_s - 1), 256.0 / t256);
    EXPECT_NEAR(t64, row.ref_64k_s, 0.15 * row.ref_64k_s) << "interval " << row.interval;
    EXPECT_NEAR(t256, row.ref_256k_s, 0.15 * row.ref_256k_s) << "interval " << row.interval;
  }
}

TEST(CalibrationTest, Latency99CancelledOnReceiveCostsOnlyTheFirstExchange) {
  // The extra cost is one wait for the peripheral's next listening event, so it depends on
  // where the first request falls among the idle peripheral's every-100th events. Sweep
  // that phase (the idle time between link setup and the first request).
  const double base64 = Simulate(12, 0, 64 * 1024);
  const double base256 = Simulate(12, 0, 256 * 1024);
  const double window = 100 * 0.015;
  double sum = 0;
  int n = 0;
  for (int idle_ms = 1000; idle_ms < 2500; idle_ms += 75) {
    UploadScenario sc = Reference(12, 99, 64 * 1024);
    sc.idle_before_start = std::chrono::milliseconds(idle_ms);
    auto r = SimulateStopAndWaitUpload(sc);
    ASSERT_TRUE(r.ok());
    const double extra = sim::ToSeconds(r->elapsed) - base64;
    EXPECT_GE(extra, -0.05) << idle_ms;
    EXPECT_LE(extra, window) << idle_ms;
    sum += extra;
    ++n;
  }
  const double mean_extra = sum / n;
  // Over a uniform phase the wait averages half the 1.5 s window.
  EXPECT_NEAR(mean_extra, window / 2, 0.15);

  // One phase, 1 s of idle after setup, in full: the extra does not grow with the image,
  // since the per-request cost is that of latency 0.
  UploadScenario sc = Reference(12, 99, 64 * 1024);
  sc.idle_before_start = std::chrono::milliseconds(1000);
  auto lat64 = SimulateStopAndWaitUpload(sc);
  sc.image_size = 256 * 1024;
  auto lat256 = SimulateStopAndWaitUpload(sc);
  ASSERT_TRUE(lat64.ok() && lat256.ok());
  const double t64 = sim::ToSeconds(lat64->elapsed);
  const double t256 = sim::ToSeconds(lat256->elapsed);
  std::printf(
      "15 ms, latency 99 (cancelled on receive), 1 s idle before the upload: 64 KiB "
      "%.3f s (ref 2.510), 256 KiB %.3f s (ref 8.555); extra %.3f / %.3f s (ref +0.495); "
      "mean extra over phases %.3f s\n",
      t64, t256, t64 - base64, t256 - base256, mean_extra);
  EXPECT_NEAR(t256 - base256, t64 - base64, 0.05);
  EXPECT_NEAR(t64, 2.510, 0.15 * 2.510);
  EXPECT_NEAR(t256, 8.555, 0.15 * 8.555);
}

TEST(CalibrationTest, StrictLatencyMakesEveryRequestWaitForTheListeningEvent) {
  UploadScenario sc = Reference(12, 99, 64 * 1024);
  sc.link.peripheral.latency_mode = LatencyMode::kStrict;
  auto strict = SimulateStopAndWaitUpload(sc);
  ASSERT_TRUE(strict.ok());
  const double base = Simulate(12, 0, 64 * 1024);
  std::printf("15 ms, latency 99, strict: 64 KiB %.3f s vs %.3f s at latency 0\n",
              sim::ToSeconds(strict->elapsed), base);
  // Each request's writes wait for the peripheral's every-100th listening event (1.5 s).
  EXPECT_GT(sim::ToSeconds(strict->elapsed), 28 * 1.0);
}

TEST(CalibrationTest, AirTimeCapacityMatchesTheDocumentedBound) {
  LinkConfig cfg = Reference(6, 0, 0).link;
  Capacity cap = WriteCapacity(cfg, 498);
  std::printf("%s\n", cap.arithmetic.c_str());
  // ble-calibration.md: ~165 kB/s air-time bound for 2M, DLE 251, MTU 498 at 7.5 ms.
  EXPECT_NEAR(cap.bytes_per_second, 165e3, 5e3);
  EXPECT_EQ(cap.pdus_per_write, 2u);
  DfuBound bound = ComputeDfuBound(cap, std::chrono::microseconds(42), 4,
                                   std::chrono::microseconds(87500), 4096, false);
  std::printf("%s\n", bound.arithmetic.c_str());
  EXPECT_EQ(bound.limited_by, "flash write");
  EXPECT_NEAR(bound.bytes_per_second, 95.2e3, 0.5e3);
  DfuBound erasing = ComputeDfuBound(cap, std::chrono::microseconds(42), 4,
                                     std::chrono::microseconds(87500), 4096, true);
  EXPECT_EQ(erasing.limited_by, "flash erase");
  EXPECT_NEAR(erasing.bytes_per_second, 46.8e3, 0.5e3);
}

}  // namespace
}  // namespace smpkit::ble
