#pragma once
// Test helpers: start `smpkit device` as a child process (bounded in time), talk raw SMP
// to it over UDP or its serial pty.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/smp/message.h"
#include "smpkit/testing/device_process.h"
#include "smpkit/transport/serial.h"

namespace smpkit::testing {

inline std::string SmpkitBinary() { return std::string(SMPKIT_BINARY_DIR) + "/apps/smpkit/smpkit"; }

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Raw SMP over one transport: send a frame, wait (bounded) for the response with its seq.
class RawLink {
 public:
  virtual ~RawLink() = default;
  virtual bool Send(ConstByteSpan frame) = 0;
  // Returns the next received SMP packet within `timeout`, or nullopt.
  virtual std::optional<std::vector<uint8_t>> Receive(std::chrono::milliseconds timeout) = 0;
};

class UdpLink : public RawLink {
 public:
  explicit UdpLink(uint16_t port, bool v6 = false) {
    if (v6) {
      fd_ = socket(AF_INET6, SOCK_DGRAM, 0);
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr_);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(port);
      a6->sin6_addr = in6addr_loopback;
      len_ = sizeof(sockaddr_in6);
    } else {
      fd_ = socket(AF_INET, SOCK_DGRAM, 0);
      auto* a4 = reinterpret_cast<sockaddr_in*>(&addr_);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(port);
      a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len_ = sizeof(sockaddr_in);
    }
  }
  ~UdpLink() override { close(fd_); }
  bool Send(ConstByteSpan frame) override {
    return sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&addr_), len_) ==
           static_cast<ssize_t>(frame.size());
  }
  std::optional<std::vector<uint8_t>> Receive(std::chrono::milliseconds timeout) override {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    std::vector<uint8_t> buf(65536);
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  int fd_;
  sockaddr_storage addr_{};
  socklen_t len_ = 0;
};

class PtyLink : public RawLink {
 public:
  explicit PtyLink(const std::string& path) : decoder_(ByteSpan(dec_buf_)) {
    fd_ = open(path.c_str(), O_RDWR | O_NOCTTY);
    if (fd_ >= 0) {
      termios t{};
      tcgetattr(fd_, &t);
      cfmakeraw(&t);
      tcsetattr(fd_, TCSANOW, &t);
    }
  }
  ~PtyLink() override {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool Send(ConstByteSpan frame) override {
    std::vector<uint8_t> wire(transport::SerialEncoder::EncodedSize(frame.size()));
    auto n = transport::SerialEncoder::Encode(frame, wire);
    if (!n.ok()) return false;
    return WriteAll(ConstByteSpan(wire.data(), *n));
  }
  bool WriteAll(ConstByteSpan bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t w = write(fd_, bytes.data() + done, bytes.size() - done);
      if (w <= 0) return false;
      done += static_cast<size_t>(w);
    }
    return true;
  }
  std::optional<std::vector<uint8_t>> Receive(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      while (pending_pos_ < pending_.size()) {
        auto r = decoder_.Feed(
            ConstByteSpan(pending_.data() + pending_pos_, pending_.size() - pending_pos_));
        pending_pos_ += r.consumed;
        if (r.packet.ok() && r.packet->has_value()) {
          return std::vector<uint8_t>((*r.packet)->begin(), (*r.packet)->end());
        }
        if (r.consumed == 0) break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      uint8_t buf[4096];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      pending_.assign(buf, buf + n);
      pending_pos_ = 0;
    }
  }

 private:
  int fd_ = -1;
  std::array<uint8_t, 8192> dec_buf_{};
  transport::SerialDecoder decoder_;
  std::vector<uint8_t> pending_;
  size_t pending_pos_ = 0;
};

// SMP requests over a RawLink, matched by sequence number, with bounded waits (3 attempts).
class RawCaller {
 public:
  RawCaller(RawLink& link, size_t buf_size) : link_(link), buf_(buf_size) {}

  template <typename Body>
  std::optional<smp::Response> Call(uint8_t op, uint16_t group, uint8_t id, Body&& body,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    smp::Header h;
    h.op = op;
    h.group = group;
    h.id = id;
    h.seq = ++seq_;
    auto frame = smp::BuildFrame(h, buf_, body);
    if (!frame.ok()) return std::nullopt;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!link_.Send(*frame)) return std::nullopt;
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (std::chrono::steady_clock::now() < deadline) {
        auto rx = link_.Receive(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
        if (!rx) break;
        auto r = smp::ParseResponse(*rx);
        if (!r.ok() || r->header.seq != h.seq) continue;  // stale or foreign: skip
        last_ = std::move(*rx);
        return *smp::ParseResponse(last_);
      }
    }
    return std::nullopt;
  }

 private:
  RawLink& link_;
  uint8_t seq_ = 0;
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> last_;
};

}  // namespace smpkit::testing
