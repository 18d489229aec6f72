#pragma once
// What Zephyr's UART driver for SMP (drivers/console/uart_mcumgr.c) does before the SMP
// console framing sees a byte: it collects each line, up to and including '\n', in a receive
// buffer of CONFIG_UART_MCUMGR_RX_BUF_SIZE bytes (128 by default) and drops a longer line
// whole. A device that serves the console through this filter keeps Zephyr's limit: lines of
// the MCUmgr convention (at most 127 bytes, smp-protocol.md §8.3) pass, longer ones are lost.
//
// Sans-I/O and heap-free: the line is kept in a caller span.

#include <cstdint>

#include "smpkit/base/bytes.h"

namespace smpkit::transport {

class ConsoleLineFilter {
 public:
  // Lines up to buffer.size() bytes ('\n' included) pass.
  explicit ConsoleLineFilter(ByteSpan buffer) : buffer_(buffer) {}

  // Feeds bytes; calls on_line(ConstByteSpan line) (with its '\n') for each complete line that
  // fit the buffer. A line cut off by the end of `in` is kept for the next call.
  template <typename OnLine>
  void Feed(ConstByteSpan in, OnLine&& on_line) {
    for (uint8_t b : in) {
      if (!overflow_) {
        if (len_ < buffer_.size()) {
          buffer_[len_++] = b;
        } else {
          overflow_ = true;  // "Line too long; drop this fragment."
        }
      }
      if (b != '\n') continue;
      if (overflow_) {
        ++dropped_lines_;
      } else {
        on_line(ConstByteSpan(buffer_.data(), len_));
      }
      len_ = 0;
      overflow_ = false;
    }
  }

  // Forgets a partial line (the port was reopened, the device restarted).
  void Reset() {
    len_ = 0;
    overflow_ = false;
  }
  uint64_t dropped_lines() const { return dropped_lines_; }
  size_t max_line() const { return buffer_.size(); }

 private:
  ByteSpan buffer_;
  size_t len_ = 0;
  bool overflow_ = false;
  uint64_t dropped_lines_ = 0;
};

}  // namespace smpkit::transport
