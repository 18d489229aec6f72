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
  // Zephyr's open link layer on both sides, as in the reference.
  sc.link.central = WithProfile(sc.link.central, ControllerProfile::kZephyrLl);
  sc.link.peripheral = WithProfile(sc.link.peripheral, ControllerProfile::kZephyrLl);
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
  auto r = SimulateUpload(Reference(interval, latency, size));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : std::string(r.error().message()));
  return r.ok() ? sim::ToSeconds(r->elapsed) : 0.0;
}

TEST(CalibrationTest, LatencyZeroWithinTenPercentOfReference) {
  std::printf("interval   64 KiB model/ref      256 KiB model/ref     256 KiB KiB/s\n");
  for (const Row& row : kRows) {
    const double t64 = Simulate(row.interval, row.latency, 64 * 1024);
    const double t256 = Simulate(row.interval, row.latency, 256 * 1024);
    std::printf("%6.2f ms  %.3f / %.3f s (%+5.1f%%)  %.3f / %.3f s (%+5.1f%%)  %.1f\n",
                row.interval * 1.25, t64, row.ref_64k_s, 100 * (t64 / row.ref_64k_s - 1), t256,
                row.ref_256k_s, 100 * (t256 / row.ref_256k_s - 1), 256.0 / t256);
    EXPECT_NEAR(t64, row.ref_64k_s, 0.10 * row.ref_64k_s) << "interval " << row.interval;
    EXPECT_NEAR(t256, row.ref_256k_s, 0.10 * row.ref_256k_s) << "interval " << row.interval;
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
    auto r = SimulateUpload(sc);
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
  auto lat64 = SimulateUpload(sc);
  sc.image_size = 256 * 1024;
  auto lat256 = SimulateUpload(sc);
  ASSERT_TRUE(lat64.ok() && lat256.ok());
  const double t64 = sim::ToSeconds(lat64->elapsed);
  const double t256 = sim::ToSeconds(lat256->elapsed);
  std::printf(
      "15 ms, latency 99 (cancelled on receive), 1 s idle before the upload: 64 KiB "
      "%.3f s (ref 2.510), 256 KiB %.3f s (ref 8.555); extra %.3f / %.3f s (ref +0.495); "
      "mean extra over phases %.3f s\n",
      t64, t256, t64 - base64, t256 - base256, mean_extra);
  EXPECT_NEAR(t256 - base256, t64 - base64, 0.05);
  EXPECT_NEAR(t64, 2.510, 0.10 * 2.510);
  EXPECT_NEAR(t256, 8.555, 0.10 * 8.555);
}

// The non-blank slot: MCUmgr erases the image's 17 pages when the first chunk arrives, in
// partial-erase slices between radio events (11.25 ms, latency 0). Reference: 4.637 s for
// 64 KiB, of which 2.871 s until the first response.
TEST(CalibrationTest, DirtySlotErasesBetweenRadioEventsWithinTenPercent) {
  UploadScenario sc = Reference(9, 0, 64 * 1024);
  sc.erase_pages = 17;
  auto r = SimulateUpload(sc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const double total = sim::ToSeconds(r->elapsed);
  const double first = sim::ToSeconds(r->first_response);
  std::printf("11.25 ms, dirty slot (17 pages): 64 KiB %.3f s (ref 4.637), first response "
              "%.3f s (ref 2.871)\n",
              total, first);
  EXPECT_NEAR(total, 4.637, 0.10 * 4.637);
  EXPECT_NEAR(first, 2.871, 0.10 * 2.871);
  // Erasing whole pages at once would be far faster than the reference: the slices matter.
  sc.erase_step = sim::Duration(0);
  auto whole = SimulateUpload(sc);
  ASSERT_TRUE(whole.ok());
  EXPECT_LT(sim::ToSeconds(whole->first_response), 0.8 * 2.871);
}

TEST(CalibrationTest, StrictLatencyMakesEveryRequestWaitForTheListeningEvent) {
  UploadScenario sc = Reference(12, 99, 64 * 1024);
  sc.link.peripheral.latency_mode = LatencyMode::kStrict;
  auto strict = SimulateUpload(sc);
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

// The sharing term: flash work cannot overlap radio events, so at 7.5 ms the device, not the
// air, is the limit; at 30 ms the air is.
TEST(CapacityTest, RadioFlashSharingIsTheModelsBoundAtShortIntervals) {
  const double flash_per_byte = 42e-6 / 4;
  for (uint16_t interval : {uint16_t{6}, uint16_t{12}, uint16_t{24}}) {
    LinkConfig cfg = Reference(interval, 0, 0).link;
    const Capacity air = WriteCapacity(cfg, 498);
    const SharedCapacity shared = RadioFlashSharingCapacity(cfg, 498, flash_per_byte);
    std::printf("%s\n", shared.arithmetic.c_str());
    // Never above either term alone.
    EXPECT_LE(shared.bytes_per_second, air.bytes_per_second * (1 + 1e-9));
    EXPECT_LT(shared.bytes_per_second, 4 / 42e-6);
  }
  LinkConfig fast = Reference(6, 0, 0).link;
  // 7.5 ms: guards of 2.7 ms leave 4.56 ms after an empty event: the best mix is empty events
  // (flash only) and full ones (5 PDUs, radio only).
  EXPECT_NEAR(RadioFlashSharingCapacity(fast, 498, flash_per_byte).bytes_per_second, 43e3, 1.5e3);
  // 30 ms with the SoftDevice Controller's 7.5 ms events: full events leave plenty of flash
  // time, so the air-time capacity is the bound.
  LinkConfig slow = Reference(24, 0, 0).link;
  slow.central = WithProfile(slow.central, ControllerProfile::kSdc);
  slow.peripheral = WithProfile(slow.peripheral, ControllerProfile::kSdc);
  EXPECT_NEAR(RadioFlashSharingCapacity(slow, 498, flash_per_byte).bytes_per_second,
              WriteCapacity(slow, 498).bytes_per_second, 100);
  // Flash that costs nothing adds no term.
  EXPECT_EQ(RadioFlashSharingCapacity(fast, 498, 0).bytes_per_second, 0);

  DfuBound b = ComputeDfuBound(WriteCapacity(fast, 498), std::chrono::microseconds(42), 4,
                               std::chrono::microseconds(87500), 4096, false);
  ApplyRadioFlashSharing(b, fast, 498);
  EXPECT_EQ(b.limited_by, "radio/flash sharing");
  EXPECT_NEAR(b.physical_bytes_per_second, 95.2e3, 0.5e3);
  EXPECT_LT(b.bytes_per_second, b.physical_bytes_per_second);
  DfuBound s = ComputeDfuBound(WriteCapacity(slow, 498), std::chrono::microseconds(42), 4,
                               std::chrono::microseconds(87500), 4096, false);
  ApplyRadioFlashSharing(s, slow, 498);
  EXPECT_EQ(s.limited_by, "air time");
  // Zephyr's LL fills the whole 30 ms event: then the sharing is the bound again.
  LinkConfig slow_ll = Reference(24, 0, 0).link;
  DfuBound z = ComputeDfuBound(WriteCapacity(slow_ll, 498), std::chrono::microseconds(42), 4,
                               std::chrono::microseconds(87500), 4096, false);
  ApplyRadioFlashSharing(z, slow_ll, 498);
  EXPECT_EQ(z.limited_by, "radio/flash sharing");
  // nRF5340: flash on the application core, radio on the network core: no sharing term.
  slow_ll.processing_parallel_to_radio = true;
  DfuBound n53 = ComputeDfuBound(WriteCapacity(slow_ll, 498), std::chrono::microseconds(42), 4,
                                 std::chrono::microseconds(87500), 4096, false);
  ApplyRadioFlashSharing(n53, slow_ll, 498);
  EXPECT_EQ(n53.limited_by, "flash write");
}

// A pipelined upload (window 2) through the link model reaches the model's capacity, never
// more; stop-and-wait does not (the device idles while a request travels).
TEST(CapacityTest, PipelinedUploadReachesTheModelCapacity) {
  for (uint16_t interval : {uint16_t{6}, uint16_t{12}, uint16_t{24}}) {
    UploadScenario sc = Reference(interval, 0, 256 * 1024);
    DfuBound b = ComputeDfuBound(WriteCapacity(sc.link, sc.att_mtu), sc.word_write_time,
                                 sc.word_size, std::chrono::microseconds(87500), 4096, false);
    ApplyRadioFlashSharing(b, sc.link, sc.att_mtu);
    sc.window = 2;
    auto piped = SimulateUpload(sc);
    ASSERT_TRUE(piped.ok()) << piped.error().message();
    sc.window = 1;
    auto single = SimulateUpload(sc);
    ASSERT_TRUE(single.ok()) << single.error().message();
    std::printf("%.2f ms: window 2 %.1f kB/s, window 1 %.1f kB/s, capacity %.1f kB/s (%s)\n",
                interval * 1.25, piped->bytes_per_second / 1e3, single->bytes_per_second / 1e3,
                b.bytes_per_second / 1e3, b.limited_by.c_str());
    EXPECT_GE(piped->bytes_per_second, 0.9 * b.bytes_per_second) << "interval " << interval;
    EXPECT_LE(piped->bytes_per_second, 1.0 * b.bytes_per_second) << "interval " << interval;
    EXPECT_LT(single->bytes_per_second, 0.9 * b.bytes_per_second) << "interval " << interval;
  }
}

// The capacity is an upper bound of the model for any configuration: unequal fragments, PDU
// limits per event, encryption, peripheral latency in both controller behaviours, windows.
TEST(CapacityTest, NoUploadThroughTheModelExceedsItsCapacity) {
  int runs = 0;
  double worst = 0;
  for (uint16_t interval : {uint16_t{6}, uint16_t{24}})
    for (uint16_t mtu : {uint16_t{23}, uint16_t{247}, uint16_t{252}, uint16_t{498}})
      for (size_t max_pdus : {size_t{0}, size_t{1}, size_t{3}, size_t{7}})
        for (int mode = 0; mode < 3; ++mode)
          for (bool encrypted : {false, true})
            for (size_t window : {size_t{1}, size_t{2}}) {
              UploadScenario sc = Reference(interval, mode == 0 ? 0 : 3, 256 * 1024);
              sc.link.params.timeout = 3200;
              sc.link.central.max_pdus_per_event = max_pdus;
              sc.link.encrypted = encrypted;
              sc.link.peripheral.latency_mode =
                  mode == 1 ? LatencyMode::kStrict : LatencyMode::kCancelledOnReceive;
              sc.att_mtu = mtu;
              sc.window = window;
              sc.idle_before_start = std::chrono::milliseconds(100);
              sc.give_up_after = std::chrono::hours(4);
              DfuBound b = ComputeDfuBound(WriteCapacity(sc.link, mtu), sc.word_write_time,
                                           sc.word_size, std::chrono::microseconds(87500), 4096,
                                           false);
              ApplyRadioFlashSharing(b, sc.link, mtu);
              auto r = SimulateUpload(sc);
              ASSERT_TRUE(r.ok()) << r.error().message();
              const double ratio = r->bytes_per_second / b.bytes_per_second;
              worst = std::max(worst, ratio);
              ++runs;
              EXPECT_LE(ratio, 1.0) << "interval " << interval << " mtu " << mtu << " max_pdus "
                                    << max_pdus << " mode " << mode << " encrypted " << encrypted
                                    << " window " << window;
            }
  std::printf("%d uploads, highest throughput / capacity %.3f\n", runs, worst);
}

}  // namespace
}  // namespace smpkit::ble
