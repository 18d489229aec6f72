#include "smpkit/client/link_filter.h"

#include <memory>

namespace smpkit::client {

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
  const FaultConfig& c = config_[direction];
  FaultStats& s = stats_[direction];
  std::uniform_real_distribution<double> u(0.0, 1.0);
  ++s.packets;
  if (u(rng_) < c.drop) {
    ++s.dropped;
    return;
  }
  std::vector<uint8_t> copy(packet.begin(), packet.end());
  if (!copy.empty() && u(rng_) < c.corrupt) {
    ++s.corrupted;
    size_t at = std::uniform_int_distribution<size_t>(0, copy.size() - 1)(rng_);
    copy[at] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng_));
  }
  int copies = 1;
  if (u(rng_) < c.duplicate) {
    ++s.duplicated;
    copies = 2;
  }
  for (int i = 0; i < copies; ++i) {
    Duration delay = c.delay;
    if (u(rng_) < c.reorder) {
      ++s.reordered;
      delay += c.reorder_delay;
    }
    std::weak_ptr<bool> alive = alive_;
    executor_.PostAfter(delay, [this, alive, direction, p = copy]() mutable {
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
