#pragma once
// A fault-injecting Link wrapper for tests: drops, duplicates, reorders, delays and corrupts
// packets in either direction, drawing from its own seeded generator so that a seed
// reproduces a run. Asio-free: it runs on any Executor (virtual or real time), in the
// spirit of pigweed's pw_transfer proxy filters.

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "smpkit/client/link.h"

namespace smpkit::client {

struct FaultConfig {
  double drop = 0;       // probability a packet is lost
  double duplicate = 0;  // probability a packet is delivered twice
  double reorder = 0;    // probability a packet is held back by `reorder_delay`
  double corrupt = 0;    // probability one byte of a packet is flipped
  Duration delay = std::chrono::microseconds(100);  // one-way latency
  Duration reorder_delay = std::chrono::milliseconds(5);
};

struct FaultStats {
  uint64_t packets = 0, dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
};

// What becomes of one packet under `config`: `copies` deliveries (0: dropped, 2: duplicated),
// each after its delay. Corruption flips one bit of `packet` in place. Shared by LinkFilter
// and the UDP relay in libs/io, so that a seed means the same faults in both.
struct FaultFate {
  int copies = 0;
  Duration delays[2] = {};
};
FaultFate DrawFate(const FaultConfig& config, FaultStats& stats, std::mt19937_64& rng,
                   std::span<uint8_t> packet);

class LinkFilter final : public Link {
 public:
  // Faults in `to_device` apply to what this link sends, `to_host` to what it receives.
  LinkFilter(Link& inner, Executor& executor, FaultConfig to_device, FaultConfig to_host,
             uint64_t seed);
  ~LinkFilter() override;

  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  LinkInfo Info() const override { return inner_.Info(); }

  const FaultStats& to_device_stats() const { return stats_[0]; }
  const FaultStats& to_host_stats() const { return stats_[1]; }

 private:
  void Apply(int direction, ConstByteSpan packet);
  void Deliver(int direction, std::vector<uint8_t> packet);

  Link& inner_;
  Executor& executor_;
  FaultConfig config_[2];
  FaultStats stats_[2];
  std::mt19937_64 rng_;
  ReceiveHandler handler_;
  std::shared_ptr<bool> alive_;
};

}  // namespace smpkit::client
