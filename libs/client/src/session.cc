#include "smpkit/client/session.h"

#include <algorithm>
#include <array>
#include <climits>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/errors.h"

namespace smpkit::client {

namespace {

constexpr int32_t kRcTooOld = static_cast<int32_t>(smp::MgmtErr::kTooOld);
constexpr int32_t kRcTooNew = static_cast<int32_t>(smp::MgmtErr::kTooNew);
constexpr int32_t kRcCorrupt = static_cast<int32_t>(smp::MgmtErr::kCorrupt);

}  // namespace

std::string CommandName(uint16_t group, uint8_t id) {
  if (const smp::CommandInfo* c = smp::FindCommand(group, id)) return std::string(c->name);
  if (group == smp::kGroupOs) return "os command " + std::to_string(id);
  if (group == smp::kGroupImage) return "image command " + std::to_string(id);
  return "group " + std::to_string(group) + " command " + std::to_string(id);
}

std::string Reply::Describe() const {
  smp::Response r;
  r.header = header;
  r.rc = rc;
  r.err = err;
  r.reason = reason;
  std::array<char, 160> buf{};
  return std::string(smp::DescribeError(r, buf));
}

Status ReplyStatus(const Reply& reply) {
  if (reply.ok()) return {};
  std::string text = CommandName(reply.header.group, reply.header.id) + ": " + reply.Describe();
  if (!reply.reason.empty() && text.find(reply.reason) == std::string::npos) {
    text += ": " + reply.reason;
  }
  if (reply.err) return Error::Remote(reply.err->group, reply.err->rc, false, text);
  return Error::Remote(reply.header.group, reply.rc, true, text);
}

Session::Session(Link& link, Executor& executor, SessionConfig config)
    : link_(link),
      executor_(executor),
      config_(config),
      v2_(config.start_v2),
      alive_(std::make_shared<bool>(true)) {
  link_.SetReceiveHandler([this](ConstByteSpan packet) { OnPacket(packet); });
}

Session::~Session() {
  *alive_ = false;
  link_.SetReceiveHandler(nullptr);
  for (auto& [id, p] : pending_) executor_.Cancel(p.timer);
}

size_t Session::MaxPacketSize() const {
  LinkInfo info = link_.Info();
  size_t limit = info.reassembles ? smp::kHeaderSize + 0xffff : info.mtu;
  if (server_buf_size_) {
    size_t server =
        *server_buf_size_ > info.server_overhead ? *server_buf_size_ - info.server_overhead : 0;
    limit = std::min(limit, server);
  }
  return std::min(limit, packet_cap_);
}

Result<size_t> Session::FallBackBelow(size_t failed_size, std::string reason) {
  const size_t current = MaxPacketSize();
  for (size_t size : kFallbackLadder) {
    if (size < failed_size && size < current) {
      fallbacks_.push_back({failed_size, size, std::move(reason)});
      packet_cap_ = size;
      return size;
    }
  }
  return Error::Format(Errc::kNoSpace,
                       "packets of %zu bytes do not get through (%s) and no smaller packet size "
                       "is left to try",
                       failed_size, reason.c_str());
}

uint8_t Session::AllocateSeq() {
  // Skip sequence numbers that still belong to a pending request.
  for (int i = 0; i < 256; ++i) {
    uint8_t seq = next_seq_++;
    if (!seq_owner_.count(seq)) return seq;
  }
  return next_seq_++;  // 256 pending transmissions: cannot happen with sane windows
}

Session::RequestId Session::Submit(Request request, Callback done) {
  RequestId id = next_id_++;
  Pending p;
  p.request = std::move(request);
  p.done = std::move(done);
  p.v2 = v2_;
  pending_.emplace(id, std::move(p));
  Transmit(id);
  return id;
}

bool Session::Cancel(RequestId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return false;
  executor_.Cancel(it->second.timer);
  for (uint8_t s : it->second.seqs) seq_owner_.erase(s);
  pending_.erase(it);
  return true;
}

void Session::Finish(RequestId id, Result<Reply> result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Callback done = std::move(it->second.done);
  executor_.Cancel(it->second.timer);
  for (uint8_t s : it->second.seqs) seq_owner_.erase(s);
  pending_.erase(it);
  if (done) done(std::move(result));
}

void Session::Transmit(RequestId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  const Request& req = p.request;
  auto fail_later = [this, id](Error e) {
    std::weak_ptr<bool> alive = alive_;
    executor_.PostAfter(Duration(0), [this, alive, id, e] {
      if (auto a = alive.lock(); a && *a) Finish(id, e);
    });
  };
  size_t size = smp::kHeaderSize + req.payload.size();
  if (req.payload.size() > 0xffff || size > MaxPacketSize()) {
    fail_later(Error::Format(Errc::kNoSpace,
                             "%s request of %zu bytes exceeds the %zu-byte packet limit",
                             CommandName(req.group, req.id).c_str(), size, MaxPacketSize()));
    return;
  }
  uint8_t seq = AllocateSeq();
  const Time now = executor_.Now();
  if (p.attempts == 0) p.first_sent = now;
  p.seqs.push_back(seq);
  p.sent.push_back(now);
  seq_owner_[seq] = id;
  smp::Header h;
  h.op = req.op;
  h.version = p.v2 ? smp::kVersion2 : smp::kVersion1;
  h.group = req.group;
  h.id = req.id;
  h.seq = seq;
  h.length = static_cast<uint16_t>(req.payload.size());
  frame_.resize(size);
  (void)smp::EncodeHeader(h, frame_);
  std::copy(req.payload.begin(), req.payload.end(), frame_.begin() + smp::kHeaderSize);
  ++p.attempts;
  ++stats_.sent;
  Status st = link_.Send(frame_);
  if (!st.ok()) {
    fail_later(st.error());
    return;
  }
  Duration timeout = config_.timeout;
  if (req.timeout) {
    timeout = *req.timeout;
  } else {
    // Exponential backoff from the adaptive RTO, never beyond the configured timeout.
    timeout = Rto();
    for (int i = 1; i < p.attempts && timeout < config_.timeout; ++i) timeout *= 2;
    timeout = std::min(timeout, config_.timeout);
  }
  std::weak_ptr<bool> alive = alive_;
  p.timer = executor_.PostAfter(timeout, [this, alive, id] {
    if (auto a = alive.lock(); a && *a) OnTimeout(id);
  });
}

void Session::OnTimeout(RequestId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  p.timer = kNoTimer;
  int retries = p.request.retries.value_or(config_.retries);
  bool exhausted = p.attempts > retries;
  if (exhausted && !p.request.timeout) {
    // Adaptive retransmissions: keep the patience of (retries + 1) configured timeouts.
    exhausted = executor_.Now() - p.first_sent >= config_.timeout * (retries + 1);
  }
  if (exhausted) {
    ++stats_.timeouts;
    Finish(id,
           Error::Format(Errc::kTimeout, "no response to %s after %d attempt%s in %.1f s",
                         CommandName(p.request.group, p.request.id).c_str(), p.attempts,
                         p.attempts == 1 ? "" : "s",
                         std::chrono::duration<double>(executor_.Now() - p.first_sent).count()));
    return;
  }
  // A server that never answered may ignore v2 requests: make the last attempt in v1.
  if (p.v2 && !heard_ && config_.allow_v1_fallback && p.attempts >= retries) p.v2 = false;
  ++stats_.retransmits;
  if (p.request.on_retransmit) p.request.on_retransmit();
  Transmit(id);
}

void Session::OnPacket(ConstByteSpan packet) {
  ++stats_.received;
  // A transport packet may hold several frames (smp-protocol.md §1.5).
  while (!packet.empty()) {
    auto header = smp::DecodeHeader(packet);
    if (!header.ok() || smp::kHeaderSize + header->length > packet.size()) {
      ++stats_.dropped_bad;
      return;
    }
    size_t frame_size = smp::kHeaderSize + header->length;
    ConstByteSpan frame = packet.first(frame_size);
    packet = packet.subspan(frame_size);

    auto owner = seq_owner_.find(header->seq);
    if (owner == seq_owner_.end()) {
      ++stats_.dropped_stale;
      continue;
    }
    RequestId id = owner->second;
    Pending& p = pending_.at(id);
    const Request& req = p.request;
    if (header->group != req.group || header->id != req.id ||
        header->op != smp::ResponseOp(req.op)) {
      ++stats_.dropped_stale;
      continue;
    }
    auto parsed = smp::ParseResponse(frame);
    if (!parsed.ok()) {
      ++stats_.dropped_bad;
      continue;
    }
    heard_ = true;
    ++stats_.matched;
    // Each transmission has its own sequence number: the round trip is unambiguous.
    for (size_t i = 0; i < p.seqs.size(); ++i) {
      if (p.seqs[i] != header->seq) continue;
      if (req.sample_rtt) rtt_.Sample(executor_.Now() - p.sent[i]);
      break;
    }
    const smp::Response& r = *parsed;
    // rc 9 (ECORRUPT) is what a device answers to a truncated packet: not delivered whole.
    if (r.rc != kRcCorrupt || r.err) NoteDelivered(smp::kHeaderSize + req.payload.size());
    // The version this request went out with (a legacy server answers version 0 anyway).
    bool transmitted_v2 = p.v2;
    if (transmitted_v2 && r.rc == kRcTooNew && !r.err) {
      p.v2_refused = true;
      if (!config_.allow_v1_fallback || p.v1_refused) {
        Finish(id, Error(Errc::kNotSupported,
                         p.v1_refused ? "device rejects both SMP versions (rc 12 and rc 13)"
                                      : "device speaks SMP v1 only (rc 13 TOO_NEW to a v2 "
                                        "request)"));
        return;
      }
      ++stats_.v1_fallbacks;
      v2_ = false;
      p.v2 = false;
      executor_.Cancel(p.timer);
      Transmit(id);
      continue;
    }
    if (!transmitted_v2 && r.rc == kRcTooOld && !r.err) {
      p.v1_refused = true;
      if (p.v2_refused) {
        Finish(id,
               Error(Errc::kNotSupported, "device rejects both SMP versions (rc 12 and rc 13)"));
        return;
      }
      v2_ = true;
      p.v2 = true;
      executor_.Cancel(p.timer);
      Transmit(id);
      continue;
    }
    if (transmitted_v2 && header->version == smp::kVersion1) {
      // The server answered a v2 request in v1: a legacy (v1-only) server.
      if (!config_.allow_v1_fallback) {
        Finish(id, Error(Errc::kNotSupported,
                         "device answers in SMP v1 only (response header version 0)"));
        return;
      }
      if (v2_) ++stats_.v1_fallbacks;
      v2_ = false;
    } else if (!transmitted_v2 && v2_) {
      // The v1 retry got through where v2 did not.
      ++stats_.v1_fallbacks;
      v2_ = false;
    }
    Reply reply;
    reply.header = r.header;
    reply.payload.assign(r.payload.begin(), r.payload.end());
    reply.rc = r.rc;
    reply.reason = std::string(r.reason);
    reply.err = r.err;
    Finish(id, std::move(reply));
  }
}

Result<Reply> Session::Call(Request request) {
  std::optional<Result<Reply>> result;
  Submit(std::move(request), [&result](Result<Reply> r) { result = std::move(r); });
  if (!executor_.RunUntil([&] { return result.has_value(); })) {
    return Error(Errc::kTimeout, "event loop ran dry before the response");
  }
  return std::move(*result);
}

}  // namespace smpkit::client
