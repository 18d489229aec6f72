#pragma once
// A BLE connection model on virtual time: connection events on the interval grid, peripheral
// latency (two controller behaviours), PDU air time per PHY and data length, ACL TX buffer
// counts with host refill, connection event length, the L2CAP connection-parameter update
// procedure with its link-layer instant, supervision timeout and link loss.
//
// Simplifications (documented, deliberate):
// - An attended event runs one exchange at a time (the central's PDU, T_IFS, the
//   peripheral's, T_IFS) and goes on while either side's last PDU had MD set (another PDU
//   ready in its controller as it left). Data queued while it runs (a device's answer, the
//   central's next request) goes in it if the event is still going; once both sides sent
//   MD = 0 the event closes and new data waits for the next anchor. A data PDU that would
//   run past the event's limit waits too.
// - A lost PDU ends the event and is retransmitted at the next attended event.
// - When a supervision timer expires, the whole link is torn down at that moment.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/ble/phy.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::ble {

enum class Role : uint8_t { kCentral, kPeripheral };

// Connection parameters in HCI units.
struct ConnParams {
  uint16_t interval = 6;   // 1.25 ms units, 6..3200
  uint16_t latency = 0;    // peripheral latency in events, 0..499
  uint16_t timeout = 400;  // supervision timeout, 10 ms units, 10..3200

  sim::Duration Interval() const { return std::chrono::microseconds(int64_t{interval} * 1250); }
  sim::Duration Timeout() const { return std::chrono::milliseconds(int64_t{timeout} * 10); }
  bool operator==(const ConnParams&) const = default;
};

// Checks the Core spec ranges and that the timeout exceeds (1 + latency) * interval * 2.
// Errors: kInvalidArgument naming the offending field.
Status ValidateConnParams(const ConnParams& p);

// What a peripheral asks for in an L2CAP Connection Parameter Update Request.
struct ConnParamRequest {
  uint16_t interval_min = 6;
  uint16_t interval_max = 6;
  uint16_t latency = 0;
  uint16_t timeout = 400;
};

// How a peripheral's controller applies latency while it has nothing to send.
enum class LatencyMode : uint8_t {
  // Nordic SoftDevice Controller (nRF Desktop's default): listens only every latency+1
  // events unless it has something to send; the central's data waits for that event.
  kStrict,
  // Zephyr's open link layer: after any event that carried data, the peripheral listens
  // again at the next event, so latency only costs the first exchange after an idle period.
  kCancelledOnReceive,
};

// The link layers smpkit models (the peripheral's controller decides how latency and event
// length behave; the central's caps the event length too):
// - kSdc: Nordic's SoftDevice Controller as nRF Desktop uses it (CONFIG_BT_LL_SOFTDEVICE):
//   connection events of at most CONFIG_BT_CTLR_SDC_MAX_CONN_EVENT_LEN_DEFAULT (7.5 ms);
//   strict peripheral latency (it listens only every latency+1 events unless it has data).
//   Source: nrfxlib softdevice_controller docs (event length, "peripheral latency").
// - kZephyrLl: Zephyr's open-source link layer (CONFIG_BT_LL_SW_SPLIT): the event goes on
//   while either side has data (MD), until the next event's start overhead
//   (EVENT_OVERHEAD_START_US 300 us + EVENT_OVERHEAD_END_US 40 us before the next anchor,
//   lll_vendor.h for nRF52); the peripheral listens at the next event as soon as data flowed.
//   Source: zephyr subsys/bluetooth/controller/ll_sw (lll_conn.c, lll_vendor.h);
//   ble-calibration.md was measured with it.
enum class ControllerProfile : uint8_t { kSdc, kZephyrLl };
std::string_view ControllerProfileName(ControllerProfile p);  // "sdc", "zephyr-ll"
// Parses "sdc" / "zephyr-ll". Errors: kInvalidArgument naming the value.
Result<ControllerProfile> ParseControllerProfile(std::string_view name);

struct ControllerConfig {
  size_t acl_tx_buffers = 3;  // controller ACL TX buffers (one LL PDU each)
  // From a buffer being freed (its PDU acknowledged) to the host's next fragment in it.
  sim::Duration host_refill_delay = std::chrono::microseconds(500);
  // Longest connection event this controller runs (SoftDevice default 7.5 ms); 0: as long as
  // the interval allows (up to kLlEventEndMargin before the next anchor).
  sim::Duration max_event_length = std::chrono::microseconds(7500);
  size_t max_pdus_per_event = 0;  // data PDUs this side sends per event; 0 = no limit
  LatencyMode latency_mode = LatencyMode::kStrict;  // used by the peripheral only
  // Peripheral: device work pauses around every scheduled event, skipped (latency) or not.
  // Zephyr's LL keeps each event's ticker slot reserved and decides to skip it only at
  // prepare, so the flash driver's timeslots never get a skipped event's time (a latency of
  // 99 then costs only the first exchange, as ble-calibration.md measured). The SoftDevice
  // Controller grants skipped events to MPSL timeslots.
  bool reserves_skipped_events = false;
};

// Zephyr LL: EVENT_OVERHEAD_START_US + EVENT_OVERHEAD_END_US (nRF52 lll_vendor.h).
inline constexpr sim::Duration kLlEventEndMargin = std::chrono::microseconds(340);

// The profile's event length and latency behaviour.
ControllerConfig WithProfile(ControllerConfig c, ControllerProfile p);

struct LinkConfig {
  ConnParams params;
  Phy phy = Phy::k1M;
  uint16_t data_length = kMinDataLength;  // LL max payload octets (27..251), both directions
  bool encrypted = false;                 // adds a 4-octet MIC to non-empty PDUs
  ControllerConfig central;
  ControllerConfig peripheral;
  // The central sets a parameter update's instant this many events (plus the peripheral
  // latency) after the event in which it queues LL_CONNECTION_UPDATE_IND.
  uint16_t instant_offset = 6;
  double packet_error_rate = 0.0;  // per PDU, drawn from the scheduler's seeded RNG
  // Peripheral processing (flash writes) cannot run from this long before an attended
  // radio event until this long after it (flash/radio synchronisation, event prepare).
  sim::Duration radio_guard_before = std::chrono::microseconds(2000);
  sim::Duration radio_guard_after = std::chrono::microseconds(700);
  // nRF5340: the radio runs on the network core and the application core writes flash, so
  // device work is not paused by radio events (no guards, no sharing term).
  bool processing_parallel_to_radio = false;
  sim::Duration first_anchor_delay = std::chrono::microseconds(1250);
};

// HCI disconnect reasons used by the model.
inline constexpr uint8_t kReasonConnectionTimeout = 0x08;
inline constexpr uint8_t kReasonRemoteUserTerminated = 0x13;
inline constexpr uint8_t kReasonLocalHostTerminated = 0x16;
inline constexpr uint8_t kReasonInstantPassed = 0x28;

inline constexpr uint16_t kL2capAttCid = 0x0004;
inline constexpr uint16_t kL2capSignalingCid = 0x0005;

struct EventRecord {
  uint16_t counter = 0;
  sim::Time anchor{0};
  sim::Time end{0};
  bool peripheral_attended = false;
  size_t central_data_pdus = 0;     // non-empty PDUs delivered central -> peripheral
  size_t peripheral_data_pdus = 0;  // non-empty PDUs delivered peripheral -> central
  bool lost = false;                // a PDU was lost and ended the event
};

struct LinkStats {
  uint64_t events = 0;
  uint64_t peripheral_attended = 0;
  uint64_t central_data_pdus = 0;
  uint64_t peripheral_data_pdus = 0;
  uint64_t lost_pdus = 0;
  // Peripheral time budget: radio events with their guard times (device processing paused),
  // and device processing done between them.
  sim::Duration radio_guarded{0};
  sim::Duration processing{0};
};

// The longest an event can run: min(each side's max_event_length, or the interval less
// kLlEventEndMargin where it is 0; interval - T_IFS).
sim::Duration EventLimit(const LinkConfig& config);

class Link {
 public:
  using ChannelHandler = std::function<void(ConstByteSpan payload)>;

  Link(sim::Scheduler& scheduler, LinkConfig config);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Starts connection events; the first anchor is config.first_anchor_delay from now.
  // Errors: kInvalidArgument for bad parameters, data length, buffers; kBadState if already
  // connected.
  Status Connect();
  bool connected() const { return connected_; }

  // Queues an L2CAP PDU (basic header added here) on `cid` from `from`. Errors: kBadState when
  // not connected; kInvalidArgument for a payload above 65535 octets.
  Status SendL2cap(Role from, uint16_t cid, ConstByteSpan payload);
  // Receives complete L2CAP payloads for `cid` arriving at `at` (the signalling channel is
  // handled by the link itself).
  void SetChannelHandler(Role at, uint16_t cid, ChannelHandler handler);

  // Peripheral: sends an L2CAP Connection Parameter Update Request. `done(accepted)` runs when
  // the central's response arrives. Errors: kBadState when not connected; kInvalidArgument
  // for an inconsistent range.
  Status RequestConnParamUpdate(const ConnParamRequest& request,
                                std::function<void(bool accepted)> done = {});
  // Central host policy for such requests: returns the parameters to use, or nullopt to
  // reject. Default: accept with interval_min.
  using CentralPolicy = std::function<std::optional<ConnParams>(const ConnParamRequest&)>;
  void SetCentralPolicy(CentralPolicy policy) { central_policy_ = std::move(policy); }
  // Central: starts a link-layer connection update directly (as the central's host may).
  Status UpdateParams(const ConnParams& params);
  // Runs on both sides when new parameters take effect at the instant.
  void SetOnParamsUpdated(std::function<void(const ConnParams&)> cb) {
    on_params_updated_ = std::move(cb);
  }

  // Either side terminates the link; the peer learns it when LL_TERMINATE_IND is delivered.
  Status Disconnect(Role by, uint8_t reason = kReasonRemoteUserTerminated);
  // Listeners run (in order of registration) when the link goes down, with the HCI reason.
  void AddDisconnectListener(std::function<void(uint8_t reason)> cb) {
    on_disconnected_.push_back(std::move(cb));
  }

  // Link loss injection: while blocked no PDU gets through; the supervision timeout then
  // ends the link.
  void SetChannelBlocked(bool blocked) { channel_blocked_ = blocked; }
  void SetPacketErrorRate(double per) { config_.packet_error_rate = per; }

  // Peripheral device work (flash writes) that runs only outside its radio events (see
  // radio_guard_before/after). Jobs run one at a time in order; `done` runs when `work` of
  // processing time has been spent. With a `step` (a partial page erase), the work runs in
  // slices of that length, each started only when it ends before the next event's guard.
  void RunBetweenRadioEvents(sim::Duration work, std::function<void()> done,
                             sim::Duration step = sim::Duration(0));
  bool processing_busy() const { return !jobs_.empty(); }

  void SetEventObserver(std::function<void(const EventRecord&)> cb) { observer_ = std::move(cb); }

  const ConnParams& params() const { return config_.params; }
  const LinkConfig& config() const { return config_; }
  uint16_t event_counter() const { return counter_; }
  // Counters so far; the time budget includes a radio event or a job still under way.
  LinkStats stats() const;
  sim::Scheduler& scheduler() { return scheduler_; }
  // Octets queued for transmission by `side` (host queue plus controller buffers).
  size_t QueuedOctets(Role side) const;

 private:
  struct Pdu {
    bool control = false;
    bool start = false;  // LLID "start of L2CAP PDU"
    std::vector<uint8_t> bytes;
    sim::Time available_at{0};
  };
  struct Side {
    Role role;
    ControllerConfig cfg;
    std::deque<std::vector<uint8_t>> host_queue;  // L2CAP PDUs with basic header
    size_t host_offset = 0;                       // octets of front() already in buffers
    std::deque<Pdu> buffers;                      // controller ACL TX buffers
    std::deque<Pdu> control;                      // LL control PDUs (not buffer-limited)
    std::vector<uint8_t> rx;                      // L2CAP reassembly
    size_t rx_expected = 0;
    std::map<uint16_t, ChannelHandler> handlers;
    sim::Time last_rx{0};
  };
  struct PendingUpdate {
    ConnParams params;
    uint16_t instant = 0;
    bool delivered = false;  // the peripheral has received LL_CONNECTION_UPDATE_IND
  };
  struct Job {
    sim::Duration remaining;
    std::function<void()> done;
    sim::Duration step{0};
  };

  Side& side(Role r) { return r == Role::kCentral ? central_ : peripheral_; }
  const Side& side(Role r) const { return r == Role::kCentral ? central_ : peripheral_; }
  void Refill(Side& s, sim::Time at);
  bool HasTx(const Side& s) const;
  const Pdu* PeekTx(Side& s, sim::Time at, size_t data_sent) const;
  void ScheduleEvent(sim::Time anchor);
  void EnsureForeground();
  bool AnythingPending() const;
  void Prepare();
  void RunEvent();
  sim::Duration Air(size_t len) const;
  bool Lost();
  // An attended event, one exchange at a time: the central's PDU, then the peripheral's.
  void ExchangeStart(uint64_t gen);
  void ExchangeReply(uint64_t gen);
  // Sends `from`'s head PDU (the one PeekTx gave) at `now`, delivered at `arrives`; sets
  // `data` for a data PDU (it freed an ACL buffer). Returns its MD bit.
  bool SendHead(Role from, sim::Time now, sim::Time arrives, bool* data);
  void EndEvent();
  void Deliver(Role to, Pdu pdu);
  void OnControl(Role to, const std::vector<uint8_t>& bytes);
  void OnSignaling(Role at, ConstByteSpan payload);
  void QueueConnUpdate(const ConnParams& p);
  void CheckSupervision();
  void TearDown(uint8_t reason);
  void RadioBusy();
  void RadioIdle();
  void StartJob();
  void FinishJob();
  void FinishStep(sim::Duration ran);

  sim::Scheduler& scheduler_;
  LinkConfig config_;
  Side central_{Role::kCentral, {}, {}, 0, {}, {}, {}, 0, {}, sim::Time{0}};
  Side peripheral_{Role::kPeripheral, {}, {}, 0, {}, {}, {}, 0, {}, sim::Time{0}};
  bool connected_ = false;
  bool channel_blocked_ = false;
  uint16_t counter_ = 0;  // counter of the next (or current) event
  sim::Time next_anchor_{0};
  sim::TaskId prepare_task_ = sim::kNoTask;
  sim::TaskId event_task_ = sim::kNoTask;
  bool event_task_foreground_ = false;
  bool attend_ = true;  // peripheral attends the prepared event
  bool event_busy_ = false;  // the prepared event holds the device's radio time (RadioBusy)
  uint16_t last_attended_ = 0;
  bool listen_next_ = false;  // kCancelledOnReceive: data flowed in the last event
  bool missed_last_ = false;  // the last attended event received nothing valid
  struct Ongoing {
    EventRecord rec;
    sim::Duration limit{0};
    sim::Time end{0};
    size_t c_sent = 0;
    size_t p_sent = 0;
    bool open = false;      // started and not yet ended
    bool first = true;      // the first exchange goes whatever the limit
    bool c_more = false;    // MD of the central's last PDU
    bool c_refill = false;  // the central's last PDU freed an ACL buffer
  };
  Ongoing ev_;
  // Bumped at every event and when the link goes down: steps of an earlier event are stale.
  uint64_t event_gen_ = 0;
  std::optional<PendingUpdate> update_;
  uint8_t next_signal_id_ = 1;
  std::map<uint8_t, std::function<void(bool)>> signal_waiters_;
  CentralPolicy central_policy_;
  std::function<void(const ConnParams&)> on_params_updated_;
  std::vector<std::function<void(uint8_t)>> on_disconnected_;
  std::function<void(const EventRecord&)> observer_;
  std::optional<uint8_t> terminate_reason_;
  LinkStats stats_;
  // Processing between radio events.
  std::deque<Job> jobs_;
  int radio_busy_ = 0;
  sim::Time job_resumed_at_{0};
  sim::Time radio_busy_since_{0};
  sim::TaskId job_task_ = sim::kNoTask;
  bool job_waiting_ = false;  // job_task_ is a retry after the next event, not a slice
  std::shared_ptr<bool> alive_;
};

}  // namespace smpkit::ble
