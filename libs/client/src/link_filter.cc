#include "smpkit/client/link_filter.h"

#include <memory>

namespace smpkit::client {

FaultFate DrawFate(const FaultConfig& c, FaultStats& s, std::mt19937_64& rng,
                   std::span<uint8_t> packet) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  FaultFate fate;
  ++s.packets;
  if (u(rng) < c.drop) {
    ++s.dropped;
    return fate;
  }
  if (!packet.empty() && u(rng) < c.corrupt) {
    ++s.corrupted;
    size_t at = std::uniform_int_distribution<size_t>(0, packet.size() - 1)(rng);
    packet[at] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng));
  }
  fate.copies = 1;
  if (u(rng) < c.duplicate) {
    ++s.duplicated;
    fate.copies = 2;
  }
  for (int i = 0; i < fate.copies; ++i) {
    fate.delays[i] = c.delay;
    if (u(rng) < c.reorder) {
      ++s.reordered;
      fate.delays[i] += c.reorder_delay;
    }
  }
  return fate;
}

LinkFilter::LinkFilter(Link& inner, Executor& executor, FaultConfig to_device, FaultConfig to_host,
                       uint64_t seed)
    : inner_(inner),
      executor_(executor),
      config_{to_device, to_host},
      rng_(seed),
      alive_(std::make_shared<bool>(true)) {
  inner_.SetReceiveHandler([this](ConstByteSpan packet) { Apply(1, packet); });
}

LinkFilter::~LinkFilter() {
  *alive_ = false;
  inner_.SetReceiveHandler(nullptr);
}

Status LinkFilter::Send(ConstByteSpan packet) {
  Apply(0, packet);
  return {};
}

void LinkFilter::Apply(int direction, ConstByteSpan packet) {
  std::vector<uint8_t> copy(packet.begin(), packet.end());
  const FaultFate fate = DrawFate(config_[direction], stats_[direction], rng_, copy);
  for (int i = 0; i < fate.copies; ++i) {
    std::weak_ptr<bool> alive = alive_;
    executor_.PostAfter(fate.delays[i], [this, alive, direction, p = copy]() mutable {
      if (auto a = alive.lock(); a && *a) Deliver(direction, std::move(p));
    });
  }
}

void LinkFilter::Deliver(int direction, std::vector<uint8_t> packet) {
  if (direction == 0) {
    (void)inner_.Send(packet);
  } else if (handler_) {
    handler_(packet);
  }
}

}  // namespace smpkit::client
