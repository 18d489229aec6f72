// `smpkit bench ble`: the seed's DFU over simulated BLE across PHY, connection interval, ATT
// MTU, pipelining window and the BLE latency module, each run end to end (upload, test,
// reset, confirm) on virtual time. Throughput is reported against the model's own capacity,
// min(air time, flash write, radio/flash sharing), with the arithmetic printed, and against
// min(air time, flash write) of ble-calibration.md.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "ble_dfu.h"
#include "commands.h"
#include "smpkit/ble/capacity.h"
#include "smpkit/flash/flash.h"

namespace smpkit::cli {

namespace {

struct BenchOptions {
  uint32_t image_size = 256 * 1024;
  uint16_t buf_size = 2475;  // CONFIG_MCUMGR_BUF_SIZE of the calibration reference
  // One case (any of these given): one row, or a JSON document with --json.
  std::string controller;  // sdc | zephyr-ll (default: the prj.conf's, sdc)
  std::string chip = "nrf52840";
  std::string phy;
  double interval_ms = 0;
  int latency = -1;
  uint16_t mtu = 0;
  uint16_t dle = 0;
  size_t window = 0;  // 0: the client picks (up to its buffers)
  std::string slot;   // blank | dirty
  std::string latency_module;  // on | off (default: on, as the seed prj.conf)
  bool json = false;
  std::string events;     // one case: a CSV of the upload's connection events
  bool profiles = false;  // both chips x both link layers across 7.5..50 ms
  bool quick = false;
  bool ideal_flash = false;  // flash costs no time: only the link and SMP stack limit
  bool connected_start = false;  // start each DFU right after connecting, not on an idle link
  std::string csv;
  std::string plot;
};

struct Row {
  ble::Phy phy;
  uint16_t interval;
  uint16_t mtu;
  size_t window;
  bool latency;
  BleDfuResult r;
  ble::DfuBound bound;
};

// The capacity at the connection parameters the upload ran with (a peripheral latency above 0
// lets the device skip events and write flash through them).
// `link`: the link the run used (its link layer and chip included).
ble::DfuBound Bound(const BleDfuSetup& s, const ble::LinkConfig& link, uint16_t att_mtu,
                    uint16_t latency) {
  ble::LinkConfig lc = link;
  lc.params.interval = s.interval;
  lc.params.latency = latency;
  const ble::Capacity air = ble::WriteCapacity(lc, att_mtu);
  if (!s.flash_costs) {
    // An ideal device: the link's air-time capacity is the whole bound.
    ble::DfuBound b;
    b.air_bytes_per_second = b.physical_bytes_per_second = b.bytes_per_second =
        air.bytes_per_second;
    b.limited_by = "air time";
    b.arithmetic = air.arithmetic + "\n  flash: ideal (no time cost) -> capacity = air time";
    return b;
  }
  const auto t = flash::Timing::Nrf52();
  ble::DfuBound b =
      ble::ComputeDfuBound(air, t.write_per_word, t.word_size, t.erase_per_page, 4096, false);
  b.arithmetic = air.arithmetic + "\n  " + b.arithmetic;
  // The device model's flash work waits for its radio events (as on an nRF52, where the
  // SoftDevice/MPSL grants flash timeslots between them): add that term.
  ble::ApplyRadioFlashSharing(b, lc, att_mtu);
  if (latency > 0 && lc.peripheral.latency_mode == ble::LatencyMode::kStrict) {
    b.arithmetic += fmt::format(
        "\n  (strict peripheral latency {}: the peripheral listens only every {} events or when "
        "it has an answer to send; the terms above assume it listens at every event, so this "
        "capacity is far above what such a link carries)",
        latency, latency + 1);
  }
  return b;
}

bool WritePlot(const std::vector<Row>& rows, const std::string& png) {
  const std::string dat = png + ".dat";
  std::ofstream out(dat);
  if (!out) return false;
  // Columns: interval_ms, whole-upload kB/s for window 1..4, steady kB/s for window 1..4, the
  // model capacity, then min(air, flash write) (2M, MTU 498, latency module on).
  std::map<uint16_t, std::map<size_t, std::pair<double, double>>> tp;
  std::map<uint16_t, std::pair<double, double>> bound;
  for (const auto& r : rows) {
    if (r.phy != ble::Phy::k2M || r.mtu != 498 || !r.latency || !r.r.ok) continue;
    tp[r.interval][r.window] = {static_cast<double>(r.r.bytes) / r.r.upload_s / 1000,
                                r.r.steady_bytes_per_s / 1000};
    bound[r.interval] = {r.bound.bytes_per_second / 1000,
                         r.bound.physical_bytes_per_second / 1000};
  }
  for (const auto& [iv, w] : tp) {
    out << iv * 1.25;
    for (size_t k = 1; k <= 4; ++k) out << ' ' << (w.count(k) ? w.at(k).first : 0.0);
    for (size_t k = 1; k <= 4; ++k) out << ' ' << (w.count(k) ? w.at(k).second : 0.0);
    out << ' ' << bound[iv].first << ' ' << bound[iv].second << '\n';
  }
  out.close();
  const std::string script =
      "set terminal png size 900,560\n"
      "set output '" + png + "'\n"
      "set title 'smpkit: DFU of a 256 KiB image over simulated BLE (2M PHY, DLE 251, ATT MTU 498)'\n"
      "set xlabel 'connection interval (ms)'\nset ylabel 'throughput (kB/s)'\n"
      "set key top right\nset grid\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n"
      "plot '" + dat + "' using 1:11 with lines lw 2 dt 3 title 'min(air, flash write)', "
      "'' using 1:10 with lines lw 3 title 'model capacity (radio/flash sharing)', "
      "'' using 1:6 with linespoints lw 2 title 'steady, window 1', "
      "'' using 1:7 with linespoints lw 2 title 'steady, window 2', "
      "'' using 1:9 with linespoints lw 2 title 'steady, window 4', "
      "'' using 1:2 with linespoints dt 2 lw 2 title 'whole upload, window 1', "
      "'' using 1:3 with linespoints dt 2 lw 2 title 'whole upload, window 2'\n";
  FILE* gp = popen("gnuplot", "w");
  if (!gp) return false;
  std::fputs(script.c_str(), gp);
  return pclose(gp) == 0;
}

BleDfuSetup Setup(const BenchOptions& opt, ble::Phy phy, uint16_t iv, uint16_t mtu, size_t win,
                  bool lat, bool ideal_flash) {
  BleDfuSetup s;
  s.image_size = opt.image_size;
  s.phy = phy;
  s.interval = iv;
  s.mtu = mtu;
  s.window = win;
  s.latency_module = lat;
  s.buf_size = opt.buf_size;
  s.timeout_s = 30;  // a strict latency of 99 at 30 ms listens every 3 s
  s.flash_costs = !ideal_flash;
  s.idle_start = !opt.connected_start;
  return s;
}

Row RunRow(const BleDfuSetup& s) {
  Row row{s.phy, s.interval, s.mtu, s.window, s.latency_module, RunBleDfu(s), {}};
  const uint16_t latency =
      row.r.latency_during_upload == 0xffff ? uint16_t{0} : row.r.latency_during_upload;
  row.bound = Bound(s, row.r.link, row.r.att_mtu ? row.r.att_mtu : s.mtu, latency);
  if (row.r.ok) {
    ble::LinkConfig lc = row.r.link;
    lc.params.interval = row.r.interval_during_upload ? row.r.interval_during_upload : s.interval;
    const auto t = flash::Timing::Nrf52();
    const auto words = static_cast<int64_t>((row.r.chunk + t.word_size - 1) / t.word_size);
    ble::ApplyWindowLimit(row.bound, row.r.window_used, row.r.chunk, lc,
                          row.r.att_mtu ? row.r.att_mtu : s.mtu,
                          s.flash_costs ? t.write_per_word * words : sim::Duration(0));
  }
  return row;
}

double WholeRate(const Row& r) {
  return r.r.ok && r.r.upload_s > 0 ? static_cast<double>(r.r.bytes) / r.r.upload_s : 0.0;
}

int RunBenchBle(const BenchOptions& opt) {
  std::vector<ble::Phy> phys = {ble::Phy::k1M, ble::Phy::k2M};
  std::vector<uint16_t> intervals = {6, 12, 24};  // 7.5, 15, 30 ms
  std::vector<uint16_t> mtus = {23, 247, 498};
  std::vector<size_t> windows = {1, 2, 3, 4};
  if (opt.quick) {
    phys = {ble::Phy::k2M};
    mtus = {498};
  }
  fmt::print("smpkit bench ble: DFU of a {} KiB image (upload, test, reset, confirm) on virtual time\n",
             opt.image_size / 1024);
  fmt::print("  device: simulated nRF Desktop (seed prj.conf), CONFIG_MCUMGR_BUF_SIZE={}, "
             "CONFIG_BT_L2CAP_TX_MTU=ATT MTU, slot pre-erased in the background\n",
             opt.buf_size);
  if (opt.ideal_flash) {
    fmt::print("  flash: ideal (no time cost): the link and the SMP stack alone limit the upload\n");
  } else {
    fmt::print("  flash: nRF52840 model (42 us per 4-byte word, 87.5 ms per 4 KiB page), written "
               "between radio events\n");
  }
  fmt::print("  link: data length 251, encrypted, SoftDevice-style strict latency, phone with 8 ACL"
             " buffers, 7.5 ms max event; DFU started {}\n",
             opt.connected_start ? "right after connecting" : "on an idle link (latency 99)");
  fmt::print(
      "  whole = image bytes / upload time (first request to last acknowledgement, including\n"
      "    the first chunk at the idle link's latency and the parameter update that follows)\n"
      "  steady = least-squares slope of acknowledged image bytes over time, from the\n"
      "    acknowledgement past 10 % to the one past 90 %\n"
      "  capacity = the model's own bound at the row's peripheral latency: min(air time,\n"
      "    flash write, radio/flash sharing); cap% = steady / capacity; phys% = steady /\n"
      "    min(air time, flash write), the bound of ble-calibration.md for flash that could\n"
      "    overlap the radio\n"
      "  radio, flash = share of the steady time the device spent in radio events (with their\n"
      "    guard times) and writing flash; the rest it was idle\n\n");
  fmt::print("{:>3} {:>8} {:>4} {:>3} {:>7} | {:>8} {:>6} {:>6} {:>8} {:>5} {:>19} {:>6} | {:>5} {:>4} "
             "{:>4} {:>6} {:>6} {:>4} | {:>5} {:>5}\n",
             "PHY", "interval", "MTU", "win", "latency", "upload s", "whole", "steady", "capacity",
             "cap%", "limited by", "phys%", "chunk", "used", "lat", "events", "PDUs", "rtx",
             "radio", "flash");
  std::vector<Row> rows;
  for (auto phy : phys)
    for (auto iv : intervals)
      for (auto mtu : mtus)
        for (auto win : windows)
          for (bool lat : {true, false}) {
            Row row = RunRow(Setup(opt, phy, iv, mtu, win, lat, opt.ideal_flash));
            if (!row.r.ok) {
              fmt::print("{:>3} {:>6.2f}ms {:>4} {:>3} {:>7} | failed: {}\n", ble::PhyName(phy),
                         iv * 1.25, mtu, win, lat ? "module" : "off", row.r.error);
            } else {
              const double steady = row.r.steady_bytes_per_s;
              const double st = row.r.steady_s;
              fmt::print(
                  "{:>3} {:>6.2f}ms {:>4} {:>3} {:>7} | {:>8.2f} {:>6.1f} {:>6.1f} {:>8.1f} {:>4.0f}% "
                  "{:>19} {:>5.0f}% | {:>5} {:>4} {:>4} {:>6} {:>6} {:>4} | {:>4.0f}% {:>4.0f}%\n",
                  ble::PhyName(phy), iv * 1.25, mtu, win, lat ? "module" : "off", row.r.upload_s,
                  WholeRate(row) / 1000, steady / 1000, row.bound.bytes_per_second / 1000,
                  100 * steady / row.bound.bytes_per_second, row.bound.limited_by,
                  100 * steady / row.bound.physical_bytes_per_second, row.r.chunk,
                  row.r.window_used, row.r.latency_during_upload, row.r.link_events,
                  row.r.central_pdus, row.r.retransmits, st > 0 ? 100 * row.r.steady_radio_s / st : 0.0,
                  st > 0 ? 100 * row.r.steady_flash_s / st : 0.0);
            }
            rows.push_back(std::move(row));
          }
  // The capacity is an upper bound: a row above it would mean the bound is wrong.
  size_t above = 0;
  for (const auto& r : rows) {
    if (r.r.ok && r.r.steady_bytes_per_s > r.bound.bytes_per_second) {
      fmt::print("above capacity: {} {:.2f} ms MTU {} window {} latency module {}: steady {:.1f} "
                 "> {:.1f} kB/s\n",
                 ble::PhyName(r.phy), r.interval * 1.25, r.mtu, r.window, r.latency ? "on" : "off",
                 r.r.steady_bytes_per_s / 1000, r.bound.bytes_per_second / 1000);
      ++above;
    }
  }
  if (above == 0) fmt::print("\nevery row's steady throughput is within its capacity\n");

  // Every capacity used above, with its arithmetic (one per PHY, interval, MTU and latency).
  fmt::print("\ncapacity arithmetic ({}):\n",
             opt.ideal_flash ? "ideal flash" : "nRF52 flash written between radio events");
  std::map<std::tuple<int, uint16_t, uint16_t, uint16_t>, const Row*> distinct;
  for (const auto& r : rows) {
    if (!r.r.ok) continue;
    distinct.emplace(std::make_tuple(static_cast<int>(r.phy), r.interval, r.mtu,
                                     r.r.latency_during_upload),
                     &r);
  }
  for (const auto& [key, r] : distinct) {
    std::string arith = r->bound.arithmetic;
    for (size_t pos = 0; (pos = arith.find('\n', pos)) != std::string::npos; pos += 3) {
      arith.replace(pos, 1, "\n  ");
    }
    fmt::print("\n  {} at {:.2f} ms, MTU {}, peripheral latency {}:\n    {}\n",
               ble::PhyName(r->phy), r->interval * 1.25, r->mtu, r->r.latency_during_upload, arith);
  }

  // The target: >= 90 % of the model's capacity at 2M, DLE 251, MTU 498, window >= 2 (latency
  // module on), with the capacity's arithmetic; next to it the same DFUs on an ideal flash,
  // where the link alone is the limit.
  fmt::print("\ntarget: steady >= 90% of the model's capacity at 2M, DLE 251, MTU 498, window >= 2\n");
  bool target_met = true;
  for (uint16_t iv : intervals) {
    const Row* best = nullptr;
    for (const auto& r : rows) {
      if (r.phy == ble::Phy::k2M && r.interval == iv && r.mtu == 498 && r.window >= 2 &&
          r.latency && r.r.ok && (!best || r.r.steady_bytes_per_s > best->r.steady_bytes_per_s)) {
        best = &r;
      }
    }
    if (best == nullptr) {
      fmt::print("\n  interval {:.2f} ms: no completed run\n", iv * 1.25);
      target_met = false;
      continue;
    }
    const double pct = 100 * best->r.steady_bytes_per_s / best->bound.bytes_per_second;
    const bool met = pct >= 90;
    target_met = target_met && met;
    fmt::print("\n  interval {:.2f} ms, window {}: steady {:.1f} kB/s = {:.0f}% of {:.1f} kB/s ({}) "
               "-> {}\n",
               iv * 1.25, best->window, best->r.steady_bytes_per_s / 1000, pct,
               best->bound.bytes_per_second / 1000, best->bound.limited_by,
               met ? "met" : "NOT met");
    fmt::print("    = {:.0f}% of min(air, flash write) {:.1f} kB/s; whole upload {:.1f} kB/s in "
               "{:.2f} s ({:.0f}% of the capacity)\n",
               100 * best->r.steady_bytes_per_s / best->bound.physical_bytes_per_second,
               best->bound.physical_bytes_per_second / 1000, WholeRate(*best) / 1000,
               best->r.upload_s, 100 * WholeRate(*best) / best->bound.bytes_per_second);
    if (!opt.ideal_flash) {
      const Row ideal = RunRow(Setup(opt, ble::Phy::k2M, iv, 498, best->window, true, true));
      if (ideal.r.ok) {
        fmt::print("    ideal flash, same window: steady {:.1f} kB/s = {:.0f}% of the air time "
                   "{:.1f} kB/s; whole upload {:.1f} kB/s\n",
                   ideal.r.steady_bytes_per_s / 1000,
                   100 * ideal.r.steady_bytes_per_s / ideal.bound.bytes_per_second,
                   ideal.bound.bytes_per_second / 1000, WholeRate(ideal) / 1000);
      }
    }
  }
  fmt::print("\ntarget {}\n", target_met ? "met at every interval" : "NOT met");
  if (!opt.csv.empty()) {
    std::ofstream csv(opt.csv);
    csv << "phy,interval_ms,mtu,window,latency_module,upload_s,throughput_Bps,steady_Bps,"
           "capacity_Bps,limited_by,air_Bps,flash_write_Bps,radio_share,flash_share\n";
    for (const auto& r : rows) {
      const double st = r.r.steady_s;
      csv << ble::PhyName(r.phy) << ',' << r.interval * 1.25 << ',' << r.mtu << ',' << r.window
          << ',' << (r.latency ? 1 : 0) << ',' << r.r.upload_s << ',' << WholeRate(r) << ','
          << r.r.steady_bytes_per_s << ',' << r.bound.bytes_per_second << ','
          << r.bound.limited_by << ',' << r.bound.air_bytes_per_second << ','
          << r.bound.write_bytes_per_second << ',' << (st > 0 ? r.r.steady_radio_s / st : 0.0)
          << ',' << (st > 0 ? r.r.steady_flash_s / st : 0.0) << '\n';
    }
  }
  if (!opt.plot.empty()) {
    if (WritePlot(rows, opt.plot)) {
      fmt::print("\nplot: {}\n", opt.plot);
    } else {
      fmt::print(stderr, "smpkit bench: could not write the plot {} (is gnuplot installed?)\n",
                 opt.plot);
      return kExitFailure;
    }
  }
  // Without the latency module a strict peripheral latency of 99 can starve a slow link until
  // the phone gives up: that is a measured outcome, reported above. With the module every
  // configuration must complete.
  for (const auto& r : rows) {
    if (r.latency && !r.r.ok) return kExitFailure;
  }
  return kExitOk;
}

bool SingleCase(const BenchOptions& o) {
  return !o.controller.empty() || o.chip != "nrf52840" || !o.phy.empty() || o.interval_ms > 0 ||
         o.latency >= 0 || o.mtu != 0 || o.dle != 0 || o.window != 0 || !o.slot.empty() ||
         !o.latency_module.empty() || o.json || !o.events.empty();
}

// The window the client picks by itself: as many requests as the device's buffers take.
constexpr size_t kAutoWindow = 16;

BleDfuSetup CaseSetup(const BenchOptions& opt, uint16_t interval, const std::string& controller,
                      bool nrf5340) {
  BleDfuSetup s = Setup(opt, opt.phy == "1M" ? ble::Phy::k1M : ble::Phy::k2M, interval,
                        opt.mtu ? opt.mtu : uint16_t{498}, opt.window ? opt.window : kAutoWindow,
                        opt.latency_module != "off", opt.ideal_flash);
  if (opt.dle) s.data_length = opt.dle;
  s.controller = controller;
  s.nrf5340 = nrf5340;
  s.pref_latency = opt.latency;
  s.dirty_slot = opt.slot == "dirty";
  return s;
}

int RunBenchBleCase(const BenchOptions& opt) {
  const double units = opt.interval_ms > 0 ? opt.interval_ms / 1.25 : 6;
  if (units < 6 || units > 3200 || std::abs(units - std::round(units)) > 1e-9) {
    fmt::print(stderr, "smpkit bench ble: --interval {} ms is not a multiple of 1.25 ms in "
                       "7.5..4000\n", opt.interval_ms);
    return kExitUsage;
  }
  const auto iv = static_cast<uint16_t>(std::lround(units));
  BleDfuSetup s = CaseSetup(opt, iv, opt.controller, opt.chip == "nrf5340");
  std::ofstream events;
  if (!opt.events.empty()) {
    events.open(opt.events);
    if (!events) {
      fmt::print(stderr, "smpkit bench ble: cannot write the events file {}\n", opt.events);
      return kExitFailure;
    }
    // Every connection event of the upload: where the throughput goes, event by event.
    events << "counter,anchor_s,length_ms,attended,central_pdus,peripheral_pdus,lost\n";
    s.on_upload_event = [&events](const ble::EventRecord& e, double at) {
      events << fmt::format("{},{:.6f},{:.3f},{},{},{},{}\n", e.counter, at,
                            sim::ToMillis(e.end - e.anchor), e.peripheral_attended ? 1 : 0,
                            e.central_data_pdus, e.peripheral_data_pdus, e.lost ? 1 : 0);
    };
  }
  const Row row = RunRow(s);
  if (events.is_open()) {
    events.close();
    if (!events) {
      fmt::print(stderr, "smpkit bench ble: writing the events file {} failed\n", opt.events);
      return kExitFailure;
    }
  }
  if (!row.r.ok) {
    if (opt.json) {
      fmt::print("{}\n", nlohmann::ordered_json{{"ok", false}, {"error", row.r.error}}.dump());
    } else {
      fmt::print(stderr, "smpkit bench ble: {}\n", row.r.error);
    }
    return kExitFailure;
  }
  const std::string controller =
      row.r.controller.substr(0, row.r.controller.find(' '));
  const double whole = WholeRate(row);
  if (opt.json) {
    nlohmann::ordered_json doc = {
        {"ok", true},
        {"controller", controller},
        {"chip", opt.chip},
        {"phy", std::string(ble::PhyName(s.phy))},
        {"interval_ms", iv * 1.25},
        {"latency", row.r.latency_during_upload},
        {"latency_module", s.latency_module},
        {"mtu", row.r.att_mtu},
        {"dle", s.data_length},
        {"window", opt.window ? nlohmann::ordered_json(opt.window) : nlohmann::ordered_json()},
        {"window_used", row.r.window_used},
        {"buf_size", s.buf_size},
        {"image_size", opt.image_size},
        {"slot", s.dirty_slot ? "dirty" : "blank"},
        {"upload_s", row.r.upload_s},
        {"first_response_s", row.r.first_response_s},
        {"whole_kBps", whole / 1000},
        {"steady_kBps", row.r.steady_bytes_per_s / 1000},
        {"capacity_kBps", row.bound.bytes_per_second / 1000},
        {"limited_by", row.bound.limited_by},
        {"swap_s", row.r.swap_s},
        {"dfu_s", row.r.dfu_s}};
    fmt::print("{}\n", doc.dump());
    return kExitOk;
  }
  fmt::print("smpkit bench ble: one case: {} link layer, {}, {} PHY, {:.2f} ms, DLE {}, ATT MTU {}, "
             "window {}, {} slot, BLE latency module {}, {} KiB image\n",
             controller, opt.chip, ble::PhyName(s.phy), iv * 1.25, s.data_length, row.r.att_mtu,
             opt.window ? std::to_string(opt.window) : "auto", s.dirty_slot ? "dirty" : "blank",
             s.latency_module ? "on" : "off",
             opt.image_size / 1024);
  fmt::print("  upload {:.2f} s (first response {:.3f} s), whole {:.1f} kB/s, steady {:.1f} kB/s "
             "= {:.0f}% of the capacity {:.1f} kB/s ({}); window used {}, latency during the "
             "upload {}; swap {:.2f} s, whole DFU {:.2f} s\n",
             row.r.upload_s, row.r.first_response_s, whole / 1000, row.r.steady_bytes_per_s / 1000,
             100 * row.r.steady_bytes_per_s / row.bound.bytes_per_second,
             row.bound.bytes_per_second / 1000, row.bound.limited_by, row.r.window_used,
             row.r.latency_during_upload, row.r.swap_s, row.r.dfu_s);
  std::string arith = row.bound.arithmetic;
  for (size_t pos = 0; (pos = arith.find('\n', pos)) != std::string::npos; pos += 3)
    arith.replace(pos, 1, "\n  ");
  fmt::print("  capacity:\n    {}\n", arith);
  return kExitOk;
}

// Both chips and both link layers at 2M, DLE 251, MTU 498 from 7.5 to 50 ms, the window the
// client picks: steady throughput against the model's capacity.
int RunBenchBleProfiles(const BenchOptions& opt) {
  const std::vector<uint16_t> intervals = {6, 9, 12, 16, 20, 24, 32, 40};
  fmt::print("smpkit bench ble --profiles: {} KiB image, 2M PHY, DLE 251, ATT MTU 498, "
             "CONFIG_MCUMGR_BUF_SIZE={}, window picked by the client\n",
             opt.image_size / 1024, opt.buf_size);
  fmt::print("{:>9} {:>10} {:>9} | {:>8} {:>7} {:>8} {:>5} {:>19} {:>4}\n", "chip", "link layer",
             "interval", "upload s", "steady", "capacity", "cap%", "limited by", "win");
  bool met = true;
  for (const char* chip : {"nrf52840", "nrf5340"})
    for (const char* controller : {"sdc", "zephyr-ll"})
      for (uint16_t iv : intervals) {
        BenchOptions o = opt;
        o.window = 0;
        const Row row = RunRow(CaseSetup(o, iv, controller, std::string(chip) == "nrf5340"));
        if (!row.r.ok) {
          fmt::print("{:>9} {:>10} {:>7.2f}ms | failed: {}\n", chip, controller, iv * 1.25,
                     row.r.error);
          met = false;
          continue;
        }
        const double pct = 100 * row.r.steady_bytes_per_s / row.bound.bytes_per_second;
        met = met && pct >= 90;
        fmt::print("{:>9} {:>10} {:>7.2f}ms | {:>8.2f} {:>7.1f} {:>8.1f} {:>4.0f}% {:>19} {:>4}\n",
                   chip, controller, iv * 1.25, row.r.upload_s, row.r.steady_bytes_per_s / 1000,
                   row.bound.bytes_per_second / 1000, pct, row.bound.limited_by,
                   row.r.window_used);
      }
  fmt::print("\ntarget (steady >= 90% of the capacity for both chips and link layers at every "
             "interval): {}\n", met ? "met" : "NOT met");
  return kExitOk;
}

}  // namespace

void RegisterBenchCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto* bench = app.add_subcommand("bench", "benchmark reports");
  bench->require_subcommand(1);
  auto opt = std::make_shared<BenchOptions>();
  auto* ble_cmd = bench->add_subcommand("ble", "DFU over simulated BLE across link settings");
  ble_cmd->add_option("--image-size", opt->image_size, "image body size in bytes")
      ->check(CLI::Range(4096u, 0x60000u));
  ble_cmd
      ->add_option(
          "--buf-size", opt->buf_size,
          "SMP buffer size of the device: CONFIG_MCUMGR_BUF_SIZE (the seed prj.conf's name; "
          "CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE in newer releases)")
      ->check(CLI::Range(64, 8192));
  ble_cmd->add_flag("--quick", opt->quick, "2M PHY and MTU 498 only");
  ble_cmd->add_flag("--connected-start", opt->connected_start,
                    "start each DFU right after the phone connected (latency 0), not on an idle "
                    "link at the preferred latency 99");
  ble_cmd->add_flag("--ideal-flash", opt->ideal_flash,
                    "flash costs no time: measure the link and SMP stack against air time");
  ble_cmd->add_option("--csv", opt->csv, "write every row to this CSV file");
  ble_cmd->add_option("--plot", opt->plot, "write a PNG of throughput vs interval (gnuplot)");
  ble_cmd->add_option("--controller", opt->controller,
                      "one case: the device's link layer (default: its prj.conf's, sdc)")
      ->check(CLI::IsMember({"sdc", "zephyr-ll"}));
  ble_cmd->add_option("--chip", opt->chip,
                      "one case: nrf52840 (flash shares the CPU with the radio) or nrf5340 "
                      "(radio on the network core)")
      ->check(CLI::IsMember({"nrf52840", "nrf5340"}));
  ble_cmd->add_option("--phy", opt->phy, "one case: 1M or 2M")->check(CLI::IsMember({"1M", "2M"}));
  ble_cmd->add_option("--interval", opt->interval_ms,
                      "one case: connection interval in ms (a multiple of 1.25), held by the phone");
  ble_cmd->add_option("--latency", opt->latency,
                      "one case: the device's preferred peripheral latency")
      ->check(CLI::Range(0, 499));
  ble_cmd->add_option("--mtu", opt->mtu, "one case: ATT MTU")->check(CLI::Range(23, 517));
  ble_cmd->add_option("--dle", opt->dle, "one case: LL data length")->check(CLI::Range(27, 251));
  ble_cmd->add_option("--window", opt->window, "one case: requests in flight (default: the "
                                               "client picks)")
      ->check(CLI::Range(1, 64));
  ble_cmd->add_option("--slot", opt->slot,
                      "one case: blank (erased in the background) or dirty (erased on the first "
                      "chunk, between radio events)")
      ->check(CLI::IsMember({"blank", "dirty"}));
  ble_cmd->add_option("--latency-module", opt->latency_module,
                      "one case: nRF Desktop's BLE latency module on (the seed prj.conf) or off "
                      "(CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n)")
      ->check(CLI::IsMember({"on", "off"}));
  ble_cmd->add_flag("--json", opt->json, "one case, as one JSON document");
  ble_cmd->add_option("--events", opt->events,
                      "one case: write every connection event of the upload to this CSV file "
                      "(counter, anchor_s since the upload began, length_ms, attended, "
                      "central_pdus, peripheral_pdus, lost)");
  ble_cmd->add_flag("--profiles", opt->profiles,
                    "nRF52840 and nRF5340, SoftDevice Controller and Zephyr LL, 7.5..50 ms: "
                    "steady throughput against the capacity");
  ble_cmd->callback([opt, exit_code] {
    if (opt->profiles && SingleCase(*opt)) {
      // --profiles runs its own cases: a one-case option with it would be silently ignored.
      fmt::print(stderr,
                 "smpkit bench ble: --profiles runs its own cases; it takes none of the "
                 "one-case options (--controller, --chip, --phy, --interval, --latency, "
                 "--mtu, --dle, --window, --slot, --latency-module, --json, --events)\n");
      *exit_code = kExitUsage;
      return;
    }
    if ((opt->profiles || SingleCase(*opt)) &&
        (opt->quick || !opt->csv.empty() || !opt->plot.empty())) {
      fmt::print(stderr,
                 "smpkit bench ble: --quick, --csv and --plot belong to the sweep; "
                 "{} does not take them\n",
                 opt->profiles ? "--profiles" : "one case");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = opt->profiles      ? RunBenchBleProfiles(*opt)
                 : SingleCase(*opt) ? RunBenchBleCase(*opt)
                                    : RunBenchBle(*opt);
  });
}

}  // namespace smpkit::cli
