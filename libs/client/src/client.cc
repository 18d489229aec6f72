#include "smpkit/client/client.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/errors.h"
#include "smpkit/smp/img_upload.h"
#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::client {

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kProbe: return "probe";
    case Phase::kUpload: return "upload";
    case Phase::kDownload: return "download";
    case Phase::kMark: return "mark";
    case Phase::kReset: return "reset";
    case Phase::kWait: return "wait";
    case Phase::kCheck: return "check";
    case Phase::kConfirm: return "confirm";
    case Phase::kDone: return "done";
  }
  return "unknown";
}

namespace {

constexpr uint8_t kRead = static_cast<uint8_t>(smp::Op::kRead);
constexpr uint8_t kWrite = static_cast<uint8_t>(smp::Op::kWrite);
constexpr int32_t kRcNotSupported = static_cast<int32_t>(smp::MgmtErr::kNotSup);

// A typed request of smpkit/smp (Encode, EncodedSize) as a payload.
template <typename R>
std::vector<uint8_t> EncodeRequest(const R& request) {
  std::vector<uint8_t> out(request.EncodedSize());
  auto n = request.Encode(out);
  out.resize(n.ok() ? *n : 0);
  return out;
}

Request MakeRequest(uint8_t op, uint16_t group, uint8_t id, std::vector<uint8_t> payload) {
  Request r;
  r.op = op;
  r.group = group;
  r.id = id;
  r.payload = std::move(payload);
  return r;
}

// A command whose answer carries nothing: only whether it succeeded.
Status Succeeded(Result<Reply> r) {
  if (!r.ok()) return r.error();
  return Ok();
}

Request ResetRequest(bool force) {
  smp::os::ResetRequest r;
  r.force = force;
  return MakeRequest(kWrite, smp::kGroupOs, smp::os::kReset, EncodeRequest(r));
}


double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string_view UpgradeModeName(UpgradeMode mode) {
  switch (mode) {
    case UpgradeMode::kTestAndConfirm:
      return "test-and-confirm";
    case UpgradeMode::kConfirmOnly:
      return "confirm-only";
    case UpgradeMode::kTestOnly:
      return "test-only";
  }
  return "?";
}

Result<UpgradeMode> ParseUpgradeMode(std::string_view text) {
  if (text == "test-and-confirm") return UpgradeMode::kTestAndConfirm;
  if (text == "confirm-only") return UpgradeMode::kConfirmOnly;
  if (text == "test-only") return UpgradeMode::kTestOnly;
  return Error::Format(Errc::kInvalidArgument,
                       "unknown upgrade mode '%.*s' (test-and-confirm, confirm-only, test-only)",
                       static_cast<int>(text.size()), text.data());
}

Result<std::vector<uint8_t>> ImageHashOf(ConstByteSpan image) {
  auto parsed = mcuboot::Parse(image, mcuboot::ParseOptions{.strict = false});
  if (!parsed.ok()) {
    return Error::Format(Errc::kInvalidArgument, "not an MCUboot image: %.*s",
                         static_cast<int>(parsed.error().message().size()),
                         parsed.error().message().data());
  }
  auto hash = mcuboot::StoredHash(*parsed);
  if (!hash.ok()) {
    return Error::Format(Errc::kInvalidArgument, "MCUboot image without a hash TLV: %.*s",
                         static_cast<int>(hash.error().message().size()),
                         hash.error().message().data());
  }
  auto v = hash->view();
  return std::vector<uint8_t>(v.begin(), v.end());
}

// ------------------------------------------------------------------------------------------
// Response decoders

Result<std::string> DecodeEchoResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::os::EchoResponse::Parse(payload));
  return std::string(a.r);
}

Result<McumgrParams> DecodeParamsResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::os::ParamsResponse::Parse(payload));
  if (a.buf_size < smp::kHeaderSize || a.buf_size > 0x10007 || a.buf_count > UINT32_MAX) {
    return Error(Errc::kCorrupt, "os params response without usable buf_size/buf_count");
  }
  return McumgrParams{static_cast<uint32_t>(a.buf_size), static_cast<uint32_t>(a.buf_count)};
}

Result<std::string> DecodeInfoResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::os::InfoResponse::Parse(payload));
  return std::string(a.output);
}

Result<UploadAnswer> DecodeUploadResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::img::UploadResponse::Parse(payload));
  return UploadAnswer{a.off, a.match};
}

// Decodes an image state list: {"images": [ {...}, ... ], ...}.
Result<std::vector<ImageSlotState>> DecodeImageStateResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::img::StateResponse::Parse(payload));
  std::vector<ImageSlotState> out;
  SMPKIT_TRY(answer.ForEach([&](const smp::img::StateEntry& e) -> Status {
    ImageSlotState s;
    s.image = static_cast<uint32_t>(e.image.value_or(0));
    s.slot = static_cast<uint32_t>(e.slot);
    s.version = std::string(e.version);
    s.hash.assign(e.hash.begin(), e.hash.end());
    s.bootable = e.bootable;
    s.pending = e.pending;
    s.confirmed = e.confirmed;
    s.active = e.active;
    s.permanent = e.permanent;
    out.push_back(std::move(s));
    return Status();
  }));
  return out;
}

Result<std::vector<TaskStat>> DecodeTaskStatResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::os::TaskStatResponse::Parse(payload));
  std::vector<TaskStat> out;
  SMPKIT_TRY(answer.ForEach([&](const smp::os::TaskStatEntry& e) -> Status {
    out.push_back(TaskStat{std::string(e.name), e.prio, e.tid, e.state, e.stkuse, e.stksiz,
                           e.cswcnt, e.runtime, e.last_checkin, e.next_checkin});
    return Status();
  }));
  return out;
}

Result<std::vector<std::string>> DecodeStatListResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::stat::ListResponse::Parse(payload));
  std::vector<std::string> out;
  SMPKIT_TRY(answer.ForEach([&](std::string_view name) -> Status {
    out.emplace_back(name);
    return Status();
  }));
  return out;
}

Result<StatGroupData> DecodeStatShowResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::stat::ShowResponse::Parse(payload));
  StatGroupData out;
  out.name = std::string(answer.name);
  SMPKIT_TRY(answer.ForEachField([&](std::string_view field, uint64_t value) -> Status {
    out.fields.emplace_back(std::string(field), value);
    return Status();
  }));
  return out;
}

Result<uint32_t> DecodeEnumCountResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::enumeration::CountResponse::Parse(payload));
  if (a.count > UINT32_MAX) return Error(Errc::kCorrupt, "group count out of range");
  return static_cast<uint32_t>(a.count);
}

namespace {
Result<uint16_t> GroupId(uint64_t v) {
  if (v > 0xffff) return Error::Format(Errc::kCorrupt, "group id %llu above 65535",
                                       static_cast<unsigned long long>(v));
  return static_cast<uint16_t>(v);
}
}  // namespace

Result<std::vector<uint16_t>> DecodeEnumListResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::enumeration::ListResponse::Parse(payload));
  std::vector<uint16_t> out;
  SMPKIT_TRY(answer.ForEach([&](uint64_t id) -> Status {
    SMPKIT_ASSIGN_OR_RETURN(uint16_t g, GroupId(id));
    out.push_back(g);
    return Status();
  }));
  return out;
}

Result<EnumSingleAnswer> DecodeEnumSingleResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::enumeration::SingleResponse::Parse(payload));
  SMPKIT_ASSIGN_OR_RETURN(uint16_t group, GroupId(a.group));
  return EnumSingleAnswer{group, a.end};
}

Result<std::vector<EnumGroupInfo>> DecodeEnumDetailsResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::enumeration::DetailsResponse::Parse(payload));
  std::vector<EnumGroupInfo> out;
  SMPKIT_TRY(answer.ForEach([&](const smp::enumeration::DetailsEntry& e) -> Status {
    EnumGroupInfo info;
    SMPKIT_ASSIGN_OR_RETURN(info.group, GroupId(e.group));
    if (e.name) info.name = std::string(*e.name);
    if (e.handlers) info.handlers = static_cast<uint32_t>(*e.handlers);
    out.push_back(std::move(info));
    return Status();
  }));
  return out;
}

Result<std::vector<SlotInfo>> DecodeSlotInfoResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::img::SlotInfoResponse::Parse(payload));
  std::vector<SlotInfo> out;
  SMPKIT_TRY(answer.ForEach([&](const smp::img::SlotInfoImage& image) -> Status {
    return image.ForEachSlot([&](const smp::img::SlotInfoSlot& slot) -> Status {
      SlotInfo info;
      info.image = static_cast<uint32_t>(image.image);
      info.slot = static_cast<uint32_t>(slot.slot);
      if (slot.size) info.size = static_cast<uint32_t>(*slot.size);
      if (slot.upload_image_id) info.upload_image_id = static_cast<uint32_t>(*slot.upload_image_id);
      if (image.max_image_size) info.max_image_size = static_cast<uint32_t>(*image.max_image_size);
      out.push_back(info);
      return Status();
    });
  }));
  return out;
}

// ------------------------------------------------------------------------------------------
// Upload request encoding and sizing

// The request the uploader sends: the first chunk carries the image number (when not 0), the
// length, the hash (when given) and "upgrade" (when set); later ones the offset and data.
smp::img::UploadRequest UploadRequestFor(bool first, uint32_t image, uint64_t len, uint64_t off,
                                         ConstByteSpan sha, bool upgrade, ConstByteSpan data) {
  smp::img::UploadRequest r;
  if (first) {
    if (image != 0) r.image = image;
    r.len = len;
    r.sha = sha;
    r.upgrade = upgrade;
  }
  r.off = off;
  r.data = data;
  return r;
}

void EncodeUploadPayload(std::vector<uint8_t>& out, bool first, uint32_t image, uint64_t len,
                         uint64_t off, ConstByteSpan sha, bool upgrade, ConstByteSpan data) {
  out = EncodeRequest(UploadRequestFor(first, image, len, off, sha, upgrade, data));
}

size_t UploadFrameSize(bool first, uint32_t image, uint64_t len, uint64_t off, size_t sha_size,
                       bool upgrade, size_t data_size) {
  const std::vector<uint8_t> sha(sha_size);
  // The empty data's bstr head is 1 byte; a longer one grows with the data.
  return smp::kHeaderSize + UploadRequestFor(first, image, len, off, sha, upgrade, {}).EncodedSize() +
         data_size + cbor::HeadSize(data_size) - 1;
}

size_t UploadChunkFit(size_t packet_limit, bool first, uint32_t image, uint64_t len, uint64_t off,
                      size_t sha_size, bool upgrade) {
  if (packet_limit <= smp::kHeaderSize) return 0;
  const std::vector<uint8_t> sha(sha_size);
  return smp::img::UploadDataFit(UploadRequestFor(first, image, len, off, sha, upgrade, {}),
                                 packet_limit - smp::kHeaderSize);
}

// ------------------------------------------------------------------------------------------
// Commands

Result<Reply> Client::Call(Request request) {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, session_.Call(std::move(request)));
  SMPKIT_TRY(ReplyStatus(reply));
  return reply;
}

Result<std::string> Client::Echo(std::string_view text) {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kWrite, smp::kGroupOs, smp::os::kEcho,
                                                       EncodeRequest(smp::os::EchoRequest{text}))));
  return DecodeEchoResponse(reply.payload);
}

Status Client::Reset(bool force) {
  SMPKIT_TRY(Call(ResetRequest(force)));
  return {};
}

Result<std::optional<McumgrParams>> Client::Params() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          session_.Call(MakeRequest(kRead, smp::kGroupOs, smp::os::kMcumgrParams, {0xa0})));
  if (reply.rc == kRcNotSupported && !reply.err) return std::optional<McumgrParams>();
  SMPKIT_TRY(ReplyStatus(reply));
  SMPKIT_ASSIGN_OR_RETURN(McumgrParams params, DecodeParamsResponse(reply.payload));
  return std::optional<McumgrParams>(params);
}

Result<std::optional<McumgrParams>> Client::ProbeParams() {
  if (params_probed_) return params_;
  SMPKIT_ASSIGN_OR_RETURN(params_, Params());
  params_probed_ = true;
  // Without the command, the assumed size (Zephyr's default unless the user set one).
  session_.set_server_buf_size(params_ ? params_->buf_size : assumed_.buf_size);
  return params_;
}

Result<std::string> Client::Info(std::string_view format) {
  auto payload = EncodeRequest(smp::os::InfoRequest{format});
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupOs, smp::os::kInfo, std::move(payload))));
  return DecodeInfoResponse(reply.payload);
}

Result<std::string> Client::DateTime() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupOs, smp::os::kDateTime, {0xa0})));
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::os::DateTimeResponse::Parse(reply.payload));
  return std::string(answer.datetime);
}

Status Client::SetDateTime(std::string_view iso8601) {
  smp::os::DateTimeWriteRequest set;
  set.datetime = iso8601;
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupOs, smp::os::kDateTime, EncodeRequest(set))));
}

Result<BootloaderAnswer> Client::Bootloader(std::optional<std::string_view> query) {
  smp::os::BootloaderInfoRequest info;
  info.query = query;
  SMPKIT_ASSIGN_OR_RETURN(
      Reply reply, Call(MakeRequest(kRead, smp::kGroupOs, smp::os::kBootloaderInfo, EncodeRequest(info))));
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::os::BootloaderInfoResponse::Parse(reply.payload));
  BootloaderAnswer a;
  if (answer.bootloader) a.name = std::string(*answer.bootloader);
  a.mode = answer.mode;
  a.no_downgrade = answer.no_downgrade;
  return a;
}

Result<std::vector<TaskStat>> Client::TaskStats() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupOs, smp::os::kTaskStat, {0xa0})));
  return DecodeTaskStatResponse(reply.payload);
}

Result<std::vector<std::string>> Client::StatList() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kRead, smp::kGroupStat, smp::stat::kList, {0xa0})));
  return DecodeStatListResponse(reply.payload);
}

Result<StatGroupData> Client::StatShow(std::string_view name) {
  smp::stat::ShowRequest show;
  show.name = name;
  SMPKIT_ASSIGN_OR_RETURN(
      Reply reply, Call(MakeRequest(kRead, smp::kGroupStat, smp::stat::kShow, EncodeRequest(show))));
  return DecodeStatShowResponse(reply.payload);
}

Result<uint32_t> Client::EnumCount() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kRead, smp::kGroupEnum, smp::enumeration::kCount, {0xa0})));
  return DecodeEnumCountResponse(reply.payload);
}

Result<std::vector<uint16_t>> Client::EnumList() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kRead, smp::kGroupEnum, smp::enumeration::kList, {0xa0})));
  return DecodeEnumListResponse(reply.payload);
}

Result<EnumSingleAnswer> Client::EnumSingle(uint32_t index) {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupEnum, smp::enumeration::kSingle,
                                           EncodeRequest(smp::enumeration::SingleRequest{index}))));
  return DecodeEnumSingleResponse(reply.payload);
}

Result<std::vector<EnumGroupInfo>> Client::EnumDetails(std::span<const uint16_t> groups) {
  smp::enumeration::DetailsRequest details;
  details.groups = groups;
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupEnum, smp::enumeration::kDetails,
                                           EncodeRequest(details))));
  return DecodeEnumDetailsResponse(reply.payload);
}

Result<std::vector<ImageSlotState>> Client::ImageState() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupImage, smp::img::kState, {0xa0})));
  return DecodeImageStateResponse(reply.payload);
}

Result<std::vector<ImageSlotState>> Client::StateWrite(std::optional<ConstByteSpan> hash,
                                                       bool confirm) {
  smp::img::StateWriteRequest r;
  r.hash = hash;
  r.confirm = confirm;
  SMPKIT_ASSIGN_OR_RETURN(
      Reply reply, Call(MakeRequest(kWrite, smp::kGroupImage, smp::img::kState, EncodeRequest(r))));
  return DecodeImageStateResponse(reply.payload);
}

Result<std::vector<ImageSlotState>> Client::ImageTest(ConstByteSpan hash) {
  return StateWrite(hash, false);
}

Result<std::vector<ImageSlotState>> Client::ImageConfirm(std::optional<ConstByteSpan> hash) {
  return StateWrite(hash, true);
}

Status Client::ImageErase(std::optional<uint32_t> slot) {
  smp::img::EraseRequest erase;
  if (slot) erase.slot = *slot;
  Request req = MakeRequest(kWrite, smp::kGroupImage, smp::img::kErase, EncodeRequest(erase));
  req.timeout = std::max(session_.config().timeout, Duration(std::chrono::seconds(20)));
  SMPKIT_TRY(Call(std::move(req)));
  return {};
}

Result<std::vector<SlotInfo>> Client::SlotInfos() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupImage, smp::img::kSlotInfo, {0xa0})));
  return DecodeSlotInfoResponse(reply.payload);
}

// ------------------------------------------------------------------------------------------
// Pipelined upload
//
// A sliding window with go-back-N over the device's cumulative offset (smp-protocol.md
// §6.5.3, §9). The device takes data only in order and answers every chunk with the offset
// it expects next, so:
//   * an answer with off >= the chunk's end acknowledges everything below off;
//   * an answer with off < the chunk's end shows a gap at off (a chunk was lost, duplicated
//     or reordered): the uploader goes back to off at once (fast retransmit), cancelling what
//     is in flight, so later answers to the old generation are dropped by the session;
//   * no answer within the RTO (the session's round-trip estimate, doubled per attempt):
//     go back to the last acknowledged offset;
//   * rc 9 (ECORRUPT) to a chunk: the device got a truncated packet; the packet size falls
//     back (Session::FallBackBelow) and the upload carries on from the device's offset.
// The window starts at `initial_window`, grows by one per window of clean answers, halves on
// a gap and drops to two on a timeout (never below two, so that a second chunk in flight can
// reveal a lost first one). The upload fails only after `stall_attempts`
// transmissions and timeout * (retries + 1) (or first_timeout before the first answer)
// without progress.

namespace {

constexpr int32_t kRcCorrupt = static_cast<int32_t>(smp::MgmtErr::kCorrupt);

// What is uploaded, and how: the image group's upload, or a file's (group 8).
class ChunkTarget {
 public:
  virtual ~ChunkTarget() = default;
  // Data bytes of the chunk at `off` that fit a request of `packet_limit` bytes.
  virtual size_t Fit(size_t packet_limit, uint64_t off, bool first) const = 0;
  virtual Request Encode(uint64_t off, bool first, ConstByteSpan data) const = 0;
  // An error answer that still names the offset the device expects (a gap).
  virtual std::optional<uint64_t> ExpectedOffset(const Reply& reply) const {
    (void)reply;
    return std::nullopt;
  }
  virtual size_t MinFirstChunk() const { return 1; }
  virtual std::string_view What() const = 0;
};

class ImageTarget : public ChunkTarget {
 public:
  ImageTarget(const UploadOptions& o, uint64_t len, std::vector<uint8_t> sha)
      : options_(o), len_(len), sha_(std::move(sha)) {}
  size_t Fit(size_t packet_limit, uint64_t off, bool first) const override {
    return UploadChunkFit(packet_limit, first, options_.image, len_, off, sha_.size(),
                          options_.upgrade);
  }
  Request Encode(uint64_t off, bool first, ConstByteSpan data) const override {
    Request req;
    req.op = kWrite;
    req.group = smp::kGroupImage;
    req.id = smp::img::kUpload;
    EncodeUploadPayload(req.payload, first, options_.image, len_, off, sha_, options_.upgrade,
                        data);
    return req;
  }
  // The image header and its TLV offset must be in the first chunk (smp-protocol.md §6.5.3).
  size_t MinFirstChunk() const override { return 32; }
  std::string_view What() const override { return "image upload"; }

 private:
  const UploadOptions& options_;
  uint64_t len_;
  std::vector<uint8_t> sha_;
};

class Uploader {
 public:
  // `start` > 0: the device holds the bytes below it already (a resumed file upload).
  Uploader(Session& session, ConstByteSpan image, const UploadOptions& options,
           const ChunkTarget& target, size_t window_cap, uint64_t start = 0)
      : session_(session),
        image_(image),
        options_(options),
        target_(target),
        window_cap_(std::max<size_t>(1, window_cap)),
        window_(std::clamp<size_t>(options.initial_window, 1, window_cap_)) {
    const int retries = std::max(0, session.config().retries);
    stall_attempts_ =
        options.stall_attempts > 0 ? options.stall_attempts : std::max(8, retries + 1);
    stall_time_ = session.config().timeout * (retries + 1);
    next_off_ = acked_ = resume_base_ = sent_high_ = start;
    result_.resumed_from = start;
  }

  ~Uploader() { CancelAll(); }

  Result<UploadResult> Run() {
    start_ = session_.executor().Now();
    last_progress_ = start_;
    result_.size = image_.size();
    result_.chunk_data = ChunkSize(1000000, false);
    Pump();
    if (!error_ && !done_ && in_flight_.empty()) {
      return Error(Errc::kInternal, "upload made no progress");
    }
    session_.executor().RunUntil([this] { return done_ || error_.has_value(); });
    CancelAll();
    result_.elapsed_s = Seconds(session_.executor().Now() - start_);
    result_.packet_size = session_.MaxPacketSize();
    result_.srtt_ms = std::chrono::duration<double, std::milli>(session_.rtt().srtt()).count();
    if (error_) return *error_;
    return result_;
  }

 private:
  struct Chunk {
    uint64_t off = 0;
    size_t len = 0;
    size_t frame = 0;            // request size, header included
    uint64_t tx = 0;             // transmission index
    uint64_t acked_at_send = 0;  // what the device had acknowledged when the chunk left
    TimerId rto = kNoTimer;
    uint64_t end() const { return off + len; }
  };

  size_t ChunkSize(uint64_t off, bool first) const {
    size_t n = target_.Fit(session_.MaxPacketSize(), off, first);
    if (options_.max_chunk) n = std::min(n, options_.max_chunk);
    if (options_.align > 1 && n > options_.align) n -= n % options_.align;
    return n;
  }

  void Fail(Error e) {
    if (!error_) error_ = std::move(e);
    CancelAll();
  }

  void CancelAll() {
    for (auto* map : {&in_flight_, &earlier_}) {
      for (auto& [id, c] : *map) {
        session_.Cancel(id);
        session_.executor().Cancel(c.rto);
      }
      map->clear();
    }
  }

  // Moves a chunk out of the window; it stays pending in the session for a late answer.
  // Bounded: the oldest are dropped beyond kMaxEarlier (sequence numbers are a byte).
  void Retire(Session::RequestId id, Chunk chunk) {
    session_.executor().Cancel(chunk.rto);
    chunk.rto = kNoTimer;
    earlier_[id] = chunk;
    while (earlier_.size() > kMaxEarlier) {
      session_.Cancel(earlier_.begin()->first);
      earlier_.erase(earlier_.begin());
    }
  }
  static constexpr size_t kMaxEarlier = 64;

  // How long a chunk's request stays pending in the session: long enough for a late answer
  // to count, short enough not to hold sequence numbers for nothing.
  Duration LingerTimeout() const {
    return std::min(stall_time_,
                    std::max(RetransmitTimeout() * 4, Duration(std::chrono::milliseconds(10))));
  }

  // The uploader's retransmission timer of transmission `tx` fired.
  void OnRto(uint64_t tx) {
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
      if (it->second.tx != tx) continue;
      Chunk chunk = it->second;
      chunk.rto = kNoTimer;
      it->second.rto = kNoTimer;
      OnTimeout(chunk);
      return;
    }
  }

  void Pump() {
    // Nothing in flight covers what the device expects (answers that showed nothing new):
    // send it again from there.
    if (acked_any_ && in_flight_.empty() && next_off_ > acked_) next_off_ = acked_;
    while (!done_ && !error_ && next_off_ < image_.size()) {
      // Chunk 0 may erase the slot or resume: wait for its answer before pipelining.
      size_t limit = acked_any_ ? window_ : 1;
      if (in_flight_.size() >= limit) break;
      SendChunk();
    }
  }

  void SendChunk() {
    uint64_t off = next_off_;
    bool first = off == 0;
    size_t n = ChunkSize(off, first);
    size_t remaining = image_.size() - off;
    const size_t min_first = target_.MinFirstChunk();
    if (first && n < min_first && remaining >= min_first) {
      Fail(Error::Format(Errc::kNoSpace,
                         "a %zu-byte packet limit leaves room for only %zu data bytes in the "
                         "first chunk (at least %zu needed)",
                         session_.MaxPacketSize(), n, min_first));
      return;
    }
    if (n == 0) {
      Fail(Error::Format(Errc::kNoSpace, "a %zu-byte packet limit leaves no room for data",
                         session_.MaxPacketSize()));
      return;
    }
    n = std::min(n, remaining);
    Request req = target_.Encode(off, first, image_.subspan(off, n));
    // The uploader runs its own retransmissions (go-back-N) on the session's RTO, with a
    // timer of its own: the session keeps the request pending longer, so that a late answer
    // still acknowledges data (and completes the upload if it was the last chunk).
    req.retries = 0;
    req.timeout = std::max(LingerTimeout(), first ? options_.first_timeout : Duration(0));
    // The first chunk's round trip includes the erase.
    req.sample_rtt = !first;
    Chunk chunk{off, n, smp::kHeaderSize + req.payload.size(), tx_count_++, acked_};
    if (sent_.count(off)) ++result_.retransmits;
    sent_.insert(off);
    next_off_ = off + n;
    sent_high_ = std::max(sent_high_, next_off_);
    if (next_off_ == image_.size()) final_sent_ = true;
    ++result_.chunks_sent;
    const uint64_t tx = chunk.tx;
    chunk.rto = session_.executor().PostAfter(RetransmitTimeout(), [this, tx] { OnRto(tx); });
    auto id = session_.Submit(std::move(req),
                              [this, chunk](Result<Reply> r) { OnAnswer(chunk, std::move(r)); });
    in_flight_[id] = chunk;
    result_.max_window_used = std::max(result_.max_window_used, in_flight_.size());
  }

  // The window never shrinks below two chunks (when the device has room for two): a second
  // chunk in flight is what reveals a lost first one through the device's offset, without
  // waiting for a timeout.
  size_t MinWindow() const { return std::min<size_t>(2, window_cap_); }

  Duration RetransmitTimeout() const {
    Duration rto = session_.Rto();
    const Duration cap = session_.config().timeout;
    for (int i = 0; i < backoff_ && rto < cap; ++i) rto *= 2;
    return std::min(rto, cap);
  }

  // No progress for too long: the device is gone (or refuses silently).
  bool Stalled() const {
    const Duration budget =
        acked_any_ ? stall_time_ : std::max(stall_time_, options_.first_timeout);
    return stalled_ > stall_attempts_ && session_.executor().Now() - last_progress_ >= budget;
  }

  // Starts a new generation at `off`. What is in flight stays pending in the session, out
  // of the window: a late answer still acknowledges data and gives the session a round-trip
  // sample (so a reordering link raises the RTO instead of firing it again and again), but
  // it no longer triggers a go-back of its own.
  void GoBack(uint64_t off) {
    auto moved = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [id, c] : moved) Retire(id, c);
    next_off_ = off;
    ++result_.rewinds;
    ++stalled_;
    if (Stalled()) {
      Fail(Error::Format(Errc::kTimeout,
                         "%s made no progress at offset %llu for %d attempts in %.1f s",
                         std::string(target_.What()).c_str(),
                         static_cast<unsigned long long>(acked_), stalled_,
                         Seconds(session_.executor().Now() - last_progress_)));
    }
  }

  void OnTimeout(const Chunk& chunk) {
    if (acked_any_ && chunk.end() <= acked_) return Pump();  // acknowledged meanwhile
    ++result_.timeouts;
    ++backoff_;
    window_ = MinWindow();
    clean_ = 0;
    GoBack(acked_);
    Pump();
  }

  void OnCorrupt(const Chunk& chunk, const Reply& reply) {
    auto limit = session_.FallBackBelow(chunk.frame, "rc 9 (ECORRUPT): " + reply.Describe());
    if (!limit.ok()) return Fail(ReplyStatus(reply).error());
    const MtuFallback& f = session_.mtu_fallbacks().back();
    result_.mtu_fallbacks.push_back(f);
    if (options_.on_mtu_fallback) options_.on_mtu_fallback(f);
    result_.chunk_data = ChunkSize(1000000, false);
    GoBack(acked_);
    Pump();
  }

  void Acknowledge(uint64_t off) {
    acked_ = off;
    backward_rounds_ = 0;
    stalled_ = 0;
    backoff_ = 0;
    last_progress_ = session_.executor().Now();
    // Chunks the device has taken no longer hold the window (their answers may still come).
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->second.end() <= acked_) {
        Retire(it->first, it->second);
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
    if (next_off_ < acked_) next_off_ = acked_;
  }

  void OnAnswer(const Chunk& chunk, Result<Reply> r) {
    // A chunk of the current generation holds the window; an earlier one only informs.
    bool current = false;
    for (auto* map : {&in_flight_, &earlier_}) {
      for (auto it = map->begin(); it != map->end(); ++it) {
        if (it->second.tx == chunk.tx) {
          current = map == &in_flight_;
          session_.executor().Cancel(it->second.rto);
          map->erase(it);
          break;
        }
      }
    }
    if (!r.ok()) {
      if (r.error().code() != Errc::kTimeout) return Fail(r.error());
      if (current) return OnTimeout(chunk);
      return Pump();
    }
    const Reply& reply = *r;
    UploadAnswer answer;
    if (!reply.ok()) {
      if (reply.rc == kRcCorrupt && !reply.err) {
        // A truncated packet: fall back below its size, unless that happened already.
        if (chunk.frame > session_.MaxPacketSize()) return Pump();
        return OnCorrupt(chunk, reply);
      }
      auto expected = target_.ExpectedOffset(reply);
      if (!expected) return Fail(ReplyStatus(reply).error());
      answer.off = *expected;  // the device refused the chunk and named its offset: a gap
    } else {
      auto decoded = DecodeUploadResponse(reply.payload);
      if (!decoded.ok()) return Fail(decoded.error());
      answer = *decoded;
    }
    uint64_t off = answer.off;
    const bool has_match = answer.match.has_value();
    const bool match = answer.match.value_or(false);
    if (off > image_.size()) {
      return Fail(Error::Format(Errc::kCorrupt,
                                "device reports offset %llu beyond the length %zu",
                                static_cast<unsigned long long>(off), image_.size()));
    }
    if (!acked_any_) {
      acked_any_ = true;
      if (chunk.off == 0 && off != chunk.len) {
        result_.resumed_from = off;
        resume_base_ = off;
        sent_high_ = std::max(sent_high_, off);
      }
      Acknowledge(off);
    } else if (off < chunk.acked_at_send) {
      // Less than the device had acknowledged before this chunk left: either the device's
      // upload state went back, or this answer is stale and met a reused sequence number
      // (only 256 exist, and at loopback rates they come round within milliseconds while a
      // duplicated or held-back answer is still on its way). Stale answers come singly, so
      // the uploader goes back and believes it only after kBackwardRounds answers in a row,
      // each to a chunk sent after the previous one arrived.
      if (chunk.tx >= confirm_tx_) {
        ++backward_rounds_;
        confirm_tx_ = tx_count_;
      }
      if (backward_rounds_ < kBackwardRounds) {
        ++result_.stale_answers;
        GoBack(acked_);
        Report();
        return Pump();
      }
      backward_rounds_ = 0;
      if (off != 0) {
        return Fail(Error::Format(
            Errc::kBadState,
            "another upload took over the device: its offset went back from %llu to %llu "
            "(smpkit device and Zephyr keep one upload; a new first chunk restarts it)",
            static_cast<unsigned long long>(acked_), static_cast<unsigned long long>(off)));
      }
      // off 0: no upload in progress on the device. Either it lost the upload (it
      // restarted) or, after our last chunk went out, the upload completed and its final
      // answer was lost (the device forgets an upload when it completes). Either way a
      // first chunk again: a device with the image check (smpkit, Zephyr with
      // CONFIG_IMG_ENABLE_IMAGE_CHECK) finds the whole image in the slot and answers
      // {"off": len, "match": true} at once; one without it takes the upload again.
      if (final_sent_) result_.final_answer_lost = true;
      if (++restarts_ > 3) {
        return Fail(Error(Errc::kBadState, "device lost the upload state 4 times"));
      }
      acked_ = 0;
      CancelAll();  // answers to what went before belong to the device's earlier upload
      GoBack(0);
      Report();
      return Pump();
    } else if (off < acked_) {
      // A late answer overtaken by a newer one: nothing new.
      Report();
      return Pump();
    } else if (off > sent_high_ && off != image_.size()) {
      // Beyond anything this upload sent: another client's upload is in the device's one
      // upload session.
      return Fail(Error::Format(
          Errc::kBadState,
          "another upload took over the device: it expects offset %llu, beyond the %llu bytes "
          "this upload sent (smpkit device and Zephyr keep one upload; a new first chunk "
          "restarts it)",
          static_cast<unsigned long long>(off), static_cast<unsigned long long>(sent_high_)));
    }
    if (off == image_.size()) {
      if (has_match) result_.match = match;
      Acknowledge(off);
      Report();
      if (has_match && !match) {
        return Fail(Error(Errc::kCrypto,
                          "device reports the uploaded image does not match its SHA-256 "
                          "(match: false)"));
      }
      done_ = true;
      CancelAll();
      return;
    }
    if (off > acked_) Acknowledge(off);
    if (off >= chunk.end()) {
      if (current && ++clean_ >= window_) {
        clean_ = 0;
        window_ = std::min(window_cap_, window_ + 1);
      }
    } else if (current) {
      // The device did not take this chunk: it expects `off`. Go back there at once.
      ++result_.fast_retransmits;
      window_ = std::max(MinWindow(), window_ / 2);
      clean_ = 0;
      GoBack(off);
    }
    Report();
    Pump();
  }

  void Report() {
    if (!options_.progress) return;
    Progress p;
    p.phase = Phase::kUpload;
    p.offset = acked_;
    p.total = image_.size();
    p.elapsed_s = Seconds(session_.executor().Now() - start_);
    // Bytes this upload carried: a resumed upload does not count what was already there.
    const uint64_t carried = acked_ > resume_base_ ? acked_ - resume_base_ : 0;
    p.rate_bps = p.elapsed_s > 0 ? static_cast<double>(carried) / p.elapsed_s : 0;
    p.window = window_;
    p.retransmits = result_.retransmits;
    options_.progress(p);
  }

  Session& session_;
  ConstByteSpan image_;
  const UploadOptions& options_;
  const ChunkTarget& target_;
  size_t window_cap_;
  size_t window_;
  size_t clean_ = 0;
  uint64_t next_off_ = 0;
  uint64_t acked_ = 0;
  uint64_t resume_base_ = 0;
  uint64_t tx_count_ = 0;
  int stalled_ = 0;  // go-backs since the last progress
  int backoff_ = 0;  // timeouts since the last progress
  int stall_attempts_ = 8;
  int restarts_ = 0;
  static constexpr int kBackwardRounds = 3;
  int backward_rounds_ = 0;  // answers in a row below what the device had acknowledged
  uint64_t confirm_tx_ = 0;  // the next backward answer counts from this transmission on
  Duration stall_time_{};
  Time last_progress_{0};
  bool acked_any_ = false;
  bool final_sent_ = false;
  uint64_t sent_high_ = 0;  // end of the furthest chunk sent (resumed offsets included)
  bool done_ = false;
  std::optional<Error> error_;
  std::map<Session::RequestId, Chunk> in_flight_;  // this generation: holds the window
  std::map<Session::RequestId, Chunk> earlier_;    // sent before a go-back, still pending
  std::set<uint64_t> sent_;
  UploadResult result_;
  Time start_{0};
};

}  // namespace

Result<size_t> Client::ProbePacketSize(const std::function<void(const MtuFallback&)>& on_fallback) {
  while (true) {
    const size_t size = session_.MaxPacketSize();
    if (session_.link().Info().reassembles || session_.proven_packet_size() >= size) return size;
    // {"d": text} with the text sized so that the whole frame is `size` bytes.
    std::vector<uint8_t> payload;
    size_t text_len = size > smp::kHeaderSize + 8 ? size - smp::kHeaderSize - 8 : 0;
    for (int pass = 0; pass < 3; ++pass) {
      std::string text(text_len, 'p');
      payload = EncodeRequest(smp::os::EchoRequest{text});
      const size_t frame = smp::kHeaderSize + payload.size();
      if (frame == size || frame < size) {
        text_len += size - frame;
        if (frame == size) break;
      } else {
        text_len -= std::min(text_len, frame - size);
      }
    }
    Request req = MakeRequest(kWrite, smp::kGroupOs, smp::os::kEcho, std::move(payload));
    auto r = session_.Call(std::move(req));
    std::string reason;
    if (r.ok()) {
      if (r->rc != kRcCorrupt || r->err) return size;  // any other answer: it got through whole
      reason = "rc 9 (ECORRUPT) to a " + std::to_string(size) + "-byte echo";
    } else if (r.error().code() == Errc::kTimeout && session_.heard_from_server()) {
      reason = "no answer to a " + std::to_string(size) +
               "-byte echo while smaller requests "
               "were answered";
    } else {
      return r.error();
    }
    SMPKIT_TRY(session_.FallBackBelow(size, reason));
    if (on_fallback) on_fallback(session_.mtu_fallbacks().back());
  }
}

size_t Client::WindowCap(size_t max_window, const std::optional<McumgrParams>& params) const {
  if (params && params->buf_count > 1) return std::min<size_t>(max_window, params->buf_count - 1);
  // No params command (older servers, or no OS group): the assumed buffer count, as for
  // buf_size; one buffer stays free for the answer's way out.
  if (!params && assumed_.buf_count > 1) {
    return std::min<size_t>(max_window, assumed_.buf_count - 1);
  }
  return max_window;
}

Result<UploadResult> Client::Upload(ConstByteSpan image, const UploadOptions& options) {
  if (image.size() < 32) {
    return Error::Format(Errc::kInvalidArgument,
                         "image of %zu bytes is too small (the first chunk needs 32)",
                         image.size());
  }
  if (image.size() > 0xffffffffu) return Error(Errc::kNoSpace, "image larger than 4 GiB");
  SMPKIT_ASSIGN_OR_RETURN(auto params, ProbeParams());
  if (options.skip_if_present) {
    auto hash = ImageHashOf(image);
    if (hash.ok()) {
      SMPKIT_ASSIGN_OR_RETURN(auto state, ImageState());
      for (const auto& s : state) {
        if (s.hash == *hash && s.image == options.image) {
          UploadResult r;
          r.skipped = true;
          r.size = image.size();
          return r;
        }
      }
    }
  }
  SMPKIT_ASSIGN_OR_RETURN(auto sha, mcuboot::Hash(mcuboot::HashAlg::kSha256, image));
  auto sha_view = sha.view();
  const size_t window_cap = WindowCap(options.max_window, params);
  const size_t fallbacks_before = session_.mtu_fallbacks().size();
  if (options.probe_packet_size) SMPKIT_TRY(ProbePacketSize(options.on_mtu_fallback));
  const ImageTarget target(options, image.size(),
                           std::vector<uint8_t>(sha_view.begin(), sha_view.end()));
  auto result = Uploader(session_, image, options, target, window_cap).Run();
  if (result.ok()) {
    // The probe's fallbacks come first.
    const auto& all = session_.mtu_fallbacks();
    std::vector<MtuFallback> probe(all.begin() + static_cast<long>(fallbacks_before),
                                   all.end() - static_cast<long>(result->mtu_fallbacks.size()));
    result->mtu_fallbacks.insert(result->mtu_fallbacks.begin(), probe.begin(), probe.end());
  }
  return result;
}

// ------------------------------------------------------------------------------------------
// Upgrade

// ------------------------------------------------------------------------------------------
// File management (group 8)

namespace {

constexpr uint16_t kFsErrOffsetNotValid = 11;

// The first chunk (off 0) carries the file's size.
smp::fs::UploadRequest FsUploadRequest(std::string_view name, uint64_t len, uint64_t off,
                                       ConstByteSpan data) {
  smp::fs::UploadRequest r;
  r.off = off;
  r.data = data;
  r.name = name;
  if (off == 0) r.len = len;
  return r;
}

class FileTarget : public ChunkTarget {
 public:
  FileTarget(std::string_view name, uint64_t len) : name_(name), len_(len) {}
  size_t Fit(size_t packet_limit, uint64_t off, bool) const override {
    if (packet_limit <= smp::kHeaderSize) return 0;
    return smp::fs::UploadDataFit(FsUploadRequest(name_, len_, off, {}),
                                  packet_limit - smp::kHeaderSize);
  }
  Request Encode(uint64_t off, bool, ConstByteSpan data) const override {
    return MakeRequest(kWrite, smp::kGroupFs, smp::fs::kFile,
                       EncodeRequest(FsUploadRequest(name_, len_, off, data)));
  }
  // FILE_OFFSET_NOT_VALID comes with "len": the offset the device expects (v2 only).
  std::optional<uint64_t> ExpectedOffset(const Reply& reply) const override {
    if (!reply.err || reply.err->group != smp::kGroupFs || reply.err->rc != kFsErrOffsetNotValid) {
      return std::nullopt;
    }
    auto expected = smp::fs::UploadOffsetResponse::Parse(reply.payload);
    if (!expected.ok()) return std::nullopt;
    return expected->len;
  }
  std::string_view What() const override { return "file upload"; }

 private:
  std::string name_;
  uint64_t len_;
};

}  // namespace

Result<FsDownloadAnswer> DecodeFsDownloadResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::fs::DownloadResponse::Parse(payload));
  return FsDownloadAnswer{a.off, std::vector<uint8_t>(a.data.begin(), a.data.end()), a.len};
}

Result<uint64_t> DecodeFsStatusResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::fs::StatusResponse::Parse(payload));
  return a.len;
}

Result<FsHashResult> DecodeFsHashResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::fs::HashResponse::Parse(payload));
  FsHashResult h;
  h.type = std::string(a.type);
  h.off = a.off;
  h.len = a.len;
  h.crc = a.checksum;
  if (a.checksum) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      h.output.push_back(static_cast<uint8_t>(*a.checksum >> shift));
    }
  } else {
    h.output.assign(a.digest.begin(), a.digest.end());
  }
  return h;
}

Result<std::vector<FsHashType>> DecodeFsSupportedHashesResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto answer, smp::fs::SupportedHashesResponse::Parse(payload));
  std::vector<FsHashType> out;
  SMPKIT_TRY(answer.ForEach([&](const smp::fs::HashTypeEntry& e) -> Status {
    if (e.format > UINT32_MAX || e.size > UINT32_MAX) {
      return Error(Errc::kCorrupt, "hash type format or size out of range");
    }
    out.push_back(FsHashType{std::string(e.name), static_cast<uint32_t>(e.format),
                             static_cast<uint32_t>(e.size)});
    return Status();
  }));
  return out;
}

Result<uint64_t> Client::FsStatus(std::string_view name) {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupFs, smp::fs::kStatus,
                                           EncodeRequest(smp::fs::StatusRequest{name}))));
  return DecodeFsStatusResponse(reply.payload);
}

Result<FsHashResult> Client::FsHash(std::string_view name, std::string_view type, uint64_t off,
                                    std::optional<uint64_t> len) {
  smp::fs::HashRequest hash;
  hash.name = name;
  hash.type = type;
  hash.off = off;
  hash.len = len;
  // Hashing a large file takes the device a while.
  Request req = MakeRequest(kRead, smp::kGroupFs, smp::fs::kHash, EncodeRequest(hash));
  req.sample_rtt = false;
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(std::move(req)));
  return DecodeFsHashResponse(reply.payload);
}

Result<std::vector<FsHashType>> Client::FsSupportedHashes() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kRead, smp::kGroupFs, smp::fs::kSupportedHashes, {0xa0})));
  return DecodeFsSupportedHashesResponse(reply.payload);
}

Status Client::FsClose() {
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupFs, smp::fs::kClose, {0xa0})));
}

Result<UploadResult> Client::FsUpload(ConstByteSpan data, std::string_view name,
                                      const UploadOptions& options, uint64_t start_offset) {
  if (name.empty()) return Error(Errc::kInvalidArgument, "no file name given");
  if (start_offset > data.size()) {
    return Error::Format(Errc::kInvalidArgument, "resume offset %llu beyond the %zu-byte file",
                         static_cast<unsigned long long>(start_offset), data.size());
  }
  SMPKIT_ASSIGN_OR_RETURN(auto params, ProbeParams());
  const FileTarget target(name, data.size());
  if (data.empty() || start_offset == data.size()) {
    // Nothing to carry: one request creates (or truncates) the file, or checks its size.
    if (start_offset == 0) {
      Request req = target.Encode(0, true, {});
      SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(std::move(req)));
      SMPKIT_ASSIGN_OR_RETURN(UploadAnswer a, DecodeUploadResponse(reply.payload));
      (void)a;
    }
    UploadResult r;
    r.size = data.size();
    r.resumed_from = start_offset;
    return r;
  }
  if (options.probe_packet_size) SMPKIT_TRY(ProbePacketSize(options.on_mtu_fallback));
  return Uploader(session_, data, options, target, WindowCap(options.max_window, params),
                  start_offset)
      .Run();
}

namespace {

// Pipelined download: the first answer gives the size and the device's chunk; then up to
// `window` requests go out at the offsets that chunk gives. The session retransmits a request
// without an answer; an answer with less data than asked for leaves a gap, asked for next.
class Downloader {
 public:
  Downloader(Session& session, std::string_view name, const FsDownloadOptions& options,
             size_t window)
      : session_(session), name_(name), options_(options), window_(std::max<size_t>(1, window)) {}

  Result<FsDownloadResult> Run(uint64_t size, bool size_known) {
    start_ = session_.executor().Now();
    const uint64_t from = options_.start_offset;
    if (size_known) {
      size_ = size;
      if (from > size_) {
        return Error::Format(Errc::kInvalidArgument,
                             "resume offset %llu beyond the device's %llu-byte file",
                             static_cast<unsigned long long>(from),
                             static_cast<unsigned long long>(size_));
      }
      result_.data.resize(static_cast<size_t>(size_ - from));
      next_ = from;
      known_ = true;
      // The first answer tells the device's chunk size; then the window opens.
      if (from < size_) Send(from);
    } else {
      // The answer at offset 0 tells the size.
      Send(from);
    }
    session_.executor().RunUntil([this] { return error_.has_value() || Done(); });
    for (auto id : in_flight_) session_.Cancel(id);
    if (error_) return *error_;
    result_.size = size_;
    result_.elapsed_s = Seconds(session_.executor().Now() - start_);
    result_.retransmits = retransmits_;
    return std::move(result_);
  }

 private:
  bool Done() const { return known_ && in_flight_.empty() && gaps_.empty() && next_ >= size_; }

  void Pump() {
    while (!error_ && in_flight_.size() < window_) {
      if (!gaps_.empty()) {
        const uint64_t off = *gaps_.begin();
        gaps_.erase(gaps_.begin());
        Send(off);
      } else if (next_ < size_) {
        const uint64_t off = next_;
        next_ += std::max<size_t>(1, chunk_);
        Send(off);
      } else {
        break;
      }
    }
  }

  void Send(uint64_t off) {
    smp::fs::DownloadRequest download;
    download.off = off;
    download.name = name_;
    Request req = MakeRequest(kRead, smp::kGroupFs, smp::fs::kFile, EncodeRequest(download));
    req.on_retransmit = [this] { ++retransmits_; };
    ++result_.requests;
    auto id = std::make_shared<Session::RequestId>();
    *id = session_.Submit(std::move(req), [this, off, id](Result<Reply> r) {
      in_flight_.erase(*id);
      OnAnswer(off, std::move(r));
    });
    in_flight_.insert(*id);
    result_.max_window_used = std::max(result_.max_window_used, in_flight_.size());
  }

  void Fail(Error e) {
    if (!error_) error_ = std::move(e);
  }

  void OnAnswer(uint64_t off, Result<Reply> r) {
    if (error_) return;
    if (!r.ok()) return Fail(r.error());
    if (!r->ok()) return Fail(ReplyStatus(*r).error());
    auto a = DecodeFsDownloadResponse(r->payload);
    if (!a.ok()) return Fail(a.error());
    if (a->off != off) {
      return Fail(Error::Format(Errc::kCorrupt, "asked for offset %llu, the device answered %llu",
                                static_cast<unsigned long long>(off),
                                static_cast<unsigned long long>(a->off)));
    }
    const uint64_t from = options_.start_offset;
    if (!known_) {
      if (!a->len) return Fail(Error(Errc::kCorrupt, "file download answer at offset 0 without \"len\""));
      known_ = true;
      size_ = *a->len;
      result_.data.resize(static_cast<size_t>(size_ - std::min(from, size_)));
      chunk_ = a->data.size();
      result_.chunk_data = chunk_;
      next_ = off + chunk_;
      if (chunk_ == 0 && size_ > 0) return Fail(Error(Errc::kCorrupt, "the device sent no data at offset 0"));
    } else if (chunk_ == 0) {
      chunk_ = a->data.size();
      result_.chunk_data = chunk_;
      if (chunk_ == 0 && off < size_) {
        return Fail(Error::Format(Errc::kCorrupt, "the device sent no data at offset %llu of %llu",
                                  static_cast<unsigned long long>(off),
                                  static_cast<unsigned long long>(size_)));
      }
      next_ = off + chunk_;
    }
    const uint64_t end = off + a->data.size();
    if (end > size_) {
      return Fail(Error::Format(Errc::kCorrupt,
                                "the device sent data up to offset %llu of a %llu-byte file (it "
                                "changed during the download?)",
                                static_cast<unsigned long long>(end),
                                static_cast<unsigned long long>(size_)));
    }
    if (a->data.empty() && off < size_) {
      return Fail(Error::Format(Errc::kCorrupt,
                                "the device sent no data at offset %llu of a %llu-byte file",
                                static_cast<unsigned long long>(off),
                                static_cast<unsigned long long>(size_)));
    }
    std::copy(a->data.begin(), a->data.end(),
              result_.data.begin() + static_cast<std::ptrdiff_t>(off - from));
    got_ += a->data.size();
    // Less than a chunk before the end: ask for the rest.
    const uint64_t expected_end = std::min<uint64_t>(off + chunk_, size_);
    if (end < expected_end && end < next_) gaps_.insert(end);
    Report();
    Pump();
  }

  void Report() {
    if (!options_.progress) return;
    Progress p;
    p.phase = Phase::kDownload;
    p.offset = options_.start_offset + got_;
    p.total = size_;
    p.elapsed_s = Seconds(session_.executor().Now() - start_);
    p.rate_bps = p.elapsed_s > 0 ? static_cast<double>(got_) / p.elapsed_s : 0;
    p.window = window_;
    p.retransmits = retransmits_;
    options_.progress(p);
  }

  Session& session_;
  std::string name_;
  const FsDownloadOptions& options_;
  size_t window_;
  size_t chunk_ = 0;
  uint64_t size_ = 0;
  bool known_ = false;
  uint64_t next_ = 0;
  uint64_t got_ = 0;
  uint64_t retransmits_ = 0;
  std::set<uint64_t> gaps_;
  std::set<Session::RequestId> in_flight_;
  std::optional<Error> error_;
  FsDownloadResult result_;
  Time start_{0};
};

}  // namespace

Result<FsDownloadResult> Client::FsDownload(std::string_view name,
                                            const FsDownloadOptions& options) {
  if (name.empty()) return Error(Errc::kInvalidArgument, "no file name given");
  SMPKIT_ASSIGN_OR_RETURN(auto params, ProbeParams());
  const size_t window = WindowCap(options.max_window, params);
  if (options.start_offset == 0) return Downloader(session_, name, options, window).Run(0, false);
  // Resuming: only the answer at offset 0 carries the size; ask for it.
  SMPKIT_ASSIGN_OR_RETURN(uint64_t size, FsStatus(name));
  return Downloader(session_, name, options, window).Run(size, true);
}

// ------------------------------------------------------------------------------------------
// Settings (group 3)

Result<SettingValue> DecodeSettingsReadResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::settings::ReadResponse::Parse(payload));
  SettingValue v;
  v.val.assign(a.val.begin(), a.val.end());
  if (a.max_size) {
    if (*a.max_size > UINT32_MAX) return Error(Errc::kCorrupt, "settings \"max_size\" out of range");
    v.max_size = static_cast<uint32_t>(*a.max_size);
  }
  return v;
}

Result<SettingValue> Client::SettingsRead(std::string_view name, std::optional<uint32_t> max_size) {
  smp::settings::ReadRequest read;
  read.name = name;
  read.max_size = max_size;
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, Call(MakeRequest(kRead, smp::kGroupSettings,
                                                        smp::settings::kReadWrite,
                                                        EncodeRequest(read))));
  return DecodeSettingsReadResponse(reply.payload);
}

Status Client::SettingsWrite(std::string_view name, ConstByteSpan value) {
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupSettings, smp::settings::kReadWrite,
                                    EncodeRequest(smp::settings::WriteRequest{name, value}))));
}

Status Client::SettingsDelete(std::string_view name) {
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupSettings, smp::settings::kDelete,
                                    EncodeRequest(smp::settings::DeleteRequest{name}))));
}

Status Client::SettingsCommit() {
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupSettings, smp::settings::kCommit, {0xa0})));
}
Status Client::SettingsLoad() {
  return Succeeded(Call(MakeRequest(kRead, smp::kGroupSettings, smp::settings::kLoadSave, {0xa0})));
}
Status Client::SettingsSave() {
  return Succeeded(Call(MakeRequest(kWrite, smp::kGroupSettings, smp::settings::kLoadSave, {0xa0})));
}

// ------------------------------------------------------------------------------------------
// Shell (group 9)

Result<ShellAnswer> DecodeShellExecResponse(ConstByteSpan payload) {
  SMPKIT_ASSIGN_OR_RETURN(auto a, smp::shell::ExecResponse::Parse(payload));
  if (a.ret < INT32_MIN || a.ret > INT32_MAX) {
    return Error(Errc::kCorrupt, "shell \"ret\" out of range");
  }
  return ShellAnswer{std::string(a.o), static_cast<int32_t>(a.ret)};
}

Result<ShellAnswer> Client::ShellExec(std::span<const std::string> argv) {
  if (argv.empty()) return Error(Errc::kInvalidArgument, "no command given");
  const std::vector<std::string_view> args(argv.begin(), argv.end());
  smp::shell::ExecRequest exec;
  exec.argv = args;
  Request req = MakeRequest(kWrite, smp::kGroupShell, smp::shell::kExec, EncodeRequest(exec));
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, session_.Call(std::move(req)));
  // With CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE the command's return value comes as
  // "rc", next to "o": a command's failure, not the device's.
  if (!reply.ok() && !reply.err) {
    auto legacy = DecodeShellExecResponse(reply.payload);
    if (legacy.ok()) return legacy;
  }
  SMPKIT_TRY(ReplyStatus(reply));
  return DecodeShellExecResponse(reply.payload);
}

Status Client::WaitForDevice(Duration wait, Duration poll_interval) {
  Executor& ex = session_.executor();
  Time deadline = ex.Now() + wait;
  while (true) {
    Request req = MakeRequest(kWrite, smp::kGroupOs, smp::os::kEcho,
                              EncodeRequest(smp::os::EchoRequest{"ping"}));
    req.timeout = poll_interval;
    req.retries = 0;
    auto r = session_.Call(std::move(req));
    if (r.ok()) return {};
    if (ex.Now() >= deadline) {
      return Error::Format(Errc::kTimeout, "device did not answer within %.1f s", Seconds(wait));
    }
  }
}

namespace {

const ImageSlotState* FindHash(const std::vector<ImageSlotState>& state,
                               const std::vector<uint8_t>& hash) {
  for (const auto& s : state) {
    if (s.hash == hash) return &s;
  }
  return nullptr;
}

void Sleep(Executor& ex, Duration d) {
  bool fired = false;
  ex.PostAfter(d, [&fired] { fired = true; });
  ex.RunUntil([&fired] { return fired; });
}

}  // namespace

Result<UpgradeResult> Client::Upgrade(ConstByteSpan image, const UpgradeOptions& options) {
  UpgradeResult result;
  SMPKIT_ASSIGN_OR_RETURN(result.hash, ImageHashOf(image));
  {
    auto parsed = mcuboot::Parse(image, mcuboot::ParseOptions{.strict = false});
    if (parsed.ok()) {
      const auto& v = parsed->header.version;
      result.version = std::to_string(v.major) + "." + std::to_string(v.minor) + "." +
                       std::to_string(v.revision);
      if (v.build) result.version += "." + std::to_string(v.build);
    }
  }
  Executor& ex = session_.executor();
  Time start = ex.Now();
  auto report = [&](Phase phase) {
    if (!options.upload.progress) return;
    Progress p;
    p.phase = phase;
    p.total = image.size();
    p.elapsed_s = Seconds(ex.Now() - start);
    options.upload.progress(p);
  };
  report(Phase::kProbe);
  SMPKIT_TRY(ProbeParams());
  SMPKIT_ASSIGN_OR_RETURN(auto state, ImageState());
  const ImageSlotState* present = FindHash(state, result.hash);
  bool need_confirm = options.mode != UpgradeMode::kTestOnly;
  if (present && present->active) {
    if (present->confirmed || !need_confirm) {
      result.already_running = true;
      result.final_state = state;
      report(Phase::kDone);
      return result;
    }
  } else {
    // Size check against the slot the upload goes to.
    auto slots = SlotInfos();
    if (slots.ok()) {
      for (const auto& s : *slots) {
        if (s.image != options.upload.image || !s.upload_image_id) continue;
        uint64_t limit = s.max_image_size.value_or(s.size.value_or(UINT32_MAX));
        if (image.size() > limit) {
          return Error::Format(Errc::kNoSpace,
                               "image of %zu bytes does not fit slot %u (%llu bytes)", image.size(),
                               s.slot, static_cast<unsigned long long>(limit));
        }
      }
    }
    // An image already in the other slot is not sent again, unless the caller asked to.
    if (!present || !options.upload.skip_if_present) {
      UploadOptions up = options.upload;
      up.skip_if_present = false;
      if (options.on_upload_start) options.on_upload_start();
      SMPKIT_ASSIGN_OR_RETURN(result.upload, Upload(image, up));
      if (options.on_upload_done) options.on_upload_done(result.upload);
    } else {
      result.upload.skipped = true;
      result.upload.size = image.size();
    }
    report(Phase::kMark);
    if (options.mode == UpgradeMode::kConfirmOnly) {
      SMPKIT_TRY(ImageConfirm(ConstByteSpan(result.hash)));
    } else {
      SMPKIT_TRY(ImageTest(result.hash));
    }
    report(Phase::kReset);
    {
      SMPKIT_ASSIGN_OR_RETURN(Reply reply, session_.Call(ResetRequest(false)));
      if (reply.rc == kRcNotSupported && !reply.err) {
        // No OS group (e.g. nRF Desktop's seed-era smp module registers the image group only):
        // the image is in place and marked; only a power cycle boots it.
        if (!options.power_cycle) {
          return Error::Remote(reply.header.group, reply.rc, true,
                               "image uploaded and marked, but the device has no remote reset "
                               "(no OS group): power-cycle it to boot the new image, then run "
                               "`image confirm`");
        }
        SMPKIT_TRY(options.power_cycle(ReplyStatus(reply).error()));
      } else {
        SMPKIT_TRY(ReplyStatus(reply));
      }
    }
    report(Phase::kWait);
    // The device answers once more before it restarts: poll until the new image runs.
    Time deadline = ex.Now() + options.reset_wait;
    while (true) {
      Sleep(ex, options.poll_interval);
      Request req = MakeRequest(kRead, smp::kGroupImage, smp::img::kState, {0xa0});
      req.timeout = std::max(options.poll_interval, Duration(std::chrono::milliseconds(200)));
      req.retries = 0;
      auto r = session_.Call(std::move(req));
      if (r.ok() && r->ok()) {
        auto st = DecodeImageStateResponse(r->payload);
        if (st.ok()) {
          const ImageSlotState* s = FindHash(*st, result.hash);
          if (s && s->active) {
            state = *st;
            break;
          }
          if (!s || (!s->pending && !s->active)) {
            return Error(Errc::kBadState,
                         "device restarted without the new image (rejected by the "
                         "bootloader?)");
          }
        }
      }
      if (ex.Now() >= deadline) {
        return Error::Format(Errc::kTimeout,
                             "device did not come back running the new image within %.1f s",
                             Seconds(options.reset_wait));
      }
    }
  }
  report(Phase::kCheck);
  present = FindHash(state, result.hash);
  if (!present || !present->active) {
    return Error(Errc::kBadState, "the new image is not active after the reset");
  }
  if (need_confirm && !present->confirmed) {
    report(Phase::kConfirm);
    SMPKIT_ASSIGN_OR_RETURN(state, ImageConfirm());
    present = FindHash(state, result.hash);
    if (!present || !present->active || !present->confirmed) {
      return Error(Errc::kBadState, "the new image is not confirmed after confirm");
    }
  }
  result.final_state = state;
  report(Phase::kDone);
  return result;
}

}  // namespace smpkit::client
