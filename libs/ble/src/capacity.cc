#include "smpkit/ble/capacity.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace smpkit::ble {

Capacity WriteCapacity(const LinkConfig& config, uint16_t att_mtu) {
  Capacity cap;
  const size_t dle = config.data_length;
  cap.value_per_write = att_mtu - 3u;
  const size_t l2cap = att_mtu + 4u;  // ATT opcode + handle (3) + value, L2CAP header (4)
  std::vector<size_t> frags;
  for (size_t off = 0; off < l2cap; off += dle) frags.push_back(std::min(dle, l2cap - off));
  cap.pdus_per_write = frags.size();
  const sim::Duration interval = config.params.Interval();
  cap.event_limit = std::min(
      {config.central.max_event_length, config.peripheral.max_event_length, interval - kTifs});
  auto air = [&](size_t len) { return PduAirTime(config.phy, len, config.encrypted); };
  auto pair = [&](size_t len) { return air(len) + kTifs + air(0); };
  const size_t max_pdus = config.central.max_pdus_per_event;

  // Pack the endless stream of fragments into events exactly as the link model does.
  constexpr int kEvents = 1000;
  size_t next = 0;
  uint64_t total = 0;
  for (int e = 0; e < kEvents; ++e) {
    sim::Duration t{0};
    size_t in_event = 0;
    while (max_pdus == 0 || in_event < max_pdus) {
      const sim::Duration end = t + pair(frags[next]);
      if (in_event > 0 && end > cap.event_limit) break;
      t = end + kTifs;
      ++in_event;
      next = (next + 1) % frags.size();
    }
    total += in_event;
  }
  cap.pdus_per_event = static_cast<double>(total) / kEvents;
  const double events_per_s = 1.0 / sim::ToSeconds(interval);
  const double writes_per_s = cap.pdus_per_event * events_per_s / static_cast<double>(frags.size());
  cap.bytes_per_second = writes_per_s * static_cast<double>(cap.value_per_write);

  std::string fr;
  for (size_t i = 0; i < frags.size(); ++i) fr += fmt::format("{}{}", i ? "+" : "", frags[i]);
  const auto us = [](sim::Duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
  };
  cap.arithmetic = fmt::format(
      "{} PHY, LL data length {}{}, ATT MTU {}\n"
      "  one write: {} value + 3 ATT + 4 L2CAP = {} octets = {} LL PDU(s) ({})\n"
      "  full PDU exchange: {:.0f} us data + {:.0f} us T_IFS + {:.0f} us empty reply + "
      "{:.0f} us T_IFS = {:.0f} us\n"
      "  event limit min(event length {:.3f} ms, interval {:.3f} ms - T_IFS) = {:.3f} ms{} -> "
      "{:.2f} PDUs per event\n"
      "  {:.2f} events/s x {:.2f} PDUs / {} PDUs per write = {:.1f} writes/s x {} octets = "
      "{:.1f} kB/s",
      PhyName(config.phy), dle, config.encrypted ? " (+4 MIC)" : "", att_mtu, cap.value_per_write,
      l2cap, frags.size(), fr, us(air(dle)), us(kTifs), us(air(0)), us(kTifs),
      us(pair(dle) + kTifs),
      sim::ToMillis(std::min(config.central.max_event_length, config.peripheral.max_event_length)),
      sim::ToMillis(interval), sim::ToMillis(cap.event_limit),
      max_pdus ? fmt::format(", at most {} PDUs", max_pdus) : std::string(), cap.pdus_per_event,
      events_per_s, cap.pdus_per_event, frags.size(), writes_per_s, cap.value_per_write,
      cap.bytes_per_second / 1000.0);
  return cap;
}

DfuBound ComputeDfuBound(const Capacity& air, sim::Duration word_write_time, size_t word_size,
                         sim::Duration page_erase_time, size_t page_size,
                         bool erase_during_upload) {
  DfuBound b;
  b.air_bytes_per_second = air.bytes_per_second;
  b.write_bytes_per_second = static_cast<double>(word_size) / sim::ToSeconds(word_write_time);
  b.bytes_per_second = b.air_bytes_per_second;
  b.limited_by = "air time";
  if (b.write_bytes_per_second < b.bytes_per_second) {
    b.bytes_per_second = b.write_bytes_per_second;
    b.limited_by = "flash write";
  }
  b.arithmetic = fmt::format("air time {:.1f} kB/s; flash write {} B / {:.0f} us = {:.1f} kB/s",
                             b.air_bytes_per_second / 1000.0, word_size,
                             std::chrono::duration<double, std::micro>(word_write_time).count(),
                             b.write_bytes_per_second / 1000.0);
  if (erase_during_upload) {
    b.erase_bytes_per_second = static_cast<double>(page_size) / sim::ToSeconds(page_erase_time);
    b.arithmetic += fmt::format("; erase {} B / {:.1f} ms = {:.1f} kB/s", page_size,
                                sim::ToMillis(page_erase_time), b.erase_bytes_per_second / 1000.0);
    if (b.erase_bytes_per_second < b.bytes_per_second) {
      b.bytes_per_second = b.erase_bytes_per_second;
      b.limited_by = "flash erase";
    }
  }
  b.arithmetic +=
      fmt::format(" -> bound {:.1f} kB/s ({})", b.bytes_per_second / 1000.0, b.limited_by);
  return b;
}

}  // namespace smpkit::ble
