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
  cap.event_limit = EventLimit(config);
  auto air = [&](size_t len) { return PduAirTime(config.phy, len, config.encrypted); };
  auto pair = [&](size_t len) { return air(len) + kTifs + air(0); };
  const size_t max_pdus = config.central.max_pdus_per_event;

  // An upper bound on what any sequence of writes of at most MTU - 3 value octets can carry:
  // every write spends 7 octets on headers, so at most (MTU - 3) / (MTU + 4) of the PDU
  // octets are value, and an event carries the most octets with PDUs as large as a write's
  // L2CAP PDU allows (min(DLE, MTU + 4)), as many as fit the event limit (the first always
  // goes) and the per-event PDU limit, then one shorter PDU in the time left.
  const size_t full = std::min(dle, l2cap);
  size_t k = 1;
  sim::Duration t = pair(full) + kTifs;
  while ((max_pdus == 0 || k < max_pdus) && t + pair(full) <= cap.event_limit) {
    t += pair(full) + kTifs;
    ++k;
  }
  size_t partial = 0;
  if (max_pdus == 0 || k < max_pdus) {
    partial = full;
    while (partial > 0 && t + pair(partial) > cap.event_limit) --partial;
  }
  cap.pdus_per_event = k;
  cap.partial_octets_per_event = partial;
  cap.full_pdu_octets = full;
  cap.value_share = static_cast<double>(cap.value_per_write) / static_cast<double>(l2cap);
  const double events_per_s = 1.0 / sim::ToSeconds(interval);
  const double octets_per_event = static_cast<double>(k * full + partial);
  cap.bytes_per_second = octets_per_event * events_per_s * cap.value_share;

  std::string fr;
  for (size_t i = 0; i < frags.size(); ++i) fr += fmt::format("{}{}", i ? "+" : "", frags[i]);
  const auto us = [](sim::Duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
  };
  cap.arithmetic = fmt::format(
      "{} PHY, LL data length {}{}, ATT MTU {}\n"
      "  one write: {} value + 3 ATT + 4 L2CAP = {} octets = {} LL PDU(s) ({})\n"
      "  full PDU exchange: {:.0f} us data ({} octets) + {:.0f} us T_IFS + {:.0f} us empty reply + "
      "{:.0f} us T_IFS = {:.0f} us\n"
      "  event limit min(event length {}, interval {:.3f} ms - T_IFS) = {:.3f} ms{} -> "
      "{} full PDUs + {} octets in the time left = {:.0f} octets per event\n"
      "  {:.2f} events/s x {:.0f} octets x {}/{} value = {:.1f} kB/s",
      PhyName(config.phy), dle, config.encrypted ? " (+4 MIC)" : "", att_mtu, cap.value_per_write,
      l2cap, frags.size(), fr, us(air(full)), full, us(kTifs), us(air(0)), us(kTifs),
      us(pair(full) + kTifs),
      [&] {
        const auto a = config.central.max_event_length, b = config.peripheral.max_event_length;
        if (a > sim::Duration(0) || b > sim::Duration(0)) {
          const auto m = a > sim::Duration(0) && b > sim::Duration(0) ? std::min(a, b)
                         : a > sim::Duration(0)                       ? a
                                                                      : b;
          return fmt::format("{:.3f} ms", sim::ToMillis(m));
        }
        return fmt::format("to {:.0f} us before the next event", us(kLlEventEndMargin));
      }(),
      sim::ToMillis(interval), sim::ToMillis(cap.event_limit),
      max_pdus ? fmt::format(", at most {} PDUs", max_pdus) : std::string(), k, partial,
      octets_per_event, events_per_s, octets_per_event, cap.value_per_write, l2cap,
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
  b.physical_bytes_per_second = b.bytes_per_second;
  b.arithmetic +=
      fmt::format(" -> bound {:.1f} kB/s ({})", b.bytes_per_second / 1000.0, b.limited_by);
  return b;
}

SharedCapacity RadioFlashSharingCapacity(const LinkConfig& config, uint16_t att_mtu,
                                         double flash_seconds_per_byte) {
  SharedCapacity out;
  if (flash_seconds_per_byte <= 0) return out;
  const Capacity cap = WriteCapacity(config, att_mtu);
  const auto secs = [](sim::Duration d) { return sim::ToSeconds(d); };
  auto air = [&](size_t len) { return secs(PduAirTime(config.phy, len, config.encrypted)); };
  auto pair = [&](size_t len) { return air(len) + 2 * secs(kTifs) + air(0); };  // + next T_IFS
  const size_t full = cap.full_pdu_octets;
  const double value_per_pdu = static_cast<double>(full) * cap.value_share;
  const double per_pdu = pair(full);
  const double interval = secs(config.params.Interval());
  const double guards = secs(config.radio_guard_before + config.radio_guard_after);
  const double empty_event = air(0) + secs(kTifs) + air(0);
  auto event = [&](size_t k) {
    return k == 0 ? empty_event : static_cast<double>(k) * per_pdu - secs(kTifs);
  };
  const size_t k_max = cap.pdus_per_event;
  // Per interval, for each option: octets carried, octets flash can write.
  std::vector<double> carried, writable, length;
  std::vector<std::string> label;
  auto option = [&](double ev, double bytes, double flash_time, std::string name) {
    length.push_back(ev);
    carried.push_back(bytes);
    writable.push_back(std::max(0.0, flash_time) / flash_seconds_per_byte);
    label.push_back(std::move(name));
  };
  for (size_t k = 0; k <= k_max; ++k) {
    option(event(k), static_cast<double>(k) * value_per_pdu, interval - guards - event(k),
           fmt::format("k={}", k));
  }
  if (cap.partial_octets_per_event > 0) {
    const size_t n = cap.partial_octets_per_event;
    const double ev = event(k_max) + pair(n);
    option(ev, static_cast<double>(k_max) * value_per_pdu + static_cast<double>(n) * cap.value_share,
           interval - guards - ev, fmt::format("k={}+{} octets", k_max, n));
  }
  // A skipped event frees its time for flash, unless the controller keeps it reserved.
  const bool skips_free = config.params.latency > 0 && !config.peripheral.reserves_skipped_events;
  if (skips_free) option(0, 0, interval, "skipped (latency)");
  // Maximise the mean carried over a mix of event sizes, subject to mean carried <= mean
  // writable. The optimum is one size or a mix of two (a surplus and a deficit one).
  const size_t options = carried.size();
  double best = 0;
  size_t bi = 0, bj = 0;
  double bx = 0;  // share of option bj
  for (size_t i = 0; i < options; ++i) {
    if (carried[i] > writable[i]) continue;
    if (carried[i] > best) {
      best = carried[i];
      bi = bj = i;
      bx = 0;
    }
    for (size_t j = 0; j < options; ++j) {
      if (carried[j] <= writable[j]) continue;
      const double surplus = writable[i] - carried[i];
      const double deficit = carried[j] - writable[j];
      const double x = surplus / (surplus + deficit);
      const double mean = (1 - x) * carried[i] + x * carried[j];
      if (mean > best) {
        best = mean;
        bi = i;
        bj = j;
        bx = x;
      }
    }
  }
  out.bytes_per_second = best / interval;
  const auto ms = [](double s) { return s * 1000.0; };
  out.arithmetic = fmt::format(
      "radio/flash sharing: flash pauses from {:.2f} ms before every attended event to "
      "{:.2f} ms after it;\n  per {:.2f} ms interval, an event of k PDUs ({:.0f} value octets "
      "each, {:.3f} ms per PDU)\n  leaves max(0, {:.2f} - {:.2f} - event) ms for flash at "
      "{:.1f} kB/s{}",
      ms(secs(config.radio_guard_before)), ms(secs(config.radio_guard_after)), ms(interval),
      value_per_pdu, ms(per_pdu), ms(interval), ms(guards), 1e-3 / flash_seconds_per_byte,
      skips_free
          ? fmt::format("; latency {} lets the peripheral skip events", config.params.latency)
          : std::string());
  auto term = [&](size_t k) {
    return fmt::format("{}: event {:.2f} ms carries {:.0f} B, flash writes {:.0f} B", label[k],
                       ms(length[k]), carried[k], writable[k]);
  };
  if (bi == bj) {
    out.arithmetic += fmt::format("\n  best: every event {} -> {:.0f} B per interval = {:.1f} kB/s",
                                  term(bi), best, out.bytes_per_second / 1000.0);
  } else {
    out.arithmetic += fmt::format(
        "\n  best mix: {:.0f}% {}\n            {:.0f}% {}\n  -> {:.0f} B per interval = "
        "{:.1f} kB/s",
        100 * (1 - bx), term(bi), 100 * bx, term(bj), best, out.bytes_per_second / 1000.0);
  }
  return out;
}

void ApplyRadioFlashSharing(DfuBound& bound, const LinkConfig& config, uint16_t att_mtu) {
  if (config.processing_parallel_to_radio) {
    bound.arithmetic +=
        "\n  radio and flash on separate cores (nRF5340): no sharing term, min(air, flash write)";
    return;
  }
  double per_byte = 0;
  if (bound.write_bytes_per_second > 0) per_byte += 1.0 / bound.write_bytes_per_second;
  if (bound.erase_bytes_per_second > 0) per_byte += 1.0 / bound.erase_bytes_per_second;
  const SharedCapacity shared = RadioFlashSharingCapacity(config, att_mtu, per_byte);
  if (shared.bytes_per_second <= 0) return;
  bound.arithmetic += "\n  " + shared.arithmetic;
  // A tie with the air-time term (full events, flash keeping up) is the air time's.
  if (shared.bytes_per_second < bound.bytes_per_second * (1 - 1e-6)) {
    bound.bytes_per_second = shared.bytes_per_second;
    bound.limited_by = "radio/flash sharing";
  }
  bound.arithmetic += fmt::format("\n  model capacity {:.1f} kB/s ({})",
                                  bound.bytes_per_second / 1000.0, bound.limited_by);
}

}  // namespace smpkit::ble

namespace smpkit::ble {

void ApplyWindowLimit(DfuBound& bound, size_t window, size_t chunk_data,
                      const LinkConfig& config, uint16_t att_mtu, sim::Duration processing) {
  if (window == 0 || chunk_data == 0) return;
  const auto secs = [](sim::Duration d) { return sim::ToSeconds(d); };
  auto air = [&](size_t len) { return secs(PduAirTime(config.phy, len, config.encrypted)); };
  auto exchange = [&](size_t c_len, size_t p_len) {
    return air(c_len) + secs(kTifs) + air(p_len) + secs(kTifs);
  };
  // The request: at least its image data and the SMP header, in writes of MTU - 3 value
  // octets (each + 3 ATT + 4 L2CAP), cut into PDUs of at most the data length.
  const size_t dle = config.data_length;
  const size_t per_write = att_mtu > 3 ? att_mtu - 3u : 1u;
  size_t left = chunk_data + 8;
  double request = 0;
  size_t pdus = 0;
  while (left > 0) {
    const size_t value = std::min(left, per_write);
    left -= value;
    for (size_t l2cap = value + 7, off = 0; off < l2cap; off += dle) {
      request += exchange(std::min(dle, l2cap - off), 0);
      ++pdus;
    }
  }
  // The answer: one notification of an SMP header and {"rc": 0, "off": N} in one PDU.
  const double answer = exchange(0, std::min<size_t>(dle, 7 + kUploadAnswerOctets));
  const double cycle = request + secs(processing) + answer;
  const double rate = static_cast<double>(window * chunk_data) / cycle;
  bound.arithmetic += fmt::format(
      "\n  request window: each of {} buffers holds a request from its first PDU to its answer: "
      "{} PDUs of request {:.2f} ms + flash write {:.2f} ms + answer {:.2f} ms = {:.2f} ms at "
      "least -> {} x {} B / {:.2f} ms = {:.1f} kB/s",
      window, pdus, request * 1e3, secs(processing) * 1e3, answer * 1e3, cycle * 1e3, window,
      chunk_data, cycle * 1e3, rate / 1000.0);
  if (rate < bound.bytes_per_second * (1 - 1e-6)) {
    bound.bytes_per_second = rate;
    bound.limited_by = fmt::format("window ({} requests)", window);
  }
  bound.arithmetic += fmt::format("\n  model capacity {:.1f} kB/s ({})",
                                  bound.bytes_per_second / 1000.0, bound.limited_by);
}

}  // namespace smpkit::ble
