#pragma once
// The seam between the SMP client session and a transport. A Link carries whole SMP packets
// (header + CBOR payload) in both directions; an Executor gives the session its clock and
// timers. Both are small interfaces so that the same session runs on Asio in real time
// (libs/io) and on a virtual-time sim::Scheduler in tests (simlink::SchedulerExecutor), without
// depending on either.
//
// Threading: everything happens on one thread, the one running the executor. A Link calls
// its receive handler from that thread only (from inside the executor's event loop, never
// re-entrantly from inside Send()).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::client {

using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;  // since the executor's epoch
using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

// Clock, timers and the event loop the session runs on.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual Time Now() const = 0;
  // Calls `fn` once after `delay` (from inside RunUntil). Never calls it synchronously.
  virtual TimerId PostAfter(Duration delay, std::function<void()> fn) = 0;
  // Cancels a pending timer; false if it already ran or was cancelled.
  virtual bool Cancel(TimerId id) = 0;
  // Runs events (timers, link I/O) until `done()` holds; checked before each event. Returns
  // false if no event could ever make it hold (the loop ran dry).
  virtual bool RunUntil(const std::function<bool()>& done) = 0;
};

// What a transport can carry, for sizing requests.
struct LinkInfo {
  // Largest SMP packet (header included) one transport unit carries: a UDP datagram, one
  // GATT write at the negotiated ATT MTU, the serial frame limit.
  size_t mtu = 0;
  // True when the transport itself splits and reassembles packets larger than `mtu`
  // (serial framing, BLE SMP SAR): then only the server's buffer limits the packet size.
  bool reassembles = false;
  // Bytes of the server's packet buffer the transport's own framing occupies (serial: the
  // length prefix and CRC, 4), to subtract from the server's buf_size.
  size_t server_overhead = 0;
};

class Link {
 public:
  // One complete received SMP packet; the span is valid during the call only.
  using ReceiveHandler = std::function<void(ConstByteSpan packet)>;

  virtual ~Link() = default;

  // Queues one complete SMP packet. Errors: kNoSpace when it exceeds what the link can
  // carry, kIo when the transport failed (a lost packet is not an error: the session's
  // timeouts handle it).
  virtual Status Send(ConstByteSpan packet) = 0;
  // Sets who receives packets (replaces any previous handler; an empty one drops them).
  virtual void SetReceiveHandler(ReceiveHandler handler) = 0;
  virtual LinkInfo Info() const = 0;
};

// Caps the SMP packet size of another link (the CLI's --mtu on transports that reassemble):
// packets above `max_packet` are refused with kNoSpace, and the session sizes requests to it.
class CappedLink final : public Link {
 public:
  CappedLink(Link& inner, size_t max_packet) : inner_(inner), max_packet_(max_packet) {}
  Status Send(ConstByteSpan packet) override {
    if (packet.size() > max_packet_) {
      return Error::Format(Errc::kNoSpace, "packet of %zu bytes exceeds the %zu-byte MTU",
                           packet.size(), max_packet_);
    }
    return inner_.Send(packet);
  }
  void SetReceiveHandler(ReceiveHandler handler) override {
    inner_.SetReceiveHandler(std::move(handler));
  }
  LinkInfo Info() const override {
    LinkInfo info = inner_.Info();
    info.mtu = info.reassembles ? max_packet_ : std::min(info.mtu, max_packet_);
    info.reassembles = false;
    return info;
  }

 private:
  Link& inner_;
  size_t max_packet_;
};

}  // namespace smpkit::client
