#include "smpkit/ble/link.h"

#include <algorithm>
#include <memory>
#include <utility>

namespace smpkit::ble {
namespace {

constexpr uint8_t kLlConnectionUpdateInd = 0x00;
constexpr uint8_t kLlTerminateInd = 0x02;
constexpr uint8_t kSigCommandReject = 0x01;
constexpr uint8_t kSigConnParamUpdateReq = 0x12;
constexpr uint8_t kSigConnParamUpdateRsp = 0x13;

}  // namespace

std::string_view ControllerProfileName(ControllerProfile p) {
  return p == ControllerProfile::kSdc ? "sdc" : "zephyr-ll";
}

Result<ControllerProfile> ParseControllerProfile(std::string_view name) {
  if (name == "sdc") return ControllerProfile::kSdc;
  if (name == "zephyr-ll") return ControllerProfile::kZephyrLl;
  return Error::Format(Errc::kInvalidArgument, "controller '%.*s' is not sdc or zephyr-ll",
                       static_cast<int>(std::min<size_t>(name.size(), 40)), name.data());
}

ControllerConfig WithProfile(ControllerConfig c, ControllerProfile p) {
  if (p == ControllerProfile::kSdc) {
    c.max_event_length = std::chrono::microseconds(7500);
    c.latency_mode = LatencyMode::kStrict;
    c.reserves_skipped_events = false;
  } else {
    c.max_event_length = sim::Duration(0);
    c.latency_mode = LatencyMode::kCancelledOnReceive;
    c.reserves_skipped_events = true;
  }
  return c;
}

sim::Duration EventLimit(const LinkConfig& config) {
  const sim::Duration interval = config.params.Interval();
  sim::Duration limit = interval - kTifs;
  for (const ControllerConfig* c : {&config.central, &config.peripheral}) {
    limit = std::min(limit, c->max_event_length > sim::Duration(0)
                                ? c->max_event_length
                                : interval - kLlEventEndMargin - kTifs);
  }
  return limit;
}

Status ValidateConnParams(const ConnParams& p) {
  if (p.interval < 6 || p.interval > 3200) {
    return Error::Format(Errc::kInvalidArgument, "connection interval %u outside 6..3200 (1.25 ms)",
                         p.interval);
  }
  if (p.latency > 499) {
    return Error::Format(Errc::kInvalidArgument, "peripheral latency %u above 499", p.latency);
  }
  if (p.timeout < 10 || p.timeout > 3200) {
    return Error::Format(Errc::kInvalidArgument, "supervision timeout %u outside 10..3200 (10 ms)",
                         p.timeout);
  }
  // Timeout (10 ms units) must exceed (1 + latency) * interval (1.25 ms units) * 2.
  const uint64_t timeout_us = uint64_t{p.timeout} * 10000;
  const uint64_t min_us = (1 + uint64_t{p.latency}) * p.interval * 1250 * 2;
  if (timeout_us <= min_us) {
    return Error::Format(Errc::kInvalidArgument,
                         "supervision timeout %u ms not above (1 + latency %u) * interval %.2f ms "
                         "* 2 = %.1f ms",
                         p.timeout * 10, p.latency, p.interval * 1.25,
                         static_cast<double>(min_us) / 1000.0);
  }
  return Ok();
}

Link::Link(sim::Scheduler& scheduler, LinkConfig config)
    : scheduler_(scheduler), config_(std::move(config)), alive_(std::make_shared<bool>(true)) {
  central_.cfg = config_.central;
  peripheral_.cfg = config_.peripheral;
}

Link::~Link() {
  *alive_ = false;
  scheduler_.Cancel(prepare_task_);
  scheduler_.Cancel(event_task_);
  scheduler_.Cancel(job_task_);
}

Status Link::Connect() {
  if (connected_) return Error(Errc::kBadState, "link already connected");
  SMPKIT_TRY(ValidateConnParams(config_.params));
  if (config_.data_length < kMinDataLength || config_.data_length > kMaxDataLength) {
    return Error::Format(Errc::kInvalidArgument, "LL data length %u outside 27..251",
                         config_.data_length);
  }
  if (config_.central.acl_tx_buffers == 0 || config_.peripheral.acl_tx_buffers == 0) {
    return Error(Errc::kInvalidArgument, "ACL TX buffer count must be at least 1");
  }
  const sim::Duration pair =
      PduAirTime(config_.phy, config_.data_length, config_.encrypted) * 2 + kTifs;
  if (pair + kTifs > config_.params.Interval()) {
    return Error::Format(Errc::kInvalidArgument,
                         "a %u-octet PDU exchange on %s takes %lld us, longer than the %.2f ms "
                         "interval",
                         config_.data_length, std::string(PhyName(config_.phy)).c_str(),
                         static_cast<long long>(pair.count() / 1000),
                         config_.params.interval * 1.25);
  }
  connected_ = true;
  counter_ = 0;
  // So that event 0 is attended whatever the latency.
  last_attended_ = static_cast<uint16_t>(0 - (config_.params.latency + 1));
  listen_next_ = false;
  missed_last_ = false;
  central_.last_rx = peripheral_.last_rx = scheduler_.Now();
  ScheduleEvent(scheduler_.Now() + config_.first_anchor_delay);
  return Ok();
}

Status Link::SendL2cap(Role from, uint16_t cid, ConstByteSpan payload) {
  if (!connected_) return Error(Errc::kBadState, "not connected");
  if (payload.size() > 0xFFFF) {
    return Error::Format(Errc::kInvalidArgument, "L2CAP payload of %zu octets above 65535",
                         payload.size());
  }
  std::vector<uint8_t> pdu(4 + payload.size());
  StoreLe16(&pdu[0], static_cast<uint16_t>(payload.size()));
  StoreLe16(&pdu[2], cid);
  std::copy(payload.begin(), payload.end(), pdu.begin() + 4);
  Side& s = side(from);
  s.host_queue.push_back(std::move(pdu));
  Refill(s, scheduler_.Now());
  EnsureForeground();
  return Ok();
}

void Link::SetChannelHandler(Role at, uint16_t cid, ChannelHandler handler) {
  side(at).handlers[cid] = std::move(handler);
}

LinkStats Link::stats() const {
  LinkStats s = stats_;
  if (radio_busy_ > 0) s.radio_guarded += scheduler_.Now() - radio_busy_since_;
  if (job_task_ != sim::kNoTask) s.processing += scheduler_.Now() - job_resumed_at_;
  return s;
}

size_t Link::QueuedOctets(Role r) const {
  const Side& s = side(r);
  size_t n = 0;
  for (const auto& q : s.host_queue) n += q.size();
  n -= s.host_offset;
  for (const auto& b : s.buffers) n += b.bytes.size();
  return n;
}

void Link::Refill(Side& s, sim::Time at) {
  while (s.buffers.size() < s.cfg.acl_tx_buffers && !s.host_queue.empty()) {
    const std::vector<uint8_t>& sdu = s.host_queue.front();
    const size_t len = std::min<size_t>(config_.data_length, sdu.size() - s.host_offset);
    Pdu pdu;
    pdu.start = s.host_offset == 0;
    pdu.bytes.assign(sdu.begin() + static_cast<ptrdiff_t>(s.host_offset),
                     sdu.begin() + static_cast<ptrdiff_t>(s.host_offset + len));
    pdu.available_at = at;
    s.buffers.push_back(std::move(pdu));
    s.host_offset += len;
    if (s.host_offset == sdu.size()) {
      s.host_queue.pop_front();
      s.host_offset = 0;
    }
  }
}

bool Link::HasTx(const Side& s) const {
  return !s.control.empty() || !s.buffers.empty() || !s.host_queue.empty();
}

const Link::Pdu* Link::PeekTx(Side& s, sim::Time at, size_t data_sent) const {
  if (!s.control.empty()) return &s.control.front();
  if (s.buffers.empty() || s.buffers.front().available_at > at) return nullptr;
  if (s.cfg.max_pdus_per_event != 0 && data_sent >= s.cfg.max_pdus_per_event) return nullptr;
  return &s.buffers.front();
}

bool Link::AnythingPending() const {
  // Paused device work waits for the end of a radio event, so it keeps events foreground too.
  return HasTx(central_) || HasTx(peripheral_) || update_.has_value() || !jobs_.empty();
}

void Link::ScheduleEvent(sim::Time anchor) {
  next_anchor_ = anchor;
  prepare_task_ = scheduler_.PostAt(
      anchor - config_.radio_guard_before, [this] { Prepare(); }, sim::TaskKind::kBackground);
  event_task_foreground_ = AnythingPending();
  event_task_ = scheduler_.PostAt(
      anchor, [this] { RunEvent(); },
      event_task_foreground_ ? sim::TaskKind::kForeground : sim::TaskKind::kBackground);
}

void Link::EnsureForeground() {
  // Queued traffic must keep RunUntilIdle() going until it has been carried.
  if (!connected_ || event_task_foreground_ || !scheduler_.IsPending(event_task_)) return;
  scheduler_.Cancel(event_task_);
  event_task_foreground_ = true;
  event_task_ = scheduler_.PostAt(next_anchor_, [this] { RunEvent(); });
}

void Link::Prepare() {
  prepare_task_ = sim::kNoTask;
  const ConnParams& p = config_.params;
  const uint16_t n = counter_;
  const bool must_listen = static_cast<uint16_t>(n - last_attended_) >= p.latency + 1;
  const bool instant = update_ && update_->delivered && n == update_->instant;
  const bool cancelled =
      peripheral_.cfg.latency_mode == LatencyMode::kCancelledOnReceive && listen_next_;
  attend_ =
      p.latency == 0 || must_listen || HasTx(peripheral_) || missed_last_ || instant || cancelled;
  event_busy_ = attend_ || peripheral_.cfg.reserves_skipped_events;
  if (event_busy_) RadioBusy();
}

void Link::RunEvent() {
  event_task_ = sim::kNoTask;
  const sim::Time anchor = scheduler_.Now();
  const uint16_t n = counter_;
  if (prepare_task_ != sim::kNoTask) {  // prepare falls before time 0 or was skipped
    scheduler_.Cancel(prepare_task_);
    Prepare();
  }
  if (update_ && n == update_->instant) {
    if (!update_->delivered) {
      if (event_busy_) RadioIdle();
      TearDown(kReasonInstantPassed);
      return;
    }
    config_.params = update_->params;
    update_.reset();
    const ConnParams p = config_.params;
    auto alive = alive_;
    scheduler_.Post([this, alive, p] {
      if (*alive && on_params_updated_) on_params_updated_(p);
    });
  }
  const ConnParams& params = config_.params;
  ++stats_.events;
  // An event that ran up to this anchor ends here; its remaining steps are stale.
  if (ev_.open) EndEvent();
  ++event_gen_;
  // Supervision: each side must have heard the other within the timeout.
  const sim::Duration timeout = params.Timeout();
  if (anchor - central_.last_rx >= timeout || anchor - peripheral_.last_rx >= timeout) {
    TearDown(kReasonConnectionTimeout);
    return;
  }

  if (!attend_) {
    EventRecord rec;
    rec.counter = n;
    rec.anchor = anchor;
    const Pdu* c = PeekTx(central_, anchor, 0);
    rec.end = anchor + Air(c ? c->bytes.size() : 0);  // sent into the void, retried next event
    if (event_busy_) {  // the skipped event's slot was reserved all the same (as an empty
                        // event's: the capacity's k = 0 option)
      auto alive = alive_;
      const sim::Time slot_end = anchor + Air(0) + kTifs + Air(0);
      scheduler_.PostAt(slot_end + config_.radio_guard_after, [this, alive] {
        if (*alive) RadioIdle();
      });
    }
    if (observer_) observer_(rec);
  } else {
    ++stats_.peripheral_attended;
    last_attended_ = n;
    // The event runs exchange by exchange in virtual time, so that data queued while it runs
    // (a device's answer, the central's next request) goes in it while either side's last
    // PDU said it had more data (MD).
    ev_ = Ongoing{};
    ev_.open = true;
    ev_.rec.counter = n;
    ev_.rec.anchor = anchor;
    ev_.rec.peripheral_attended = true;
    ev_.limit = EventLimit(config_);
    ev_.end = anchor;
    listen_next_ = false;
    missed_last_ = true;
    ExchangeStart(event_gen_);
  }

  if (!connected_) return;
  counter_ = static_cast<uint16_t>(n + 1);
  ScheduleEvent(anchor + params.Interval());
}

sim::Duration Link::Air(size_t len) const {
  return PduAirTime(config_.phy, len, config_.encrypted);
}

bool Link::Lost() {
  if (channel_blocked_) return true;
  return config_.packet_error_rate > 0 && scheduler_.UniformReal() < config_.packet_error_rate;
}

void Link::ExchangeStart(uint64_t gen) {
  if (gen != event_gen_ || !connected_) return;
  const sim::Time t = scheduler_.Now();
  const Pdu* c = PeekTx(central_, t, ev_.c_sent);
  const size_t c_len = c ? c->bytes.size() : 0;
  const sim::Time c_end = t + Air(c_len);
  // The central starts an exchange only if it fits the event with at least an empty reply
  // (the first always goes).
  if (!ev_.first && c_end + kTifs + Air(0) > ev_.rec.anchor + ev_.limit) return EndEvent();
  if (Lost()) {  // the peripheral does not hear the central: no reply, event over
    ++stats_.lost_pdus;
    ev_.rec.lost = true;
    ev_.end = c_end;
    return EndEvent();
  }
  missed_last_ = false;
  peripheral_.last_rx = c_end;
  ev_.c_more = false;
  ev_.c_refill = false;
  if (c) ev_.c_more = SendHead(Role::kCentral, t, c_end, &ev_.c_refill);
  auto alive = alive_;
  scheduler_.PostAt(c_end + kTifs, [this, alive, gen] {
    if (*alive) ExchangeReply(gen);
  });
}

void Link::ExchangeReply(uint64_t gen) {
  if (gen != event_gen_ || !connected_) return;
  const sim::Time p_start = scheduler_.Now();
  const Pdu* p = PeekTx(peripheral_, p_start, ev_.p_sent);
  // A data PDU that would overrun the event waits; the reply is empty.
  if (p && !p->control && !ev_.first &&
      p_start + Air(p->bytes.size()) > ev_.rec.anchor + ev_.limit) {
    p = nullptr;
  }
  const sim::Time pair_end = p_start + Air(p ? p->bytes.size() : 0);
  if (ev_.c_refill) Refill(central_, pair_end + central_.cfg.host_refill_delay);
  ev_.end = pair_end;
  if (Lost()) {  // the central misses the reply and closes the event
    ++stats_.lost_pdus;
    ev_.rec.lost = true;
    return EndEvent();
  }
  central_.last_rx = pair_end;
  bool p_more = false;
  if (p) {
    bool data = false;
    p_more = SendHead(Role::kPeripheral, p_start, pair_end, &data);
    if (data) Refill(peripheral_, pair_end + peripheral_.cfg.host_refill_delay);
  }
  ev_.first = false;
  // The event goes on while either side's PDU said it had more (MD).
  if (!ev_.c_more && !p_more) return EndEvent();
  auto alive = alive_;
  scheduler_.PostAt(pair_end + kTifs, [this, alive, gen] {
    if (*alive) ExchangeStart(gen);
  });
}

bool Link::SendHead(Role from, sim::Time now, sim::Time arrives, bool* data) {
  const bool central = from == Role::kCentral;
  Side& s = side(from);
  const bool control = !s.control.empty();  // PeekTx's order: control PDUs first
  Pdu pdu = std::move(control ? s.control.front() : s.buffers.front());
  control ? s.control.pop_front() : s.buffers.pop_front();
  size_t& sent = central ? ev_.c_sent : ev_.p_sent;
  if (!control) {
    ++sent;
    ++(central ? stats_.central_data_pdus : stats_.peripheral_data_pdus);
    ++(central ? ev_.rec.central_data_pdus : ev_.rec.peripheral_data_pdus);
  }
  *data = !control;
  listen_next_ = true;
  auto alive = alive_;
  const Role to = central ? Role::kPeripheral : Role::kCentral;
  scheduler_.PostAt(arrives, [this, alive, to, pdu = std::move(pdu)]() mutable {
    if (*alive) Deliver(to, std::move(pdu));
  });
  // MD: the side has another PDU ready as this one leaves.
  return PeekTx(s, now, sent) != nullptr;
}

void Link::EndEvent() {
  ev_.open = false;
  ev_.rec.end = ev_.end;
  auto alive = alive_;
  scheduler_.PostAt(ev_.end + config_.radio_guard_after, [this, alive] {
    if (*alive) RadioIdle();
  });
  if (observer_) observer_(ev_.rec);
}

void Link::Deliver(Role to, Pdu pdu) {
  if (!connected_) return;
  if (pdu.control) {
    OnControl(to, pdu.bytes);
    return;
  }
  Side& s = side(to);
  if (pdu.start) {
    if (pdu.bytes.size() < 4) return;  // cannot happen with data length >= 27
    s.rx = std::move(pdu.bytes);
    s.rx_expected = 4 + size_t{LoadLe16(&s.rx[0])};
  } else {
    if (s.rx.empty()) return;  // continuation without a start: dropped
    s.rx.insert(s.rx.end(), pdu.bytes.begin(), pdu.bytes.end());
  }
  if (s.rx.size() < s.rx_expected) return;
  std::vector<uint8_t> sdu = std::move(s.rx);
  s.rx.clear();
  const uint16_t cid = LoadLe16(&sdu[2]);
  ConstByteSpan payload(sdu.data() + 4, s.rx_expected - 4);
  if (cid == kL2capSignalingCid) {
    OnSignaling(to, payload);
    return;
  }
  auto it = s.handlers.find(cid);
  if (it != s.handlers.end() && it->second) it->second(payload);
}

void Link::OnControl(Role to, const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return;
  if (bytes[0] == kLlConnectionUpdateInd && to == Role::kPeripheral && bytes.size() == 12 &&
      update_) {
    update_->delivered = true;
  } else if (bytes[0] == kLlTerminateInd && bytes.size() == 2) {
    TearDown(bytes[1]);
  }
}

void Link::OnSignaling(Role at, ConstByteSpan payload) {
  ByteReader r(payload, Endian::kLittle);
  auto code = r.U8();
  auto id = r.U8();
  auto len = r.U16();
  if (!code.ok() || !id.ok() || !len.ok() || r.remaining() < *len) return;
  if (*code == kSigConnParamUpdateReq && at == Role::kCentral && *len == 8) {
    ConnParamRequest req;
    req.interval_min = r.U16().value_or(0);
    req.interval_max = r.U16().value_or(0);
    req.latency = r.U16().value_or(0);
    req.timeout = r.U16().value_or(0);
    std::optional<ConnParams> chosen;
    if (central_policy_) {
      chosen = central_policy_(req);
    } else {
      chosen = ConnParams{req.interval_min, req.latency, req.timeout};
    }
    bool accept = chosen.has_value() && ValidateConnParams(*chosen).ok() && !update_;
    uint8_t rsp[6] = {kSigConnParamUpdateRsp, *id, 2, 0, 0, 0};
    rsp[4] = accept ? 0 : 1;  // result: 0 accepted, 1 rejected
    (void)SendL2cap(Role::kCentral, kL2capSignalingCid, rsp);
    if (accept) QueueConnUpdate(*chosen);
  } else if (*code == kSigConnParamUpdateRsp && at == Role::kPeripheral && *len == 2) {
    const uint16_t result = r.U16().value_or(1);
    auto it = signal_waiters_.find(*id);
    if (it != signal_waiters_.end()) {
      auto done = std::move(it->second);
      signal_waiters_.erase(it);
      if (done) done(result == 0);
    }
  } else if (*code != kSigCommandReject) {
    uint8_t rej[6] = {kSigCommandReject, *id, 2, 0, 0, 0};  // reason 0: not understood
    (void)SendL2cap(at, kL2capSignalingCid, rej);
  }
}

Status Link::RequestConnParamUpdate(const ConnParamRequest& request,
                                    std::function<void(bool)> done) {
  if (!connected_) return Error(Errc::kBadState, "not connected");
  if (request.interval_min > request.interval_max) {
    return Error::Format(Errc::kInvalidArgument, "interval min %u above max %u",
                         request.interval_min, request.interval_max);
  }
  const uint8_t id = next_signal_id_++;
  if (next_signal_id_ == 0) next_signal_id_ = 1;  // identifier 0 is invalid
  uint8_t req[12];
  ByteWriter w(req, Endian::kLittle);
  (void)w.U8(kSigConnParamUpdateReq);
  (void)w.U8(id);
  (void)w.U16(8);
  (void)w.U16(request.interval_min);
  (void)w.U16(request.interval_max);
  (void)w.U16(request.latency);
  (void)w.U16(request.timeout);
  signal_waiters_[id] = std::move(done);
  return SendL2cap(Role::kPeripheral, kL2capSignalingCid, req);
}

Status Link::UpdateParams(const ConnParams& params) {
  if (!connected_) return Error(Errc::kBadState, "not connected");
  SMPKIT_TRY(ValidateConnParams(params));
  if (update_) return Error(Errc::kBusy, "a connection update is already in progress");
  QueueConnUpdate(params);
  return Ok();
}

void Link::QueueConnUpdate(const ConnParams& p) {
  // Like Zephyr's central: instant = event counter + latency + 6, so that a peripheral
  // using its latency still hears the update in time.
  const auto instant =
      static_cast<uint16_t>(counter_ + config_.params.latency + config_.instant_offset);
  update_ = PendingUpdate{p, instant, false};
  Pdu pdu;
  pdu.control = true;
  pdu.bytes.resize(12);
  ByteWriter w(pdu.bytes, Endian::kLittle);
  (void)w.U8(kLlConnectionUpdateInd);
  (void)w.U8(1);   // WinSize
  (void)w.U16(0);  // WinOffset
  (void)w.U16(p.interval);
  (void)w.U16(p.latency);
  (void)w.U16(p.timeout);
  (void)w.U16(instant);
  central_.control.push_back(std::move(pdu));
  EnsureForeground();
}

Status Link::Disconnect(Role by, uint8_t reason) {
  if (!connected_) return Error(Errc::kBadState, "not connected");
  Pdu pdu;
  pdu.control = true;
  pdu.bytes = {kLlTerminateInd, reason};
  side(by).control.push_back(std::move(pdu));
  EnsureForeground();
  return Ok();
}

void Link::TearDown(uint8_t reason) {
  if (!connected_) return;
  connected_ = false;
  ++event_gen_;  // an event in progress stops
  ev_.open = false;
  scheduler_.Cancel(prepare_task_);
  scheduler_.Cancel(event_task_);
  prepare_task_ = event_task_ = sim::kNoTask;
  for (Side* s : {&central_, &peripheral_}) {
    s->host_queue.clear();
    s->host_offset = 0;
    s->buffers.clear();
    s->control.clear();
    s->rx.clear();
  }
  update_.reset();
  signal_waiters_.clear();
  auto alive = alive_;
  // Device processing no longer waits for radio events.
  if (radio_busy_ > 0) stats_.radio_guarded += scheduler_.Now() - radio_busy_since_;
  radio_busy_ = 0;
  if (!jobs_.empty() && job_task_ == sim::kNoTask) StartJob();
  scheduler_.Post([this, alive, reason] {
    if (!*alive) return;
    for (auto& cb : on_disconnected_) cb(reason);
  });
}

void Link::RunBetweenRadioEvents(sim::Duration work, std::function<void()> done,
                                 sim::Duration step) {
  jobs_.push_back(Job{work, std::move(done), step});
  if (jobs_.size() == 1 && (radio_busy_ == 0 || !connected_)) StartJob();
  EnsureForeground();
}

void Link::StartJob() {
  job_resumed_at_ = scheduler_.Now();
  auto alive = alive_;
  const Job& job = jobs_.front();
  if (job.step > sim::Duration(0) && job.remaining > sim::Duration(0) && connected_ &&
      !config_.processing_parallel_to_radio) {
    const sim::Duration run = std::min(job.remaining, job.step);
    const sim::Time guard = next_anchor_ - config_.radio_guard_before;
    if (scheduler_.Now() + run > guard) {
      // The slice does not fit before the next event: try again after it (RadioIdle starts
      // it sooner if the peripheral attends).
      job_task_ = scheduler_.PostAt(next_anchor_ + config_.radio_guard_after, [this, alive] {
        if (!*alive) return;
        job_task_ = sim::kNoTask;
        if (radio_busy_ == 0 && !jobs_.empty()) StartJob();
      });
      job_waiting_ = true;
      return;
    }
    job_waiting_ = false;
    job_task_ = scheduler_.PostAfter(run, [this, alive, run] {
      if (*alive) FinishStep(run);
    });
    return;
  }
  job_task_ = scheduler_.PostAfter(jobs_.front().remaining, [this, alive] {
    if (*alive) FinishJob();
  });
}

void Link::FinishJob() {
  job_task_ = sim::kNoTask;
  stats_.processing += scheduler_.Now() - job_resumed_at_;
  auto done = std::move(jobs_.front().done);
  jobs_.pop_front();
  if (!jobs_.empty() && (radio_busy_ == 0 || !connected_)) StartJob();
  if (done) done();
}

void Link::FinishStep(sim::Duration ran) {
  job_task_ = sim::kNoTask;
  stats_.processing += ran;
  jobs_.front().remaining -= ran;
  if (jobs_.front().remaining <= sim::Duration(0)) {
    jobs_.front().remaining = sim::Duration(0);
    job_resumed_at_ = scheduler_.Now();
    FinishJob();
    return;
  }
  if (radio_busy_ == 0 || !connected_) StartJob();
}

void Link::RadioBusy() {
  if (config_.processing_parallel_to_radio) return;  // nRF5340: flash on the other core
  if (radio_busy_ == 0) radio_busy_since_ = scheduler_.Now();
  if (radio_busy_ == 0 && job_task_ != sim::kNoTask && job_waiting_) {
    scheduler_.Cancel(job_task_);  // a slice waiting for this event: RadioIdle restarts it
    job_task_ = sim::kNoTask;
    job_waiting_ = false;
  }
  if (radio_busy_++ == 0 && job_task_ != sim::kNoTask) {
    const sim::Duration done = scheduler_.Now() - job_resumed_at_;
    jobs_.front().remaining -= done;
    stats_.processing += done;
    scheduler_.Cancel(job_task_);
    job_task_ = sim::kNoTask;
  }
}

void Link::RadioIdle() {
  if (config_.processing_parallel_to_radio) return;
  if (radio_busy_ > 0 && --radio_busy_ == 0) {
    stats_.radio_guarded += scheduler_.Now() - radio_busy_since_;
  }
  if (radio_busy_ == 0 && !jobs_.empty() && job_task_ == sim::kNoTask) StartJob();
}

}  // namespace smpkit::ble
