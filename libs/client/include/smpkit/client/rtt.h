#pragma once
// Round-trip time estimation and the retransmission timeout derived from it, as TCP does it
// (RFC 6298): a smoothed RTT and its mean deviation, RTO = SRTT + max(G, 4 * RTTVAR), kept
// within bounds. The session feeds it a sample for every answered transmission (each
// transmission has its own sequence number, so a sample is never ambiguous).

#include <algorithm>
#include <chrono>

namespace smpkit::client {

class RttEstimator {
 public:
  using Duration = std::chrono::nanoseconds;

  // Smallest and largest RTO ever returned, and the clock granularity term G.
  static constexpr Duration kMinRto = std::chrono::milliseconds(2);
  // Before any sample (RFC 6298 §2.1 uses 1 s too).
  static constexpr Duration kInitialRto = std::chrono::seconds(1);
  static constexpr Duration kGranularity = std::chrono::microseconds(500);

  void Sample(Duration rtt) {
    if (rtt < Duration::zero()) rtt = Duration::zero();
    if (samples_ == 0) {
      srtt_ = rtt;
      rttvar_ = rtt / 2;
    } else {
      // RTTVAR first, with the old SRTT (RFC 6298 §2.3): beta 1/4, alpha 1/8.
      const Duration delta = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
      rttvar_ = (3 * rttvar_ + delta) / 4;
      srtt_ = (7 * srtt_ + rtt) / 8;
    }
    ++samples_;
  }

  bool has_sample() const { return samples_ > 0; }
  unsigned long samples() const { return samples_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }

  // The retransmission timeout, at least kMinRto and at most `max` (the configured
  // per-request timeout); kInitialRto (at most `max`) before any sample.
  Duration Rto(Duration max) const {
    if (!has_sample()) return std::min(kInitialRto, max);
    const Duration rto = srtt_ + std::max(kGranularity, 4 * rttvar_);
    return std::clamp(rto, std::min(kMinRto, max), max);
  }

 private:
  Duration srtt_{0};
  Duration rttvar_{0};
  unsigned long samples_ = 0;
};

}  // namespace smpkit::client
