#pragma once
// SMP server dispatch (smp-protocol.md §1.3–1.6): a transport packet in, response frames out.
// Sans-I/O and allocation-free: groups are registered explicitly in a fixed-size registry,
// responses are encoded into a caller-provided buffer and handed to a sink.

#include <array>
#include <cstdint>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/smp/errors.h"
#include "smpkit/smp/header.h"

namespace smpkit::smp {

// What a command handler produced.
class Outcome {
 public:
  enum class Kind : uint8_t { kSuccess, kRc, kGroupError, kNoResponse };

  static Outcome Success() { return Outcome(Kind::kSuccess); }
  // An SMP-level error, answered as {"rc": n [, "rsn": reason]}; stops a multi-frame packet.
  static Outcome Rc(MgmtErr rc, const char* reason = nullptr) {
    Outcome o(Kind::kRc);
    o.rc_ = static_cast<int32_t>(rc);
    o.reason_ = reason;
    return o;
  }
  static Outcome RawRc(int32_t rc) {
    Outcome o(Kind::kRc);
    o.rc_ = rc;
    return o;
  }
  // A group error: v2 {"err": {"group": g, "rc": r}}, v1 {"rc": translated [, "rsn"]}.
  static Outcome GroupError(uint16_t group, uint16_t rc, const char* reason = nullptr) {
    Outcome o(Kind::kGroupError);
    o.group_ = group;
    o.group_rc_ = rc;
    o.reason_ = reason;
    return o;
  }
  static Outcome NoResponse() { return Outcome(Kind::kNoResponse); }
  // For v2 group errors: keep the entries the handler already wrote after the err map
  // (image upload hook: {"err": {...}, "off": n}).
  Outcome& KeepBody() {
    keep_body_ = true;
    return *this;
  }

  Kind kind() const { return kind_; }
  int32_t rc() const { return rc_; }
  uint16_t group() const { return group_; }
  uint16_t group_rc() const { return group_rc_; }
  const char* reason() const { return reason_; }
  bool keep_body() const { return keep_body_; }

 private:
  explicit Outcome(Kind kind) : kind_(kind) {}
  Kind kind_;
  bool keep_body_ = false;
  int32_t rc_ = 0;
  uint16_t group_ = 0;
  uint16_t group_rc_ = 0;
  const char* reason_ = nullptr;
};

struct Request {
  Header header;
  ConstByteSpan payload;
  uint8_t version() const { return header.version; }
  Op op() const { return static_cast<Op>(header.op); }
};

// A management group. Handlers append entries to the already-open top-level response map.
class Group {
 public:
  explicit Group(uint16_t id) : id_(id) {}
  virtual ~Group() = default;
  uint16_t id() const { return id_; }
  // Whether (command, op) has a handler; false -> rc 8 (ENOTSUP).
  virtual bool Supports(uint8_t command, Op op) const = 0;
  virtual Outcome Handle(const Request& request, cbor::Writer& response) = 0;
  // v1 translation of this group's error codes (Zephyr: unknown groups map to 1).
  virtual int32_t ToV1Rc(uint16_t group_rc) const {
    (void)group_rc;
    return 1;
  }
  // For the enumeration group's details: Zephyr's mg_group_name and mg_handlers_count (the
  // size of the group's handler table, its highest command id + 1).
  virtual std::string_view Name() const { return {}; }
  virtual size_t HandlerCount() const { return 0; }

 private:
  uint16_t id_;
};

// Writes the v2 group error entry into an open response map; pair it with
// Outcome::GroupError(...).KeepBody() when other entries accompany the error.
inline void WriteGroupError(cbor::Writer& w, uint16_t group, uint16_t rc) {
  w.Key("err").BeginMap().Key("group").Uint(group).Key("rc").Uint(rc).End();
}

class Registry {
 public:
  static constexpr size_t kMaxGroups = 16;
  // Errors: kBadState if the id is already registered, kNoSpace if full.
  Status Register(Group& group);
  Group* Find(uint16_t id) const;
  // In registration order.
  size_t size() const { return count_; }
  Group& at(size_t i) const { return *groups_[i]; }

 private:
  std::array<Group*, kMaxGroups> groups_{};
  size_t count_ = 0;
};

struct ServerConfig {
  bool legacy_support = true;   // CONFIG_MCUMGR_SMP_SUPPORT_ORIGINAL_PROTOCOL
  bool verbose_errors = true;   // CONFIG_MCUMGR_SMP_VERBOSE_ERR_RESPONSE ("rsn")
  cbor::Style style = cbor::Style::kIndefinite;  // zcbor's default, CANONICAL=n
  size_t buf_size = 384;        // CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE
  size_t buf_count = 4;         // CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void SendResponse(ConstByteSpan frame) = 0;
};

// What the server has seen since it started (a reset starts it afresh, as Zephyr's RAM
// statistics): frames taken, and those answered with an error (an rc, or a group's err), in
// total and per group id below kTrackedGroups.
struct ServerStats {
  static constexpr size_t kTrackedGroups = 64;
  uint32_t requests = 0;
  uint32_t errors = 0;
  std::array<uint32_t, kTrackedGroups> group_requests{};
  std::array<uint32_t, kTrackedGroups> group_errors{};
};

class Server {
 public:
  Server(Registry& registry, const ServerConfig& config) : registry_(registry), config_(config) {}

  // Processes every SMP frame in `packet` back to back. Each response is encoded into
  // `scratch` (at most buf_size bytes of it are used) and passed to `sink` before the next
  // frame is handled. Returns the number of frames answered.
  size_t Process(ConstByteSpan packet, ByteSpan scratch, ResponseSink& sink);

  const ServerConfig& config() const { return config_; }
  ServerConfig& mutable_config() { return config_; }
  Registry& registry() { return registry_; }
  const ServerStats& stats() const { return stats_; }

 private:
  // Handles one frame at the start of `in`; returns bytes consumed, or 0 to stop.
  size_t ProcessFrame(ConstByteSpan in, ByteSpan out, ResponseSink& sink, bool* stop);
  size_t EncodeError(const Header& rsp_header, int32_t rc, const char* reason, ByteSpan out);

  void CountError(uint16_t group);

  Registry& registry_;
  ServerConfig config_;
  ServerStats stats_;
};

}  // namespace smpkit::smp
