#include "smpkit/client/client.h"

#include <algorithm>
#include <map>
#include <memory>

#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/smp/errors.h"

namespace smpkit::client {

namespace {

constexpr uint8_t kOsEcho = 0, kOsReset = 5, kOsParams = 6, kOsInfo = 7;
constexpr uint8_t kImgState = 0, kImgUpload = 1, kImgErase = 5, kImgSlotInfo = 6;
constexpr uint8_t kRead = static_cast<uint8_t>(smp::Op::kRead);
constexpr uint8_t kWrite = static_cast<uint8_t>(smp::Op::kWrite);
constexpr int32_t kRcNotSupported = static_cast<int32_t>(smp::MgmtErr::kNotSup);

template <typename BodyFn>
std::vector<uint8_t> EncodeMap(BodyFn&& body, size_t capacity = 512) {
  std::vector<uint8_t> out(capacity);
  cbor::Writer w(out);
  w.BeginMap();
  body(w);
  w.End();
  out.resize(w.ok() ? w.size() : 0);
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

size_t BstrHeaderSize(size_t n) {
  if (n < 24) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  return 5;
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Calls fn(item) with the encoded bytes of each item of the encoded CBOR array `array`.
template <typename Fn>
Status ForEachItem(ConstByteSpan array, std::string_view what, Fn&& fn) {
  cbor::Reader r(array);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item head, r.Next());
  if (head.type != cbor::Type::kArray) {
    return Error::Format(Errc::kTypeMismatch, "%.*s is not an array", static_cast<int>(what.size()),
                         what.data());
  }
  for (uint64_t i = 0; head.indefinite || i < head.raw; ++i) {
    size_t start = r.position();
    cbor::Reader peek(array.subspan(start));
    SMPKIT_ASSIGN_OR_RETURN(cbor::Item item, peek.Next());
    if (item.type == cbor::Type::kBreak) break;
    SMPKIT_TRY(r.SkipValue());
    Status st = fn(array.subspan(start, r.position() - start));
    if (!st.ok()) return st;
  }
  return {};
}

// Decodes an image state list: {"images": [ {...}, ... ], ...}.
Result<std::vector<ImageSlotState>> DecodeImageState(ConstByteSpan payload) {
  cbor::RawValue images;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(payload, {cbor::RawField("images", &images, &found)}));
  if (!found) return Error(Errc::kCorrupt, "image state response without \"images\"");
  std::vector<ImageSlotState> out;
  Status walk =
      (ForEachItem(images.encoded, "image state \"images\"", [&](ConstByteSpan entry) -> Status {
        ImageSlotState s;
        uint64_t image = 0, slot = 0;
        std::string_view version;
        ConstByteSpan hash;
        SMPKIT_TRY(cbor::DecodeMap(
            entry,
            {cbor::UintField("image", &image), cbor::UintField("slot", &slot),
             cbor::TextField("version", &version), cbor::BytesField("hash", &hash),
             cbor::BoolField("bootable", &s.bootable), cbor::BoolField("pending", &s.pending),
             cbor::BoolField("confirmed", &s.confirmed), cbor::BoolField("active", &s.active),
             cbor::BoolField("permanent", &s.permanent)}));
        s.image = static_cast<uint32_t>(image);
        s.slot = static_cast<uint32_t>(slot);
        s.version = std::string(version);
        s.hash.assign(hash.begin(), hash.end());
        out.push_back(std::move(s));
        return Status();
      }));
  if (!walk.ok()) return walk.error();
  return out;
}

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
// Upload request encoding and sizing

void EncodeUploadPayload(std::vector<uint8_t>& out, bool first, uint32_t image, uint64_t len,
                         uint64_t off, ConstByteSpan sha, bool upgrade, ConstByteSpan data) {
  out.resize(64 + sha.size() + data.size());
  cbor::Writer w(out);
  w.BeginMap();
  if (first) {
    if (image != 0) w.Key("image").Uint(image);
    w.Key("len").Uint(len);
    w.Key("off").Uint(off);
    if (!sha.empty()) w.Key("sha").Bytes(sha);
    if (upgrade) w.Key("upgrade").Bool(true);
  } else {
    w.Key("off").Uint(off);
  }
  w.Key("data").Bytes(data);
  w.End();
  out.resize(w.size());
}

size_t UploadFrameSize(bool first, uint32_t image, uint64_t len, uint64_t off, size_t sha_size,
                       bool upgrade, size_t data_size) {
  std::vector<uint8_t> sha(sha_size), out;
  EncodeUploadPayload(out, first, image, len, off, sha, upgrade, {});
  // The empty data's bstr head is 1 byte; a longer one grows with the data.
  return smp::kHeaderSize + out.size() + data_size + BstrHeaderSize(data_size) - 1;
}

size_t UploadChunkFit(size_t packet_limit, bool first, uint32_t image, uint64_t len, uint64_t off,
                      size_t sha_size, bool upgrade) {
  size_t base = UploadFrameSize(first, image, len, off, sha_size, upgrade, 0);
  if (packet_limit <= base) return 0;
  size_t avail = packet_limit - base;  // data + (bstr head - 1)
  for (size_t k = 0; k <= 4 && k <= avail; ++k) {
    size_t n = avail - k;
    if (n + BstrHeaderSize(n) - 1 <= avail) return n;
  }
  return 0;
}

// ------------------------------------------------------------------------------------------
// Commands

Result<Reply> Client::Call(Request request) {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply, session_.Call(std::move(request)));
  SMPKIT_TRY(ReplyStatus(reply));
  return reply;
}

Result<std::string> Client::Echo(std::string_view text) {
  auto payload = EncodeMap([&](cbor::Writer& w) { w.Key("d").Text(text); }, text.size() + 16);
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kWrite, smp::kGroupOs, kOsEcho, std::move(payload))));
  std::string_view r;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(reply.payload, {cbor::TextField("r", &r, &found)}));
  if (!found) return Error(Errc::kCorrupt, "os echo response without \"r\"");
  return std::string(r);
}

Status Client::Reset(bool force) {
  auto payload = EncodeMap([&](cbor::Writer& w) {
    if (force) w.Key("force").Bool(true);
  });
  SMPKIT_TRY(Call(MakeRequest(kWrite, smp::kGroupOs, kOsReset, std::move(payload))));
  return {};
}

Result<std::optional<McumgrParams>> Client::Params() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          session_.Call(MakeRequest(kRead, smp::kGroupOs, kOsParams, {0xa0})));
  if (reply.rc == kRcNotSupported && !reply.err) return std::optional<McumgrParams>();
  SMPKIT_TRY(ReplyStatus(reply));
  uint64_t size = 0, count = 0;
  bool has_size = false, has_count = false;
  SMPKIT_TRY(cbor::DecodeMap(reply.payload, {cbor::UintField("buf_size", &size, &has_size),
                                             cbor::UintField("buf_count", &count, &has_count)}));
  if (!has_size || !has_count || size < smp::kHeaderSize || size > 0x10007) {
    return Error(Errc::kCorrupt, "os params response without usable buf_size/buf_count");
  }
  return std::optional<McumgrParams>(
      McumgrParams{static_cast<uint32_t>(size), static_cast<uint32_t>(count)});
}

Result<std::optional<McumgrParams>> Client::ProbeParams() {
  if (params_probed_) return params_;
  SMPKIT_ASSIGN_OR_RETURN(params_, Params());
  params_probed_ = true;
  // Without the command, assume Zephyr's default CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE.
  session_.set_server_buf_size(params_ ? params_->buf_size : kDefaultBufSize);
  return params_;
}

Result<std::string> Client::Info(std::string_view format) {
  auto payload = EncodeMap([&](cbor::Writer& w) { w.Key("format").Text(format); });
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupOs, kOsInfo, std::move(payload))));
  std::string_view out;
  SMPKIT_TRY(cbor::DecodeMap(reply.payload, {cbor::TextField("output", &out)}));
  return std::string(out);
}

Result<std::vector<ImageSlotState>> Client::ImageState() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupImage, kImgState, {0xa0})));
  return DecodeImageState(reply.payload);
}

Result<std::vector<ImageSlotState>> Client::StateWrite(std::optional<ConstByteSpan> hash,
                                                       bool confirm) {
  auto payload = EncodeMap([&](cbor::Writer& w) {
    if (hash) w.Key("hash").Bytes(*hash);
    w.Key("confirm").Bool(confirm);
  });
  SMPKIT_ASSIGN_OR_RETURN(
      Reply reply, Call(MakeRequest(kWrite, smp::kGroupImage, kImgState, std::move(payload))));
  return DecodeImageState(reply.payload);
}

Result<std::vector<ImageSlotState>> Client::ImageTest(ConstByteSpan hash) {
  return StateWrite(hash, false);
}

Result<std::vector<ImageSlotState>> Client::ImageConfirm(std::optional<ConstByteSpan> hash) {
  return StateWrite(hash, true);
}

Status Client::ImageErase(std::optional<uint32_t> slot) {
  auto payload = EncodeMap([&](cbor::Writer& w) {
    if (slot) w.Key("slot").Uint(*slot);
  });
  Request req = MakeRequest(kWrite, smp::kGroupImage, kImgErase, std::move(payload));
  req.timeout = std::max(session_.config().timeout, Duration(std::chrono::seconds(20)));
  SMPKIT_TRY(Call(std::move(req)));
  return {};
}

Result<std::vector<SlotInfo>> Client::SlotInfos() {
  SMPKIT_ASSIGN_OR_RETURN(Reply reply,
                          Call(MakeRequest(kRead, smp::kGroupImage, kImgSlotInfo, {0xa0})));
  cbor::RawValue images;
  bool found = false;
  SMPKIT_TRY(cbor::DecodeMap(reply.payload, {cbor::RawField("images", &images, &found)}));
  if (!found) return Error(Errc::kCorrupt, "slot info response without \"images\"");
  std::vector<SlotInfo> out;
  Status walk =
      (ForEachItem(images.encoded, "slot info \"images\"", [&](ConstByteSpan entry) -> Status {
        uint64_t image = 0, max_size = 0;
        bool has_max = false, has_slots = false;
        cbor::RawValue slots;
        SMPKIT_TRY(cbor::DecodeMap(
            entry, {cbor::UintField("image", &image), cbor::RawField("slots", &slots, &has_slots),
                    cbor::UintField("max_image_size", &max_size, &has_max)}));
        if (!has_slots) return Status();
        return ForEachItem(
            slots.encoded, "slot info \"slots\"", [&](ConstByteSpan slot_entry) -> Status {
              uint64_t slot = 0, size = 0, upload_id = 0;
              bool has_size = false, has_id = false;
              Status st = cbor::DecodeMap(
                  slot_entry,
                  {cbor::UintField("slot", &slot), cbor::UintField("size", &size, &has_size),
                   cbor::UintField("upload_image_id", &upload_id, &has_id)});
              if (!st.ok()) return st;
              SlotInfo info;
              info.image = static_cast<uint32_t>(image);
              info.slot = static_cast<uint32_t>(slot);
              if (has_size) info.size = static_cast<uint32_t>(size);
              if (has_id) info.upload_image_id = static_cast<uint32_t>(upload_id);
              if (has_max) info.max_image_size = static_cast<uint32_t>(max_size);
              out.push_back(info);
              return Status();
            });
      }));
  if (!walk.ok()) return walk.error();
  return out;
}

// ------------------------------------------------------------------------------------------
// Pipelined upload

namespace {

class Uploader {
 public:
  Uploader(Session& session, ConstByteSpan image, const UploadOptions& options,
           std::vector<uint8_t> sha, size_t packet_limit, size_t window_cap)
      : session_(session),
        image_(image),
        options_(options),
        sha_(std::move(sha)),
        packet_limit_(packet_limit),
        window_cap_(std::max<size_t>(1, window_cap)),
        window_(std::clamp<size_t>(options.initial_window, 1, window_cap_)) {}

  ~Uploader() { CancelAll(); }

  Result<UploadResult> Run() {
    start_ = session_.executor().Now();
    result_.size = image_.size();
    result_.chunk_data = ChunkSize(1000000, false);
    Pump();
    if (!error_ && !done_ && in_flight_.empty()) {
      return Error(Errc::kInternal, "upload made no progress");
    }
    session_.executor().RunUntil([this] { return done_ || error_.has_value(); });
    CancelAll();
    result_.elapsed_s = Seconds(session_.executor().Now() - start_);
    if (error_) return *error_;
    return result_;
  }

 private:
  struct Chunk {
    uint64_t off;
    size_t len;
    uint64_t acked_at_send = 0;  // acked_ when sent: the device had that much of ours then
  };

  size_t ChunkSize(uint64_t off, bool first) const {
    size_t n = UploadChunkFit(packet_limit_, first, options_.image, image_.size(), off, sha_.size(),
                              options_.upgrade);
    if (options_.max_chunk) n = std::min(n, options_.max_chunk);
    if (options_.align > 1 && n > options_.align) n -= n % options_.align;
    return n;
  }

  void Fail(Error e) {
    if (!error_) error_ = std::move(e);
    CancelAll();
  }

  void CancelAll() {
    for (auto& [id, c] : in_flight_) session_.Cancel(id);
    in_flight_.clear();
  }

  void Pump() {
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
    if (first && n < 32 && remaining >= 32) {
      Fail(Error::Format(Errc::kNoSpace,
                         "a %zu-byte packet limit leaves room for only %zu data bytes in the "
                         "first chunk (at least 32 needed)",
                         packet_limit_, n));
      return;
    }
    if (n == 0) {
      Fail(Error::Format(Errc::kNoSpace, "a %zu-byte packet limit leaves no room for data",
                         packet_limit_));
      return;
    }
    n = std::min(n, remaining);
    Request req;
    req.op = static_cast<uint8_t>(smp::Op::kWrite);
    req.group = smp::kGroupImage;
    req.id = kImgUpload;
    EncodeUploadPayload(req.payload, first, options_.image, image_.size(), off, sha_,
                        options_.upgrade, image_.subspan(off, n));
    if (first) req.timeout = std::max(options_.first_timeout, session_.config().timeout);
    req.on_retransmit = [this] { OnLoss(); };
    Chunk chunk{off, n, acked_};
    next_off_ = off + n;
    sent_high_ = std::max(sent_high_, next_off_);
    ++result_.chunks_sent;
    auto id = session_.Submit(std::move(req),
                              [this, chunk](Result<Reply> r) { OnReply(chunk, std::move(r)); });
    in_flight_[id] = chunk;
    result_.max_window_used = std::max(result_.max_window_used, in_flight_.size());
  }

  void OnLoss() {
    ++result_.retransmits;
    window_ = std::max<size_t>(1, window_ / 2);
    clean_ = 0;
  }

  void OnReply(Chunk chunk, Result<Reply> r) {
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
      if (it->second.off == chunk.off && it->second.len == chunk.len) {
        in_flight_.erase(it);
        break;
      }
    }
    if (!r.ok()) return Fail(r.error());
    const Reply& reply = *r;
    if (!reply.ok()) return Fail(ReplyStatus(reply).error());
    uint64_t off = 0;
    bool has_off = false, match = false, has_match = false;
    auto st = cbor::DecodeMap(reply.payload, {cbor::UintField("off", &off, &has_off),
                                              cbor::BoolField("match", &match, &has_match)});
    if (!st.ok()) return Fail(st.error());
    if (!has_off) return Fail(Error(Errc::kCorrupt, "image upload response without \"off\""));
    if (off > image_.size()) {
      return Fail(Error::Format(Errc::kCorrupt,
                                "device reports offset %llu beyond the image length %zu",
                                static_cast<unsigned long long>(off), image_.size()));
    }
    if (!acked_any_) {
      acked_any_ = true;
      if (chunk.off == 0 && off != chunk.len) result_.resumed_from = off;
    }
    if (off == image_.size()) {
      if (has_match) result_.match = match;
      acked_ = off;
      Report();
      if (has_match && !match) {
        return Fail(Error(Errc::kCrypto,
                          "device reports the uploaded image does not match its SHA-256 "
                          "(match: false; did another upload take over the device's single "
                          "upload session?)"));
      }
      done_ = true;
      CancelAll();
      return;
    }
    if (off == chunk.off + chunk.len) {
      acked_ = std::max(acked_, off);
      if (++clean_ >= window_) {
        clean_ = 0;
        window_ = std::min(window_cap_, window_ + 1);
      }
    } else {
      // The device keeps one upload session; a first chunk from another client restarts it
      // (Zephyr). Its offset then is one this upload cannot have: below what the device had
      // already acknowledged to us when this chunk was sent, or beyond all we sent. Going on
      // would mix the two images, so stop and say why.
      if (chunk.off != 0 && off != 0 && (off < chunk.acked_at_send || off > sent_high_)) {
        return Fail(Error::Format(
            Errc::kBusy,
            "another upload took over the device's upload session (it expects offset %llu, "
            "this upload had reached %llu): the device keeps a single upload at a time",
            static_cast<unsigned long long>(off), static_cast<unsigned long long>(acked_)));
      }
      // The device expects another offset: a chunk was lost or duplicated, the upload was
      // resumed, or the device lost its session (off 0: restart with a full first chunk).
      ++result_.rewinds;
      CancelAll();
      next_off_ = off;
      acked_ = off;
    }
    Report();
    Pump();
  }

  void Report() {
    if (!options_.progress) return;
    Progress p;
    p.phase = "upload";
    p.offset = acked_;
    p.total = image_.size();
    p.elapsed_s = Seconds(session_.executor().Now() - start_);
    p.rate_bps = p.elapsed_s > 0 ? static_cast<double>(acked_) / p.elapsed_s : 0;
    p.window = window_;
    p.retransmits = result_.retransmits;
    options_.progress(p);
  }

  Session& session_;
  ConstByteSpan image_;
  const UploadOptions& options_;
  std::vector<uint8_t> sha_;
  size_t packet_limit_;
  size_t window_cap_;
  size_t window_;
  size_t clean_ = 0;
  uint64_t next_off_ = 0;
  uint64_t sent_high_ = 0;  // end of the furthest chunk ever sent (rewinds included)
  uint64_t acked_ = 0;
  bool acked_any_ = false;
  bool done_ = false;
  std::optional<Error> error_;
  std::map<Session::RequestId, Chunk> in_flight_;
  UploadResult result_;
  Time start_{0};
};

}  // namespace

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
  size_t window_cap = options.max_window;
  if (params && params->buf_count > 1) {
    window_cap = std::min<size_t>(window_cap, params->buf_count - 1);
  }
  Uploader uploader(session_, image, options,
                    std::vector<uint8_t>(sha_view.begin(), sha_view.end()),
                    session_.MaxPacketSize(), window_cap);
  return uploader.Run();
}

// ------------------------------------------------------------------------------------------
// Upgrade

Status Client::WaitForDevice(Duration wait, Duration poll_interval) {
  Executor& ex = session_.executor();
  Time deadline = ex.Now() + wait;
  while (true) {
    Request req = MakeRequest(kWrite, smp::kGroupOs, kOsEcho,
                              EncodeMap([](cbor::Writer& w) { w.Key("d").Text("ping"); }));
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
  auto report = [&](std::string_view phase) {
    if (!options.upload.progress) return;
    Progress p;
    p.phase = std::string(phase);
    p.total = image.size();
    p.elapsed_s = Seconds(ex.Now() - start);
    options.upload.progress(p);
  };
  report("probe");
  SMPKIT_TRY(ProbeParams());
  SMPKIT_ASSIGN_OR_RETURN(auto state, ImageState());
  const ImageSlotState* present = FindHash(state, result.hash);
  bool need_confirm = options.mode != UpgradeMode::kTestOnly;
  if (present && present->active) {
    if (present->confirmed || !need_confirm) {
      result.already_running = true;
      result.final_state = state;
      report("done");
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
    if (!present) {
      UploadOptions up = options.upload;
      up.skip_if_present = false;
      SMPKIT_ASSIGN_OR_RETURN(result.upload, Upload(image, up));
    } else {
      result.upload.skipped = true;
      result.upload.size = image.size();
    }
    report("mark");
    if (options.mode == UpgradeMode::kConfirmOnly) {
      SMPKIT_TRY(ImageConfirm(ConstByteSpan(result.hash)));
    } else {
      SMPKIT_TRY(ImageTest(result.hash));
    }
    report("reset");
    SMPKIT_TRY(Reset());
    report("wait");
    // The device answers once more before it restarts: poll until the new image runs.
    Time deadline = ex.Now() + options.reset_wait;
    while (true) {
      Sleep(ex, options.poll_interval);
      Request req = MakeRequest(kRead, smp::kGroupImage, kImgState, {0xa0});
      req.timeout = std::max(options.poll_interval, Duration(std::chrono::milliseconds(200)));
      req.retries = 0;
      auto r = session_.Call(std::move(req));
      if (r.ok() && r->ok()) {
        auto st = DecodeImageState(r->payload);
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
  report("check");
  present = FindHash(state, result.hash);
  if (!present || !present->active) {
    return Error(Errc::kBadState, "the new image is not active after the reset");
  }
  if (need_confirm && !present->confirmed) {
    report("confirm");
    SMPKIT_ASSIGN_OR_RETURN(state, ImageConfirm());
    present = FindHash(state, result.hash);
    if (!present || !present->active || !present->confirmed) {
      return Error(Errc::kBadState, "the new image is not confirmed after confirm");
    }
  }
  result.final_state = state;
  report("done");
  return result;
}

}  // namespace smpkit::client
