#pragma once
// An SMP client session over a Link: sends requests, matches responses by sequence number
// (and group, command and response op), times requests out and retries them, and speaks SMP
// v2 with a fallback to v1 (smp-protocol.md §1.3, §1.4, §3, §9).
//
// Each transmission of a request gets a fresh sequence number; a response to any of them
// completes the request. Once a request completed (or was cancelled) its sequence numbers
// are retired: late and duplicate responses are dropped, never taken for another request.
// Several requests may be outstanding at once (pipelining); the session keeps no limit of
// its own, the caller (e.g. the uploader) chooses the window.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/client/link.h"
#include "smpkit/client/rtt.h"
#include "smpkit/smp/header.h"
#include "smpkit/smp/message.h"

namespace smpkit::client {

struct SessionConfig {
  // A request without its own timeout is retransmitted after the adaptive RTO (RttEstimator:
  // 1 s before the link was measured, then from the measured round trip; at most `timeout`,
  // doubling per attempt) and fails when it has had `retries` retransmissions and
  // `timeout * (retries + 1)` has passed: the patience of `retries + 1` waits of `timeout`,
  // with faster recovery from a lost packet.
  Duration timeout = std::chrono::seconds(3);
  int retries = 3;  // retransmissions after the first send, at least
  // Start with SMP v2 (header version 1). A server that answers with version 0, or with
  // rc 13 (TOO_NEW), or only answers a v1 retry, is then spoken to in v1.
  bool start_v2 = true;
  bool allow_v1_fallback = true;
};

// One request: the CBOR payload (a map) is encoded by the caller.
struct Request {
  uint8_t op = static_cast<uint8_t>(smp::Op::kRead);
  uint16_t group = 0;
  uint8_t id = 0;
  std::vector<uint8_t> payload = {0xa0};  // an empty map by default
  // A fixed wait per transmission (no adaptive RTO), for commands the device may take long
  // to answer (erase, the first upload chunk) and for callers that run their own timers.
  std::optional<Duration> timeout;
  std::optional<int> retries;  // overrides SessionConfig::retries
  // Feed this request's round trip to the RTT estimator (false for slow commands).
  bool sample_rtt = true;
  // Called before each retransmission (for congestion control).
  std::function<void()> on_retransmit;
};

// A response, decoded (both error shapes) and owning its payload.
struct Reply {
  smp::Header header;
  std::vector<uint8_t> payload;  // the CBOR map
  int32_t rc = 0;
  std::string reason;
  std::optional<smp::GroupError> err;
  bool ok() const { return rc == 0 && !err.has_value(); }
  // "image error 9 (NO_FREE_SLOT)" style text for a failed reply.
  std::string Describe() const;
};

// Human name of a command ("image upload", "os echo", "group 9 command 3").
std::string CommandName(uint16_t group, uint8_t id);

// Turns a failed reply into an Errc::kRemote error "<command>: <description>[: rsn]".
Status ReplyStatus(const Reply& reply);

struct SessionStats {
  uint64_t sent = 0;  // transmissions
  uint64_t retransmits = 0;
  uint64_t timeouts = 0;  // requests that failed for lack of an answer
  uint64_t received = 0;  // packets from the link
  uint64_t matched = 0;
  uint64_t dropped_stale = 0;  // late, duplicate or unknown sequence numbers
  uint64_t dropped_bad = 0;    // packets that do not parse as an SMP response
  uint64_t v1_fallbacks = 0;
};

// The session lowered its packet size because packets of `from` bytes did not get through
// (`reason`: "rc 9 (ECORRUPT)" from a device that truncated them, or "no answer").
struct MtuFallback {
  size_t from = 0;
  size_t to = 0;
  std::string reason;
};

// The sizes the session falls back to, largest first: one Ethernet frame over IPv4 and IPv6,
// the IPv6 minimum MTU less headers, then common SMP buffer sizes; the last is the floor.
inline constexpr size_t kFallbackLadder[] = {1472, 1452, 1232, 1024, 768, 512, 384, 256, 128};

class Session {
 public:
  using Callback = std::function<void(Result<Reply>)>;
  using RequestId = uint64_t;

  Session(Link& link, Executor& executor, SessionConfig config = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Sends `request`; `done` runs exactly once (from the executor's loop, never from inside
  // Submit) with the reply (successful or an SMP error reply) or an error:
  //   kTimeout   no answer after all retries ("no response to os echo after 4 attempts")
  //   kNoSpace   the frame exceeds what the link or the server's buffer can take
  //   kIo        the link failed to send
  //   kNotSupported  the server rejects both SMP versions (rc 12/13 both ways)
  RequestId Submit(Request request, Callback done);
  // Drops a pending request without calling its callback; false if it is not pending.
  bool Cancel(RequestId id);
  // Runs the executor until the request completes and returns its result.
  Result<Reply> Call(Request request);

  // The server's packet-buffer size when known (from os params); used to check frames.
  void set_server_buf_size(std::optional<size_t> size) { server_buf_size_ = size; }
  // Largest SMP packet (header included) the session can send in one request: the link's
  // limit, the server's buffer and any fallback.
  size_t MaxPacketSize() const;

  // Records that a request of `size` bytes got an answer (it fits the path).
  void NoteDelivered(size_t size) { proven_size_ = std::max(proven_size_, size); }
  size_t proven_packet_size() const { return proven_size_; }
  // Packets of `failed_size` bytes do not get through: caps the packet size at the next
  // smaller size of kFallbackLadder (and below what MaxPacketSize allows) and records it.
  // Returns the new limit. Errors: kNoSpace when no smaller size is left.
  Result<size_t> FallBackBelow(size_t failed_size, std::string reason);
  const std::vector<MtuFallback>& mtu_fallbacks() const { return fallbacks_; }

  const RttEstimator& rtt() const { return rtt_; }
  // The current retransmission timeout (the configured timeout until a round trip was
  // measured).
  Duration Rto() const { return rtt_.Rto(config_.timeout); }

  bool using_v2() const { return v2_; }
  // True once any response arrived (the device is reachable).
  bool heard_from_server() const { return heard_; }
  size_t pending() const { return pending_.size(); }
  const SessionStats& stats() const { return stats_; }
  const SessionConfig& config() const { return config_; }
  SessionConfig& mutable_config() { return config_; }
  Executor& executor() { return executor_; }
  Link& link() { return link_; }

  // Feeds one received packet (what the link's handler does); public for fuzzing.
  void OnPacket(ConstByteSpan packet);

 private:
  struct Pending {
    Request request;
    Callback done;
    int attempts = 0;
    bool v2 = true;
    bool v1_refused = false;    // rc 12 TOO_OLD to a v1 transmission
    bool v2_refused = false;    // rc 13 TOO_NEW to a v2 transmission
    std::vector<uint8_t> seqs;  // every sequence number used for this request
    std::vector<Time> sent;     // when each of them was sent
    Time first_sent{0};
    TimerId timer = kNoTimer;
  };

  void Transmit(RequestId id);
  void OnTimeout(RequestId id);
  void Finish(RequestId id, Result<Reply> result);
  uint8_t AllocateSeq();

  Link& link_;
  Executor& executor_;
  SessionConfig config_;
  bool v2_;
  bool heard_ = false;
  std::optional<size_t> server_buf_size_;
  size_t packet_cap_ = SIZE_MAX;
  size_t proven_size_ = 0;
  std::vector<MtuFallback> fallbacks_;
  RttEstimator rtt_;
  RequestId next_id_ = 1;
  uint8_t next_seq_ = 0;
  std::map<RequestId, Pending> pending_;
  std::map<uint8_t, RequestId> seq_owner_;
  SessionStats stats_;
  std::vector<uint8_t> frame_;
  // Set while the session is alive; timers and posted callbacks check it.
  std::shared_ptr<bool> alive_;
};

}  // namespace smpkit::client
