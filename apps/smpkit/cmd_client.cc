// The SMP client commands: echo, reset, params, info, taskstat, datetime, bootloader, raw,
// image list|upload|test|confirm|erase|slots, upgrade. Connections: udp:HOST[:PORT] (default
// port 1337), serial:PATH[,BAUD], blesim:SOCKET, sim (an in-process simulated device on
// virtual time, only when named). Without --conn and $SMPKIT_CONN a device command fails
// (exit 2): a script must never "succeed" against a device it did not name.
//
// Output: human text by default; --json prints one JSON document on stdout, errors included
// (see ReportError). Progress (upload, upgrade): --progress bar (TTY bar with rate and ETA
// on stderr), jsonl (one JSON event per line on stdout, ending with a "result" or an
// "error" event), none; auto = bar on a TTY unless --json. Keys are snake_case throughout.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "smpkit/base/crc.h"
#include "smpkit/base/hex.h"
#include "smpkit/bluez/ble_link.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/device_link.h"
#include "smpkit/simlink/scheduler_executor.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/errors.h"
#include "smpkit/smp/message.h"

namespace smpkit::cli {

namespace {

using json = nlohmann::ordered_json;

struct ClientOptions {
  bool require_v2 = false;
  size_t window = 4;
  size_t chunk = 0;
  std::string progress = "auto";
  double first_timeout_s = 20;
  uint32_t image = 0;
  bool upgrade = false;
  bool no_skip = false;
  bool allow_downgrade = false;
};

int ExitCodeFor(const Error& e) {
  switch (e.code()) {
    case Errc::kTimeout:
    case Errc::kIo:
    case Errc::kNotFound:
      return kExitUnreachable;
    case Errc::kRemote:
      return kExitRejected;
    case Errc::kNotSupported:
    case Errc::kCorrupt:
    case Errc::kTypeMismatch:
    case Errc::kTruncated:
    case Errc::kDuplicateKey:
      return kExitProtocol;
    case Errc::kInvalidArgument:
    case Errc::kNoSpace:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

SmpErrorInfo SmpInfoOf(uint16_t header_group, int32_t rc,
                       const std::optional<smp::GroupError>& err) {
  SmpErrorInfo info;
  if (err) {
    info.group = err->group;
    info.rc = err->rc;
    info.name = std::string(smp::GroupErrName(err->group, err->rc));
  } else {
    info.group = header_group;
    info.rc = rc;
    info.name = std::string(smp::MgmtErrName(rc));
  }
  return info;
}

SmpErrorInfo SmpInfoOf(const Error& e) {
  if (e.smp_mgmt_rc()) return SmpInfoOf(e.smp_group(), e.smp_rc(), std::nullopt);
  return SmpInfoOf(e.smp_group(), 0,
                   smp::GroupError{e.smp_group(), static_cast<uint16_t>(e.smp_rc())});
}

// Watches what the device sends: the last SMP error reply (for error reports) and how many
// packets in a row the session could not use (garbage, wrong sequence numbers, undecodable
// payloads), so that a timeout after such answers is reported as an unusable answer (exit 6),
// not as an unreachable device.
class WatchLink final : public client::Link {
 public:
  explicit WatchLink(client::Link& inner) : inner_(inner) {}
  void set_session(const client::Session* s) { session_ = s; }
  Status Send(ConstByteSpan packet) override { return inner_.Send(packet); }
  void SetReceiveHandler(ReceiveHandler handler) override {
    inner_.SetReceiveHandler([this, handler](ConstByteSpan packet) {
      const client::SessionStats before = session_ ? session_->stats() : client::SessionStats{};
      NoteError(packet);
      if (handler) handler(packet);
      if (!session_) return;
      const client::SessionStats& after = session_->stats();
      if (after.matched > before.matched) {
        unusable_ = 0;
      } else {
        ++unusable_;
        reason_ = after.dropped_bad > before.dropped_bad
                      ? "not a well-formed SMP response (header, length or CBOR payload)"
                      : "a response to no pending request (wrong sequence number, group, "
                        "command or op)";
      }
    });
  }
  client::LinkInfo Info() const override { return inner_.Info(); }

  uint64_t unusable() const { return unusable_; }
  const std::string& reason() const { return reason_; }
  const std::optional<SmpErrorInfo>& last_error() const { return last_error_; }

 private:
  void NoteError(ConstByteSpan packet) {
    auto header = smp::DecodeHeader(packet);
    if (!header.ok() || smp::kHeaderSize + header->length > packet.size()) return;
    auto r = smp::ParseResponse(packet.first(smp::kHeaderSize + header->length));
    if (!r.ok() || r->ok()) return;
    last_error_ = SmpInfoOf(r->header.group, r->rc, r->err);
  }

  client::Link& inner_;
  const client::Session* session_ = nullptr;
  uint64_t unusable_ = 0;
  std::string reason_;
  std::optional<SmpErrorInfo> last_error_;
};

// Everything a command needs to talk to a device.
class Context {
 public:
  // Errors: kInvalidArgument (no or bad connection: exit 2), others (cannot open: exit 4).
  Status Open(const GlobalOptions& global, const ClientOptions& copt) {
    std::string conn = global.conn;
    if (conn.empty()) {
      const char* env = std::getenv("SMPKIT_CONN");
      if (env) conn = env;
    }
    if (conn.empty()) {
      return Error(Errc::kInvalidArgument,
                   "no device given: use --conn URI or set SMPKIT_CONN (udp:HOST[:PORT], "
                   "serial:PATH[,BAUD], ble:ADDRESS|NAME, blesim:SOCKET, or sim for the "
                   "in-process simulator)");
    }
    conn_ = conn;
    SMPKIT_ASSIGN_OR_RETURN(auto spec, io::ParseConnection(conn));
    spec.mtu = global.mtu;
    client::SessionConfig sc;
    sc.timeout = std::chrono::duration_cast<client::Duration>(
        std::chrono::duration<double>(global.timeout_s));
    sc.retries = global.retries;
    sc.allow_v1_fallback = !copt.require_v2;
    if (spec.kind == io::ConnectionSpec::Kind::kSim) {
      device::DeviceConfig dc;
      dc.os.taskstat = true;
      dc.os.datetime = true;
      files_ = std::make_unique<mgmt::RamFileSystem>(64u << 20);
      dc.fs_group = true;
      dc.file_system = files_.get();
      dc.shell_group = true;
      dc.settings_group = true;
      dc.settings_size = 2 * dc.page_size;
      flash_ = std::make_unique<flash::RamFlash>(dc.Geometry());
      device_ = std::make_unique<device::Device>(*flash_, dc);
      auto factory = device::MakeFactoryImage("1.0.0", 3000);
      if (!factory.ok()) return factory.error();
      SMPKIT_TRY(device_->Provision(*factory));
      SMPKIT_TRY(device_->Boot());
      scheduler_ = std::make_unique<sim::Scheduler>();
      executor_ = std::make_unique<simlink::SchedulerExecutor>(*scheduler_);
      link_ = std::make_unique<simlink::DevicePacketLink>(*device_, *executor_);
      if (global.mtu != 0) {
        inner_ = std::move(link_);
        link_ = std::make_unique<client::CappedLink>(*inner_, global.mtu);
      }
    } else if (spec.kind == io::ConnectionSpec::Kind::kBle) {
      executor_ = std::make_unique<io::AsioExecutor>(io_);
      bluez::BleLinkOptions bo;
      bo.target = spec.path;
      bo.pair = global.pair;
      const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::duration<double>(global.timeout_s));
      // Finding and connecting get at least 5 s: advertising intervals and connection setup
      // take longer than an SMP round trip.
      bo.find_timeout = std::max(t, std::chrono::milliseconds(5000));
      bo.connect_timeout = std::max(t, std::chrono::milliseconds(5000));
      bo.answer_wait = std::min(std::chrono::milliseconds(1500), t / 2);
      const bool quiet = global.json;
      bo.note = [quiet](std::string_view text) {
        if (!quiet) fmt::print(stderr, "smpkit: {}\n", text);
      };
      auto link = bluez::BleLink::Open(io_, bo);
      if (!link.ok()) {
        return Error(link.error().code() == Errc::kInvalidArgument ? Errc::kIo
                                                                    : link.error().code(),
                     link.error().message());
      }
      link_ = std::move(*link);
      if (global.mtu != 0) {
        inner_ = std::move(link_);
        link_ = std::make_unique<client::CappedLink>(*inner_, global.mtu);
      }
    } else {
      executor_ = std::make_unique<io::AsioExecutor>(io_);
      auto c = io::OpenConnection(io_, spec);
      if (!c.ok()) {
        // The connection string was fine: failing to open it means unreachable.
        return Error(c.error().code() == Errc::kInvalidArgument ? Errc::kIo : c.error().code(),
                     c.error().message());
      }
      stream_ = std::move(c->stream);
      inner_ = std::move(c->inner);
      link_ = std::move(c->link);
    }
    watch_ = std::make_unique<WatchLink>(*link_);
    session_ = std::make_unique<client::Session>(*watch_, *executor_, sc);
    watch_->set_session(session_.get());
    client_ = std::make_unique<client::Client>(*session_);
    return {};
  }
  client::Client& client() { return *client_; }
  client::Session& session() { return *session_; }
  const WatchLink& watch() const { return *watch_; }
  const std::string& conn() const { return conn_; }

 private:
  std::string conn_;
  asio::io_context io_;
  std::unique_ptr<flash::RamFlash> flash_;
  std::unique_ptr<mgmt::RamFileSystem> files_;
  std::unique_ptr<device::Device> device_;
  std::unique_ptr<sim::Scheduler> scheduler_;
  std::unique_ptr<client::Executor> executor_;
  std::unique_ptr<client::ByteStream> stream_;
  std::unique_ptr<client::Link> inner_;
  std::unique_ptr<client::Link> link_;
  std::unique_ptr<WatchLink> watch_;
  std::unique_ptr<client::Session> session_;
  std::unique_ptr<client::Client> client_;
};

// Runs `body(ctx)` with an open connection; maps errors to exit codes.
template <typename Body>
void WithDevice(const GlobalOptions& global, const ClientOptions& copt, int* exit_code,
                Body&& body) {
  Context ctx;
  Status st = ctx.Open(global, copt);
  if (!st.ok()) {
    const bool usage = st.error().code() == Errc::kInvalidArgument;
    *exit_code = ReportError(
        global, usage ? kExitUsage : kExitUnreachable,
        usage ? std::string(st.error().message())
              : fmt::format("cannot open connection {}: {}", ctx.conn(), st.error().message()));
    return;
  }
  *exit_code = body(ctx);
}

// Failure while talking to the device: unreachable (naming the connection), unusable
// answers, SMP errors (with group/rc/name) and the rest.
int DeviceFail(const GlobalOptions& global, Context& ctx, std::string_view what, const Error& e) {
  if (e.code() == Errc::kTimeout) {
    if (ctx.watch().unusable() > 0) {
      return ReportError(
          global, kExitProtocol,
          fmt::format("{}: device at {} answered {} packet{} that could not be used: {}", what,
                      ctx.conn(), ctx.watch().unusable(), ctx.watch().unusable() == 1 ? "" : "s",
                      ctx.watch().reason()));
    }
    return ReportError(
        global, kExitUnreachable,
        fmt::format("{}: device at {} unreachable: {}", what, ctx.conn(), e.message()));
  }
  const int code = ExitCodeFor(e);
  std::optional<SmpErrorInfo> smp;
  // The device's group and rc travel in the error; an error made from another one (with
  // more context) may have left them behind, then the last error answer seen stands in.
  if (e.has_smp()) {
    smp = SmpInfoOf(e);
  } else if (e.code() == Errc::kRemote) {
    smp = ctx.watch().last_error();
  }
  std::string message = fmt::format("{}: {}", what, e.message());
  if (code == kExitProtocol && e.code() != Errc::kNotSupported) {
    message = fmt::format("{}: device at {} answered something unusable: {}", what, ctx.conn(),
                          e.message());
  }
  return ReportError(global, code, message, smp);
}

json StateJson(const std::vector<client::ImageSlotState>& state) {
  json arr = json::array();
  for (const auto& s : state) {
    arr.push_back({{"image", s.image},
                   {"slot", s.slot},
                   {"version", s.version},
                   {"hash", HexEncode(s.hash)},
                   {"bootable", s.bootable},
                   {"pending", s.pending},
                   {"confirmed", s.confirmed},
                   {"active", s.active},
                   {"permanent", s.permanent}});
  }
  return json{{"images", arr}};
}

void PrintState(const std::vector<client::ImageSlotState>& state) {
  for (const auto& s : state) {
    std::string flags;
    for (auto [on, name] : {std::pair{s.active, "active"},
                            {s.confirmed, "confirmed"},
                            {s.pending, "pending"},
                            {s.permanent, "permanent"},
                            {s.bootable, "bootable"}}) {
      if (on) flags += std::string(flags.empty() ? "" : " ") + name;
    }
    fmt::print("image {} slot {}: version {}  [{}]\n  hash {}\n", s.image, s.slot, s.version, flags,
               HexEncode(s.hash));
  }
  if (state.empty()) fmt::print("no images\n");
}

std::string HumanBytes(double b) {
  if (b >= 1024 * 1024) return fmt::format("{:.1f} MiB", b / (1024 * 1024));
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024);
  return fmt::format("{:.0f} B", b);
}

// Progress reporting: TTY bar on stderr or JSON lines on stdout. The rate counts only the
// bytes sent in this run: after a resume, from the offset the device resumed at.
client::ProgressFn MakeProgress(const GlobalOptions& global, const ClientOptions& copt) {
  std::string mode = copt.progress;
  if (mode == "auto") mode = (!global.json && isatty(STDERR_FILENO)) ? "bar" : "none";
  struct RateState {
    std::optional<uint64_t> first_offset;
    double first_elapsed = 0;
    double last_bar = -1;
  };
  auto st = std::make_shared<RateState>();
  auto rate = [st](const client::Progress& p) {
    if (p.phase != client::Phase::kUpload && p.phase != client::Phase::kDownload) return 0.0;
    if (!st->first_offset) {
      st->first_offset = p.offset;
      st->first_elapsed = p.elapsed_s;
      return 0.0;
    }
    const double dt = p.elapsed_s - st->first_elapsed;
    return dt > 0 ? static_cast<double>(p.offset - std::min(p.offset, *st->first_offset)) / dt
                  : 0.0;
  };
  if (mode == "jsonl") {
    return [rate](const client::Progress& p) {
      json e = {{"event", "progress"},      {"phase", client::PhaseName(p.phase)},
                {"offset", p.offset},       {"total", p.total},
                {"elapsed_s", p.elapsed_s}, {"rate_bps", rate(p)},
                {"window", p.window},       {"retransmits", p.retransmits}};
      fmt::print("{}\n", e.dump());
      std::fflush(stdout);
    };
  }
  if (mode == "bar") {
    return [st, rate](const client::Progress& p) {
      if (p.phase != client::Phase::kUpload && p.phase != client::Phase::kDownload) {
        fmt::print(stderr, "\r\033[K{}...{}", client::PhaseName(p.phase),
                   p.phase == client::Phase::kDone ? "\n" : "");
        return;
      }
      const double bps = rate(p);
      bool final = p.offset == p.total;
      if (!final && p.elapsed_s - st->last_bar < 0.1) return;
      st->last_bar = p.elapsed_s;
      double frac = p.total ? static_cast<double>(p.offset) / static_cast<double>(p.total) : 0;
      int width = 30, filled = static_cast<int>(frac * width);
      double eta = bps > 0 ? static_cast<double>(p.total - p.offset) / bps : 0;
      fmt::print(stderr, "\r\033[K{} [{}{}] {:3.0f}% {}/{} {}/s ETA {:.0f}s{}", client::PhaseName(p.phase),
                 std::string(filled, '#'), std::string(width - filled, '.'), frac * 100,
                 HumanBytes(static_cast<double>(p.offset)),
                 HumanBytes(static_cast<double>(p.total)), HumanBytes(bps), eta, final ? "\n" : "");
    };
  }
  return nullptr;
}

client::UploadOptions MakeUploadOptions(const GlobalOptions& global, const ClientOptions& copt) {
  client::UploadOptions o;
  o.max_window = std::max<size_t>(1, copt.window);
  o.max_chunk = copt.chunk;
  o.first_timeout = std::chrono::duration_cast<client::Duration>(
      std::chrono::duration<double>(std::max(copt.first_timeout_s, global.timeout_s)));
  o.progress = MakeProgress(global, copt);
  o.image = copt.image;
  o.upgrade = copt.upgrade;
  o.skip_if_present = !copt.no_skip;
  // Packet-size fallbacks are said as they happen: a line on stderr, or a JSON-lines event
  // (and the result's "mtu_fallbacks" either way).
  const bool jsonl = copt.progress == "jsonl";
  const bool quiet = global.json && !jsonl;
  o.on_mtu_fallback = [jsonl, quiet](const client::MtuFallback& f) {
    if (jsonl) {
      json e = {{"event", "mtu_fallback"}, {"from", f.from}, {"to", f.to}, {"reason", f.reason}};
      fmt::print("{}\n", e.dump());
      std::fflush(stdout);
    } else if (!quiet) {
      fmt::print(stderr, "smpkit: {}-byte requests did not get through ({}); continuing with "
                 "{}-byte requests\n", f.from, f.reason, f.to);
    }
  };
  return o;
}

// Bytes per second actually sent: a resumed upload did not send the bytes before its offset.
double SentRate(const client::UploadResult& r) {
  const uint64_t sent = r.size - std::min(r.size, r.resumed_from);
  return r.elapsed_s > 0 && !r.skipped ? static_cast<double>(sent) / r.elapsed_s : 0.0;
}

json UploadJson(const client::UploadResult& r) {
  json j = {{"skipped", r.skipped},           {"size", r.size},
            {"resumed_from", r.resumed_from}, {"elapsed_s", r.elapsed_s},
            {"chunks", r.chunks_sent},        {"retransmits", r.retransmits},
            {"rewinds", r.rewinds},           {"max_window", r.max_window_used},
            {"chunk_data", r.chunk_data}};
  j["match"] = r.match ? json(*r.match) : json(nullptr);
  j["fast_retransmits"] = r.fast_retransmits;
  j["timeouts"] = r.timeouts;
  j["stale_answers"] = r.stale_answers;
  j["final_answer_lost"] = r.final_answer_lost;
  j["packet_size"] = r.packet_size;
  j["srtt_ms"] = r.srtt_ms;
  json fallbacks = json::array();
  for (const auto& f : r.mtu_fallbacks) {
    fallbacks.push_back({{"from", f.from}, {"to", f.to}, {"reason", f.reason}});
  }
  j["mtu_fallbacks"] = fallbacks;
  j["rate_bps"] = SentRate(r);
  return j;
}

void PrintResult(const GlobalOptions& global, const ClientOptions& copt, const json& j) {
  if (copt.progress == "jsonl") {
    json e = j;
    e["event"] = "result";
    fmt::print("{}\n", e.dump());
  } else {
    fmt::print("{}\n", j.dump(global.json ? -1 : 2));
  }
}

// An image file for upload/upgrade, checked before anything is sent: a readable, non-empty
// file (binary or Intel HEX) that parses as an MCUboot image. Bad input: exit 3.
std::optional<InputFile> LoadImage(const GlobalOptions& global, const std::string& path,
                                   int* exit_code) {
  auto file = InputFile::Open(path);
  if (!file.ok()) {
    *exit_code = ReportError(global, kExitBadInput, file.error().message());
    return std::nullopt;
  }
  auto hash = client::ImageHashOf(file->bytes());
  if (!hash.ok()) {
    *exit_code =
        ReportError(global, kExitBadInput, fmt::format("{}: {}", path, hash.error().message()));
    return std::nullopt;
  }
  return std::move(*file);
}

// Refuses (exit 3) an image larger than the slot it would be uploaded to, when the device
// reports its slots. Returns 0 when it fits or the device cannot tell.
int CheckFitsSlot(const GlobalOptions& global, Context& ctx, const std::string& path,
                  uint32_t image, uint64_t size) {
  auto slots = ctx.client().SlotInfos();
  if (!slots.ok()) {
    // Slot info is optional (rc 8): then the device checks the size itself.
    if (slots.error().code() == Errc::kRemote) return 0;
    return DeviceFail(global, ctx, "image upload", slots.error());
  }
  for (const auto& s : *slots) {
    if (s.image != image || !s.upload_image_id) continue;
    const uint64_t limit = s.max_image_size.value_or(s.size.value_or(UINT32_MAX));
    if (size > limit) {
      return ReportError(global, kExitBadInput,
                         fmt::format("{}: image of {} bytes does not fit slot {} ({} bytes)", path,
                                     size, s.slot, limit));
    }
  }
  return 0;
}

// "1.2.3" or "1.2.3.4" (SMP form) -> comparable tuple.
std::optional<std::array<uint64_t, 4>> ParseSmpVersion(std::string_view text) {
  std::array<uint64_t, 4> v{};
  size_t part = 0;
  size_t i = 0;
  while (i <= text.size()) {
    if (part >= 4) return std::nullopt;
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i) return std::nullopt;
    v[part++] = std::strtoull(std::string(text.substr(i, j - i)).c_str(), nullptr, 10);
    if (j == text.size()) break;
    if (text[j] != '.' && text[j] != '+') return std::nullopt;
    i = j + 1;
  }
  if (part < 1) return std::nullopt;
  return v;
}

// Encodes JSON as CBOR for raw requests: objects, arrays, text, integers, booleans, null;
// {"$hex": "0a0b"} for a byte string. Errors: kInvalidArgument for other values.
Status JsonToCbor(const json& j, cbor::Writer& w, int depth) {
  if (depth > 16) return Error(Errc::kInvalidArgument, "JSON nested too deeply");
  if (j.is_object()) {
    if (j.size() == 1 && j.contains("$hex") && j["$hex"].is_string()) {
      SMPKIT_ASSIGN_OR_RETURN(auto bytes, HexDecode(j["$hex"].get<std::string>()));
      w.Bytes(bytes);
      return {};
    }
    w.BeginMap();
    for (auto it = j.begin(); it != j.end(); ++it) {
      w.Key(it.key());
      SMPKIT_TRY(JsonToCbor(it.value(), w, depth + 1));
    }
    w.End();
  } else if (j.is_array()) {
    w.BeginArray();
    for (const auto& v : j) SMPKIT_TRY(JsonToCbor(v, w, depth + 1));
    w.End();
  } else if (j.is_string()) {
    w.Text(j.get_ref<const std::string&>());
  } else if (j.is_boolean()) {
    w.Bool(j.get<bool>());
  } else if (j.is_null()) {
    w.Null();
  } else if (j.is_number_unsigned()) {
    w.Uint(j.get<uint64_t>());
  } else if (j.is_number_integer()) {
    w.Int(j.get<int64_t>());
  } else {
    return Error(Errc::kInvalidArgument, "JSON floating-point numbers are not supported");
  }
  return {};
}

// Decodes one CBOR value (whose head is `item`) as JSON: byte strings become hex text.
Result<json> CborToJson(cbor::Reader& r, const cbor::Item& item, int depth) {
  if (depth > 16) return Error(Errc::kCorrupt, "CBOR nested too deeply");
  switch (item.type) {
    case cbor::Type::kUint:
      return json(item.raw);
    case cbor::Type::kNegint:
      if (item.raw <= static_cast<uint64_t>(INT64_MAX)) {
        return json(-1 - static_cast<int64_t>(item.raw));
      }
      return json(-1.0 - static_cast<double>(item.raw));
    case cbor::Type::kBytes:
      return json(HexEncode(item.bytes));
    case cbor::Type::kText:
      return json(std::string(item.text()));
    case cbor::Type::kBytesIndef:
    case cbor::Type::kTextIndef: {
      std::string out;
      while (true) {
        SMPKIT_ASSIGN_OR_RETURN(cbor::Item chunk, r.Next());
        if (chunk.type == cbor::Type::kBreak) break;
        out += item.type == cbor::Type::kBytesIndef ? HexEncode(chunk.bytes) : std::string(chunk.text());
      }
      return json(out);
    }
    case cbor::Type::kArray: {
      json arr = json::array();
      for (uint64_t i = 0; item.indefinite || i < item.raw; ++i) {
        SMPKIT_ASSIGN_OR_RETURN(cbor::Item next, r.Next());
        if (next.type == cbor::Type::kBreak) break;
        SMPKIT_ASSIGN_OR_RETURN(json v, CborToJson(r, next, depth + 1));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case cbor::Type::kMap: {
      json obj = json::object();
      for (uint64_t i = 0; item.indefinite || i < item.raw; ++i) {
        SMPKIT_ASSIGN_OR_RETURN(cbor::Item key, r.Next());
        if (key.type == cbor::Type::kBreak) break;
        SMPKIT_ASSIGN_OR_RETURN(json k, CborToJson(r, key, depth + 1));
        SMPKIT_ASSIGN_OR_RETURN(cbor::Item val, r.Next());
        SMPKIT_ASSIGN_OR_RETURN(json v, CborToJson(r, val, depth + 1));
        obj[k.is_string() ? k.get<std::string>() : k.dump()] = std::move(v);
      }
      return obj;
    }
    case cbor::Type::kTag: {
      SMPKIT_ASSIGN_OR_RETURN(cbor::Item inner, r.Next());
      return CborToJson(r, inner, depth + 1);
    }
    case cbor::Type::kBool:
      return json(item.boolean);
    case cbor::Type::kFloat:
      return json(item.number);
    case cbor::Type::kNull:
    case cbor::Type::kUndefined:
      return json(nullptr);
    case cbor::Type::kBreak:
      break;
  }
  return Error(Errc::kCorrupt, "unexpected CBOR break");
}

Result<json> DecodePayload(ConstByteSpan payload) {
  cbor::Reader r(payload);
  SMPKIT_ASSIGN_OR_RETURN(cbor::Item head, r.Next());
  return CborToJson(r, head, 0);
}

// One request through the session; an SMP error reply becomes kRemote. The decoded payload.
struct RawAnswer {
  client::Reply reply;
  json payload;
};
Result<RawAnswer> CallRaw(Context& ctx, uint8_t op, uint16_t group, uint8_t id,
                          std::vector<uint8_t> payload) {
  client::Request req;
  req.op = op;
  req.group = group;
  req.id = id;
  req.payload = std::move(payload);
  SMPKIT_ASSIGN_OR_RETURN(client::Reply reply, ctx.session().Call(std::move(req)));
  SMPKIT_TRY(client::ReplyStatus(reply));
  RawAnswer a;
  SMPKIT_ASSIGN_OR_RETURN(a.payload, DecodePayload(reply.payload));
  a.reply = std::move(reply);
  return a;
}

std::vector<uint8_t> EncodeJson(const json& j) {
  std::vector<uint8_t> out(j.dump().size() * 2 + 64);
  cbor::Writer w(out);
  (void)JsonToCbor(j, w, 0);
  out.resize(w.ok() ? w.size() : 0);
  return out;
}

constexpr uint8_t kRead = static_cast<uint8_t>(smp::Op::kRead);
constexpr uint8_t kWrite = static_cast<uint8_t>(smp::Op::kWrite);

std::string_view BootModeName(int64_t mode) {
  switch (mode) {
    case -1:
      return "unknown";
    case 0:
      return "single application";
    case 1:
      return "swap using scratch";
    case 2:
      return "overwrite only";
    case 3:
      return "swap without scratch";
    case 4:
      return "direct XIP without revert";
    case 5:
      return "direct XIP with revert";
    case 6:
      return "RAM loader";
    case 7:
      return "firmware loader";
    case 8:
      return "RAM load with network core";
    case 9:
      return "swap using move";
    default:
      return "?";
  }
}

struct FsArgs {
  std::string local;
  std::string remote;
  bool resume = false;
  std::string type;
  uint64_t off = 0;
  std::optional<uint64_t> len;
};

// Where an upload of `data` can carry on: the size of the device's copy when its bytes are
// the first bytes of `data` (crc32 from the device), else 0.
Result<uint64_t> ResumePoint(client::Client& c, const std::string& remote, ConstByteSpan data) {
  auto size = c.FsStatus(remote);
  if (!size.ok()) {
    // No such file there yet: from the start.
    if (size.error().code() == Errc::kRemote) return uint64_t{0};
    return size.error();
  }
  if (*size == 0 || *size > data.size()) return uint64_t{0};
  auto crc = c.FsHash(remote, "crc32", 0, *size);
  if (!crc.ok()) {
    if (crc.error().code() == Errc::kRemote) return uint64_t{0};  // no hash command: start over
    return crc.error();
  }
  if (!crc->crc || *crc->crc != Crc32(data.first(static_cast<size_t>(*size)))) return uint64_t{0};
  return *size;
}

// Writes a downloaded file: appended to the existing one (resume), or under a temporary name
// renamed over `path` once complete, so a failed download never leaves half a file.
Status SaveDownload(const std::string& path, ConstByteSpan data, bool append) {
  const std::string target = append ? path : path + ".smpkit-part";
  const int fd = ::open(target.c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) {
    return Error::Format(Errc::kIo, "cannot write %s: %s", target.c_str(), std::strerror(errno));
  }
  size_t n = 0;
  while (n < data.size()) {
    const ssize_t w = ::write(fd, data.data() + n, data.size() - n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int e = errno;
      ::close(fd);
      if (!append) ::unlink(target.c_str());
      return Error::Format(Errc::kIo, "cannot write %s: %s", target.c_str(), std::strerror(e));
    }
    n += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Error::Format(Errc::kIo, "cannot write %s: %s", target.c_str(), std::strerror(errno));
  }
  if (!append && ::rename(target.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(target.c_str());
    return Error::Format(Errc::kIo, "cannot rename %s to %s: %s", target.c_str(), path.c_str(),
                         std::strerror(e));
  }
  return Ok();
}

// Current UTC time as the device's date-time format, "YYYY-MM-DDTHH:MM:SS".
std::string NowUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace

void RegisterClientCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto copt = std::make_shared<ClientOptions>();
  auto add_conn_opts = [copt](CLI::App* cmd) {
    cmd->add_flag("--require-v2", copt->require_v2,
                  "fail (exit 6) instead of falling back to SMP v1 for legacy devices");
  };
  // Options of every pipelined transfer (image and file uploads, file downloads).
  auto add_transfer_opts = [copt, add_conn_opts](CLI::App* cmd) {
    add_conn_opts(cmd);
    cmd->add_option("--window", copt->window,
                    "outstanding upload chunks at most (capped by the device's buf_count - 1)")
        ->check(CLI::Range(1, 64));
    cmd->add_option("--chunk", copt->chunk, "data bytes per chunk at most (0: fill the buffer)");
    cmd->add_option("--progress", copt->progress,
                    "auto (bar on a terminal), bar, jsonl (JSON lines ending with a result or "
                    "an error event) or none")
        ->check(CLI::IsMember({"auto", "bar", "jsonl", "none"}));
    cmd->add_option("--first-timeout", copt->first_timeout_s,
                    "timeout of the first chunk (an image's erases the slot) (seconds)")
        ->check(Seconds(3600));
  };
  auto add_upload_opts = [copt, add_transfer_opts](CLI::App* cmd) {
    add_transfer_opts(cmd);
    cmd->add_option("--image", copt->image, "image number (multi-image devices)");
    cmd->add_flag("--upgrade", copt->upgrade,
                  "ask the device to refuse an image older than the running one");
    cmd->add_flag("--no-skip", copt->no_skip, "upload even if the device already has the image");
  };

  // echo
  auto* echo_cmd = app.add_subcommand("echo", "send TEXT to the device and print its echo");
  auto text = std::make_shared<std::string>();
  echo_cmd->add_option("text", *text, "text to echo")->required();
  add_conn_opts(echo_cmd);
  echo_cmd->callback([text, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Echo(*text);
      if (!r.ok()) return DeviceFail(global, ctx, "echo", r.error());
      if (global.json)
        fmt::print("{}\n", json{{"output", *r}}.dump());
      else
        fmt::print("{}\n", *r);
      return int{kExitOk};
    });
  });

  // reset
  auto* reset_cmd = app.add_subcommand("reset", "restart the device");
  auto force = std::make_shared<bool>(false);
  reset_cmd->add_flag("--force", *force, "ask the application to reset even if busy");
  add_conn_opts(reset_cmd);
  reset_cmd->callback([force, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status st = ctx.client().Reset(*force);
      if (!st.ok()) return DeviceFail(global, ctx, "reset", st.error());
      if (global.json)
        fmt::print("{}\n", json{{"reset", true}}.dump());
      else
        fmt::print("reset requested\n");
      return int{kExitOk};
    });
  });

  // params
  auto* params_cmd = app.add_subcommand("params", "show the device's SMP buffer size and count");
  add_conn_opts(params_cmd);
  params_cmd->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Params();
      if (!r.ok()) return DeviceFail(global, ctx, "params", r.error());
      if (!r->has_value()) {
        SmpErrorInfo smp{0, 8, "ENOTSUP"};
        return ReportError(global, kExitRejected,
                           "params: the device does not implement os params (rc 8)", smp);
      }
      if (global.json) {
        fmt::print("{}\n",
                   json{{"buf_size", (*r)->buf_size}, {"buf_count", (*r)->buf_count}}.dump());
      } else {
        fmt::print("buf_size {} buf_count {}\n", (*r)->buf_size, (*r)->buf_count);
      }
      return int{kExitOk};
    });
  });

  // info
  auto* info_cmd = app.add_subcommand(
      "info", "show OS/application information (os info, uname-like format letters)");
  auto format = std::make_shared<std::string>("a");
  info_cmd
      ->add_option("format,--format", *format,
                   "letters: s kernel, n node, r release, v version, b build date, m machine, "
                   "p processor, i platform, o OS, a all")
      ->check([](const std::string& f) -> std::string {
        if (f.empty()) return "empty format";
        for (char c : f) {
          if (std::string_view("snrvbmpioa").find(c) == std::string_view::npos) {
            return std::string("unknown format letter '") + c + "' (s n r v b m p i o a)";
          }
        }
        return {};
      });
  add_conn_opts(info_cmd);
  info_cmd->callback([format, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Info(*format);
      if (!r.ok()) return DeviceFail(global, ctx, "info", r.error());
      if (global.json)
        fmt::print("{}\n", json{{"output", *r}}.dump());
      else
        fmt::print("{}\n", *r);
      return int{kExitOk};
    });
  });

  // taskstat
  auto* taskstat = app.add_subcommand("taskstat", "show the device's tasks (os task statistics)");
  add_conn_opts(taskstat);
  taskstat->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      // Typed: names may repeat (Zephyr 4.1 names threads by priority), and every task shows.
      auto r = ctx.client().TaskStats();
      if (!r.ok()) return DeviceFail(global, ctx, "taskstat", r.error());
      auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
      if (global.json) {
        json tasks = json::array();
        for (const auto& t : *r) {
          json o = {{"name", t.name}};
          for (const auto& [k, v] :
               {std::pair<const char*, json>{"prio", opt(t.prio)}, {"tid", opt(t.tid)},
                {"state", opt(t.state)}, {"stkuse", opt(t.stkuse)}, {"stksiz", opt(t.stksiz)},
                {"cswcnt", opt(t.cswcnt)}, {"runtime", opt(t.runtime)},
                {"last_checkin", opt(t.last_checkin)}, {"next_checkin", opt(t.next_checkin)}}) {
            if (!v.is_null()) o[k] = v;
          }
          tasks.push_back(std::move(o));
        }
        fmt::print("{}\n", json{{"tasks", tasks}}.dump());
        return int{kExitOk};
      }
      fmt::print("{:<20} {:>5} {:>4} {:>6} {:>7} {:>7} {:>10}\n", "task", "prio", "tid", "state",
                 "stkuse", "stksiz", "runtime");
      auto cell = [](const auto& v) { return v ? std::to_string(*v) : std::string("-"); };
      for (const auto& t : *r) {
        fmt::print("{:<20} {:>5} {:>4} {:>6} {:>7} {:>7} {:>10}\n", t.name, cell(t.prio),
                   cell(t.tid), cell(t.state), cell(t.stkuse), cell(t.stksiz), cell(t.runtime));
      }
      return int{kExitOk};
    });
  });

  // stat list | stat show NAME
  auto* stat = app.add_subcommand("stat", "the device's statistics (statistics group)");
  stat->require_subcommand(1);
  auto* stat_list = stat->add_subcommand("list", "the names of the statistics groups");
  add_conn_opts(stat_list);
  stat_list->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().StatList();
      if (!r.ok()) return DeviceFail(global, ctx, "stat list", r.error());
      if (global.json) {
        fmt::print("{}\n", json{{"stat_list", *r}}.dump());
      } else {
        for (const auto& name : *r) fmt::print("{}\n", name);
      }
      return int{kExitOk};
    });
  });
  auto* stat_show = stat->add_subcommand("show", "the counters of one statistics group");
  auto stat_name = std::make_shared<std::string>();
  stat_show->add_option("name", *stat_name, "statistics group (see `stat list`)")->required();
  add_conn_opts(stat_show);
  stat_show->callback([stat_name, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().StatShow(*stat_name);
      if (!r.ok()) return DeviceFail(global, ctx, "stat show " + *stat_name, r.error());
      if (global.json) {
        json fields = json::array();
        for (const auto& [k, v] : r->fields) fields.push_back({{"name", k}, {"value", v}});
        fmt::print("{}\n", json{{"name", r->name}, {"fields", fields}}.dump());
      } else {
        size_t width = 0;
        for (const auto& f : r->fields) width = std::max(width, f.first.size());
        fmt::print("{}\n", r->name);
        for (const auto& [k, v] : r->fields) fmt::print("  {:<{}} {}\n", k, width, v);
      }
      return int{kExitOk};
    });
  });

  // enum [count | list | single INDEX | details [ID...]]
  auto* en = app.add_subcommand(
      "enum", "the management groups the device has (enumeration group); without a "
              "subcommand: each group with its name and handler count");
  auto* en_count = en->add_subcommand("count", "how many groups");
  auto* en_list = en->add_subcommand("list", "the group ids");
  auto* en_single = en->add_subcommand("single", "the group at INDEX (0-based)");
  auto en_index = std::make_shared<uint32_t>(0);
  en_single->add_option("index", *en_index, "index")->required();
  auto* en_details = en->add_subcommand("details", "name and handler count of each group");
  auto en_ids = std::make_shared<std::vector<uint16_t>>();
  en_details->add_option("ids", *en_ids, "only these group ids");
  for (auto* c : {en, en_count, en_list, en_single, en_details}) add_conn_opts(c);
  auto print_details = [&global](const std::vector<client::EnumGroupInfo>& groups) {
    if (global.json) {
      json arr = json::array();
      for (const auto& g : groups) {
        json o = {{"group", g.group}};
        if (g.name) o["name"] = *g.name;
        if (g.handlers) o["handlers"] = *g.handlers;
        arr.push_back(std::move(o));
      }
      fmt::print("{}\n", json{{"groups", arr}}.dump());
      return;
    }
    for (const auto& g : groups) {
      fmt::print("{:>5}  {:<12} {}\n", g.group, g.name.value_or(std::string(smp::GroupName(g.group))),
                 g.handlers ? fmt::format("{} handlers", *g.handlers) : std::string());
    }
  };
  en->callback([en, en_ids, print_details, &global, copt, exit_code] {
    if (!en->get_subcommands().empty()) return;
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().EnumDetails();
      if (!r.ok()) return DeviceFail(global, ctx, "enum", r.error());
      print_details(*r);
      return int{kExitOk};
    });
  });
  en_count->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().EnumCount();
      if (!r.ok()) return DeviceFail(global, ctx, "enum count", r.error());
      global.json ? fmt::print("{}\n", json{{"count", *r}}.dump()) : fmt::print("{}\n", *r);
      return int{kExitOk};
    });
  });
  en_list->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().EnumList();
      if (!r.ok()) return DeviceFail(global, ctx, "enum list", r.error());
      if (global.json) {
        fmt::print("{}\n", json{{"groups", *r}}.dump());
      } else {
        for (uint16_t g : *r) fmt::print("{:>5}  {}\n", g, smp::GroupName(g));
      }
      return int{kExitOk};
    });
  });
  en_single->callback([en_index, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().EnumSingle(*en_index);
      if (!r.ok()) return DeviceFail(global, ctx, "enum single", r.error());
      if (global.json) {
        fmt::print("{}\n", json{{"group", r->group}, {"end", r->end}}.dump());
      } else {
        fmt::print("{}{}\n", r->group, r->end ? " (the last)" : "");
      }
      return int{kExitOk};
    });
  });
  en_details->callback([en_ids, print_details, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().EnumDetails(*en_ids);
      if (!r.ok()) return DeviceFail(global, ctx, "enum details", r.error());
      print_details(*r);
      return int{kExitOk};
    });
  });

  // datetime get|set
  auto* datetime = app.add_subcommand("datetime", "read or set the device's clock (os datetime)");
  datetime->require_subcommand(1);
  auto* dt_get = datetime->add_subcommand("get", "print the device's date and time");
  add_conn_opts(dt_get);
  dt_get->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().DateTime();
      if (!r.ok()) return DeviceFail(global, ctx, "datetime get", r.error());
      const std::string& dt = *r;
      if (global.json)
        fmt::print("{}\n", json{{"datetime", dt}}.dump());
      else
        fmt::print("{}\n", dt);
      return int{kExitOk};
    });
  });
  auto* dt_set = datetime->add_subcommand("set", "set the device's clock");
  auto dt_value = std::make_shared<std::string>();
  dt_set
      ->add_option("time", *dt_value, "YYYY-MM-DDTHH:MM:SS[.mmm], or 'now' for the host's UTC time")
      ->required();
  add_conn_opts(dt_set);
  dt_set->callback([dt_value, &global, copt, exit_code] {
    const std::string value = *dt_value == "now" ? NowUtc() : *dt_value;
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status st = ctx.client().SetDateTime(value);
      if (!st.ok()) return DeviceFail(global, ctx, "datetime set", st.error());
      if (global.json)
        fmt::print("{}\n", json{{"datetime", value}, {"set", true}}.dump());
      else
        fmt::print("device clock set to {}\n", value);
      return int{kExitOk};
    });
  });

  // bootloader
  auto* boot = app.add_subcommand("bootloader", "show the bootloader (os bootloader info)");
  auto query = std::make_shared<std::string>();
  boot->add_option("--query", *query, "ask the bootloader one thing, e.g. 'mode'");
  add_conn_opts(boot);
  boot->callback([query, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      json out = json::object();
      if (query->empty() || *query == "mode") {
        auto r = ctx.client().Bootloader(query->empty() ? std::nullopt
                                                        : std::optional<std::string_view>(*query));
        if (!r.ok()) return DeviceFail(global, ctx, "bootloader", r.error());
        if (r->name) out["bootloader"] = *r->name;
        if (r->mode) out["mode"] = *r->mode;
        if (r->no_downgrade) out["no_downgrade"] = true;
      } else {
        // Other queries are answered by the bootloader's own hooks, in their own shape: printed
        // as the device sends them, keys ("no-downgrade") in snake_case like every key smpkit
        // prints.
        auto r = CallRaw(ctx, kRead, smp::kGroupOs, smp::os::kBootloaderInfo,
                         EncodeJson(json{{"query", *query}}));
        if (!r.ok()) return DeviceFail(global, ctx, "bootloader", r.error());
        for (auto it = r->payload.begin(); it != r->payload.end(); ++it) {
          std::string k = it.key();
          std::replace(k.begin(), k.end(), '-', '_');
          out[k] = it.value();
        }
      }
      if (global.json) {
        fmt::print("{}\n", out.dump());
      } else if (out.contains("mode") && out["mode"].is_number_integer()) {
        const int64_t mode = out["mode"].get<int64_t>();
        fmt::print("mode {} ({}){}\n", mode, BootModeName(mode),
                   out.value("no_downgrade", false) ? ", downgrades prevented" : "");
      } else if (out.contains("bootloader")) {
        fmt::print("{}\n", out["bootloader"].is_string() ? out["bootloader"].get<std::string>()
                                                         : out["bootloader"].dump());
      } else {
        fmt::print("{}\n", out.dump(2));
      }
      return int{kExitOk};
    });
  });

  // raw
  auto* raw = app.add_subcommand("raw", "send any SMP request and print the decoded answer");
  struct RawArgs {
    uint16_t group = 0;
    uint16_t id = 0;
    bool write = false;
    std::string payload = "{}";
  };
  auto ra = std::make_shared<RawArgs>();
  raw->add_option("--group", ra->group, "SMP group (0 os, 1 image, ...)")->required();
  raw->add_option("--id", ra->id, "command id within the group")
      ->required()
      ->check(CLI::Range(0, 255));
  raw->add_flag("--write", ra->write, "a write request (op 2) instead of a read (op 0)");
  raw->add_option("payload", ra->payload,
                  "request payload as a JSON object; {\"$hex\": \"...\"} for byte strings");
  add_conn_opts(raw);
  raw->callback([ra, &global, copt, exit_code] {
    json req = json::parse(ra->payload, nullptr, false);
    if (req.is_discarded() || !req.is_object()) {
      *exit_code = ReportError(global, kExitUsage, "raw: the payload must be a JSON object");
      return;
    }
    std::vector<uint8_t> out(req.dump().size() * 2 + 64);
    cbor::Writer w(out);
    Status st = JsonToCbor(req, w, 0);
    if (!st.ok() || !w.ok()) {
      *exit_code = ReportError(global, kExitUsage,
                               fmt::format("raw: {}", st.ok() ? "payload too large"
                                                              : std::string(st.error().message())));
      return;
    }
    out.resize(w.size());
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      client::Request r;
      r.op = ra->write ? kWrite : kRead;
      r.group = ra->group;
      r.id = static_cast<uint8_t>(ra->id);
      r.payload = out;
      auto reply = ctx.session().Call(std::move(r));
      const std::string what = client::CommandName(ra->group, static_cast<uint8_t>(ra->id));
      if (!reply.ok()) return DeviceFail(global, ctx, what, reply.error());
      auto decoded = DecodePayload(reply->payload);
      if (!decoded.ok()) return DeviceFail(global, ctx, what, decoded.error());
      if (!reply->ok()) {
        return ReportError(
            global, kExitRejected,
            fmt::format("{}: {}; answer {}", what, reply->Describe(), decoded->dump()),
            SmpInfoOf(reply->header.group, reply->rc, reply->err));
      }
      fmt::print("{}\n", decoded->dump(global.json ? -1 : 2));
      return int{kExitOk};
    });
  });

  // image ... (device side); the `image` command itself exists for files (cmd_image.cc).
  CLI::App* image = nullptr;
  try {
    image = app.get_subcommand("image");
  } catch (const CLI::OptionNotFound&) {
    image = app.add_subcommand("image", "MCUboot images on files and devices");
  }

  auto* list = image->add_subcommand("list", "list the images on the device (image state)");
  add_conn_opts(list);
  list->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().ImageState();
      if (!r.ok()) return DeviceFail(global, ctx, "image list", r.error());
      if (global.json)
        fmt::print("{}\n", StateJson(*r).dump());
      else
        PrintState(*r);
      return int{kExitOk};
    });
  });

  auto* upload = image->add_subcommand("upload", "upload an image file to the device's free slot");
  auto upload_file = std::make_shared<std::string>();
  upload->add_option("file", *upload_file, "MCUboot image file (binary, or Intel HEX if .hex)")
      ->required();
  add_upload_opts(upload);
  upload->callback([=, &global] {
    SetJsonlEvents(copt->progress == "jsonl");
    auto file = LoadImage(global, *upload_file, exit_code);
    if (!file) return;
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      if (int rc = CheckFitsSlot(global, ctx, *upload_file, copt->image, file->bytes().size()))
        return rc;
      client::UploadOptions o = MakeUploadOptions(global, *copt);
      auto r = ctx.client().Upload(file->bytes(), o);
      if (!r.ok()) return DeviceFail(global, ctx, "image upload", r.error());
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt, UploadJson(*r));
      } else if (r->skipped) {
        fmt::print("the device already has this image: upload skipped\n");
      } else {
        fmt::print("uploaded {} in {:.2f} s ({}/s){}{}\n", HumanBytes(static_cast<double>(r->size)),
                   r->elapsed_s, HumanBytes(SentRate(*r)),
                   r->resumed_from ? fmt::format(", resumed at {}", r->resumed_from) : "",
                   r->match ? (*r->match ? ", match" : ", MISMATCH") : "");
      }
      return int{kExitOk};
    });
  });

  auto mark = [&global, copt, exit_code](const std::string& hash_text, bool confirm,
                                         const char* what) {
    std::optional<std::vector<uint8_t>> hash;
    if (!hash_text.empty()) {
      auto h = HexDecode(hash_text);
      if (!h.ok()) {
        *exit_code =
            ReportError(global, kExitUsage, fmt::format("{}: hash: {}", what, h.error().message()));
        return;
      }
      hash = *h;
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = confirm ? ctx.client().ImageConfirm(hash ? std::optional<ConstByteSpan>(*hash)
                                                        : std::nullopt)
                       : ctx.client().ImageTest(*hash);
      if (!r.ok()) return DeviceFail(global, ctx, what, r.error());
      if (global.json)
        fmt::print("{}\n", StateJson(*r).dump());
      else
        PrintState(*r);
      return int{kExitOk};
    });
  };
  auto* test = image->add_subcommand("test", "boot the image with HASH once at the next reset");
  auto test_hash = std::make_shared<std::string>();
  test->add_option("hash", *test_hash, "image hash (hex, as image list shows)")->required();
  add_conn_opts(test);
  test->callback([mark, test_hash] { mark(*test_hash, false, "image test"); });

  auto* confirm =
      image->add_subcommand("confirm", "make an image permanent (default: the running one)");
  auto confirm_hash = std::make_shared<std::string>();
  confirm->add_option("hash", *confirm_hash, "image hash (hex); omit for the running image");
  add_conn_opts(confirm);
  confirm->callback([mark, confirm_hash] { mark(*confirm_hash, true, "image confirm"); });

  auto* erase = image->add_subcommand("erase", "erase a slot (default: the non-active one)");
  auto erase_slot = std::make_shared<int>(-1);
  erase->add_option("--slot", *erase_slot, "absolute slot number (-1: the non-active one)");
  add_conn_opts(erase);
  erase->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      std::optional<uint32_t> slot;
      if (*erase_slot >= 0) slot = static_cast<uint32_t>(*erase_slot);
      Status st = ctx.client().ImageErase(slot);
      if (!st.ok()) return DeviceFail(global, ctx, "image erase", st.error());
      if (global.json)
        fmt::print("{}\n", json{{"erased", true}}.dump());
      else
        fmt::print("erased\n");
      return int{kExitOk};
    });
  });

  auto* slots = image->add_subcommand("slots", "show the device's slots and sizes (slot info)");
  add_conn_opts(slots);
  slots->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().SlotInfos();
      if (!r.ok()) return DeviceFail(global, ctx, "image slots", r.error());
      json arr = json::array();
      for (const auto& s : *r) {
        json j = {{"image", s.image}, {"slot", s.slot}};
        if (s.size) j["size"] = *s.size;
        if (s.upload_image_id) j["upload_image_id"] = *s.upload_image_id;
        if (s.max_image_size) j["max_image_size"] = *s.max_image_size;
        arr.push_back(j);
        if (!global.json) {
          fmt::print("image {} slot {}: {} bytes{}\n", s.image, s.slot,
                     s.size ? std::to_string(*s.size) : "?",
                     s.upload_image_id
                         ? fmt::format(" (upload target, image id {})", *s.upload_image_id)
                         : "");
        }
      }
      if (global.json) fmt::print("{}\n", json{{"slots", arr}}.dump());
      return int{kExitOk};
    });
  });

  // upgrade
  auto* upgrade = app.add_subcommand(
      "upgrade", "upload FILE, mark it, reset, wait for the device, check and confirm");
  auto upgrade_file = std::make_shared<std::string>();
  auto mode = std::make_shared<std::string>("test-and-confirm");
  auto reset_wait = std::make_shared<double>(90);
  upgrade->add_option("file", *upgrade_file, "MCUboot image file (binary, or Intel HEX if .hex)")
      ->required();
  upgrade->add_option("--mode", *mode, "test-and-confirm, confirm-only or test-only")
      ->check(CLI::IsMember({"test-and-confirm", "confirm-only", "test-only"}));
  upgrade
      ->add_option("--reset-wait", *reset_wait,
                   "seconds to wait for the device to come back after the reset (the bootloader's "
                   "swap of a 256 KiB image takes about 25 s on an nRF52)")
      ->check(Seconds(3600));
  upgrade->add_flag("--allow-downgrade", copt->allow_downgrade,
                    "install an image older than the running one");
  add_upload_opts(upgrade);
  upgrade->callback([=, &global] {
    SetJsonlEvents(copt->progress == "jsonl");
    auto file = LoadImage(global, *upgrade_file, exit_code);
    if (!file) return;
    auto parsed = mcuboot::Parse(file->bytes(), mcuboot::ParseOptions{.strict = false});
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      if (!copt->allow_downgrade && parsed.ok()) {
        auto state = ctx.client().ImageState();
        if (!state.ok()) return DeviceFail(global, ctx, "upgrade", state.error());
        const auto& hv = parsed->header.version;
        const std::array<uint64_t, 4> mine = {hv.major, hv.minor, hv.revision, hv.build};
        for (const auto& s : *state) {
          if (s.image != copt->image || !s.active) continue;
          auto running = ParseSmpVersion(s.version);
          if (running && mine < *running) {
            return ReportError(
                global, kExitBadInput,
                fmt::format("upgrade: {} holds version {}, older than the running {}; "
                            "--allow-downgrade installs it anyway",
                            *upgrade_file, hv.ToString(), s.version));
          }
        }
      }
      client::UpgradeOptions o;
      o.mode = *client::ParseUpgradeMode(*mode);
      o.upload = MakeUploadOptions(global, *copt);
      o.reset_wait =
          std::chrono::duration_cast<client::Duration>(std::chrono::duration<double>(*reset_wait));
      auto r = ctx.client().Upgrade(file->bytes(), o);
      if (!r.ok()) {
        if (r.error().code() == Errc::kNoSpace || r.error().code() == Errc::kInvalidArgument) {
          return ReportError(global, kExitBadInput,
                             fmt::format("{}: {}", *upgrade_file, r.error().message()));
        }
        return DeviceFail(global, ctx, "upgrade", r.error());
      }
      json j = {{"mode", *mode},
                {"hash", HexEncode(r->hash)},
                {"version", r->version},
                {"already_running", r->already_running},
                {"upload", UploadJson(r->upload)}};
      j["state"] = StateJson(r->final_state)["images"];
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt, j);
      } else if (r->already_running) {
        fmt::print("the device already runs {} ({}): nothing to do\n", r->version,
                   HexEncode(r->hash).substr(0, 16));
      } else {
        fmt::print(
            "upgraded to {} ({}, {}){}\n", r->version, HexEncode(r->hash).substr(0, 16), *mode,
            r->upload.skipped ? "; upload skipped, the image was already on the device" : "");
        PrintState(r->final_state);
      }
      return int{kExitOk};
    });
  });

  // settings get|set|delete|commit|load|save
  auto* sett = app.add_subcommand("settings", "the device's settings (settings management group)");
  sett->require_subcommand(1);
  struct SettingsArgs {
    std::string name, value;
    bool hex = false;
    std::optional<uint32_t> max_size;
  };
  auto sa = std::make_shared<SettingsArgs>();
  auto* st_get = sett->add_subcommand("get", "a setting's value (runtime)");
  st_get->add_option("name", sa->name, "setting name (e.g. app/name)")->required();
  st_get->add_option("--max-size", sa->max_size, "at most this many bytes");
  st_get->add_flag("--hex", sa->hex, "print the value as hex (default: text when it is printable)");
  add_conn_opts(st_get);
  st_get->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().SettingsRead(sa->name, sa->max_size);
      if (!r.ok()) return DeviceFail(global, ctx, "settings get " + sa->name, r.error());
      const bool printable =
          !sa->hex && std::all_of(r->val.begin(), r->val.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
      const std::string as_text(r->val.begin(), r->val.end());
      if (global.json) {
        json j = {{"name", sa->name}, {"val", HexEncode(r->val)}};
        if (printable) j["text"] = as_text;
        if (r->max_size) j["max_size"] = *r->max_size;
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("{}\n", printable ? as_text : HexEncode(r->val));
        if (r->max_size) {
          fmt::print(stderr, "smpkit: the device returns at most {} bytes of a setting\n", *r->max_size);
        }
      }
      return int{kExitOk};
    });
  });
  auto* st_set = sett->add_subcommand("set", "set a setting's runtime value (`settings save` stores it)");
  st_set->add_option("name", sa->name, "setting name")->required();
  st_set->add_option("value", sa->value, "the value: text, or hex with --hex")->required();
  st_set->add_flag("--hex", sa->hex, "the value is hex");
  add_conn_opts(st_set);
  st_set->callback([=, &global] {
    std::vector<uint8_t> bytes(sa->value.begin(), sa->value.end());
    if (sa->hex) {
      auto h = HexDecode(sa->value);
      if (!h.ok()) {
        *exit_code = ReportError(global, kExitUsage, fmt::format("settings set: value: {}", h.error().message()));
        return;
      }
      bytes = *h;
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status r = ctx.client().SettingsWrite(sa->name, bytes);
      if (!r.ok()) return DeviceFail(global, ctx, "settings set " + sa->name, r.error());
      if (global.json) fmt::print("{}\n", json::object().dump());
      return int{kExitOk};
    });
  });
  auto* st_del = sett->add_subcommand("delete", "delete a setting from the device's storage");
  st_del->add_option("name", sa->name, "setting name")->required();
  add_conn_opts(st_del);
  st_del->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status r = ctx.client().SettingsDelete(sa->name);
      if (!r.ok()) return DeviceFail(global, ctx, "settings delete " + sa->name, r.error());
      if (global.json) fmt::print("{}\n", json::object().dump());
      return int{kExitOk};
    });
  });
  for (const char* verb : {"commit", "load", "save"}) {
    const std::string v = verb;
    auto* cmd = sett->add_subcommand(
        v, v == "commit" ? "apply the settings (each handler's commit)"
           : v == "load" ? "read the stored settings into the runtime values"
                         : "store the runtime values");
    add_conn_opts(cmd);
    cmd->callback([=, &global] {
      WithDevice(global, *copt, exit_code, [&](Context& ctx) {
        Status r = v == "commit" ? ctx.client().SettingsCommit()
                   : v == "load" ? ctx.client().SettingsLoad()
                                 : ctx.client().SettingsSave();
        if (!r.ok()) return DeviceFail(global, ctx, "settings " + v, r.error());
        if (global.json) fmt::print("{}\n", json::object().dump());
        return int{kExitOk};
      });
    });
  }

  // shell exec -- CMD ARGS...
  auto* sh = app.add_subcommand("shell", "the device's shell (shell management group)");
  sh->require_subcommand(1);
  auto* sh_exec = sh->add_subcommand(
      "exec", "run a command in the device's shell and print its output; exit 1 when the "
              "command returns non-zero (e.g. smpkit shell exec -- kernel uptime)");
  auto sh_argv = std::make_shared<std::vector<std::string>>();
  sh_exec->add_option("argv", *sh_argv, "the command and its arguments")->required();
  add_conn_opts(sh_exec);
  sh_exec->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().ShellExec(*sh_argv);
      if (!r.ok()) return DeviceFail(global, ctx, "shell exec", r.error());
      if (global.json) {
        fmt::print("{}\n", json{{"o", r->output}, {"ret", r->ret}}.dump());
      } else {
        fmt::print("{}", r->output);
        if (!r->output.empty() && r->output.back() != '\n') fmt::print("\n");
        if (r->ret != 0) fmt::print(stderr, "smpkit: the command returned {}\n", r->ret);
      }
      return r->ret == 0 ? int{kExitOk} : int{kExitFailure};
    });
  });

  // fs upload LOCAL REMOTE | fs download REMOTE LOCAL | fs stat | fs hash | fs types | fs close
  auto* fsc = app.add_subcommand("fs", "files on the device (file management group)");
  fsc->require_subcommand(1);
  auto fs_args = std::make_shared<FsArgs>();
  auto* fs_up = fsc->add_subcommand("upload", "copy a local file to the device");
  fs_up->add_option("local", fs_args->local, "local file")->required();
  fs_up->add_option("remote", fs_args->remote, "path on the device (Zephyr: /lfs1/NAME)")
      ->required();
  fs_up->add_flag("--resume", fs_args->resume,
                  "carry on where the device's copy ends, when its bytes match the local "
                  "file's (crc32); else start over");
  add_transfer_opts(fs_up);
  fs_up->callback([=, &global] {
    SetJsonlEvents(copt->progress == "jsonl");
    auto file = InputFile::Open(fs_args->local, /*raw=*/true);
    if (!file.ok()) {
      *exit_code = ReportError(global, kExitBadInput, file.error().message());
      return;
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      const ConstByteSpan data = file->bytes();
      uint64_t start = 0;
      if (fs_args->resume) {
        auto there = ResumePoint(ctx.client(), fs_args->remote, data);
        if (!there.ok()) return DeviceFail(global, ctx, "fs upload", there.error());
        start = *there;
      }
      client::UploadOptions o = MakeUploadOptions(global, *copt);
      auto r = ctx.client().FsUpload(data, fs_args->remote, o, start);
      if (!r.ok()) return DeviceFail(global, ctx, "fs upload " + fs_args->remote, r.error());
      json j = UploadJson(*r);
      j["name"] = fs_args->remote;
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt, j);
      } else {
        fmt::print("uploaded {} to {} in {:.2f} s ({}/s){}\n",
                   HumanBytes(static_cast<double>(r->size)), fs_args->remote, r->elapsed_s,
                   HumanBytes(SentRate(*r)),
                   r->resumed_from ? fmt::format(", resumed at {}", r->resumed_from) : "");
      }
      return int{kExitOk};
    });
  });

  auto* fs_down = fsc->add_subcommand("download", "copy a file from the device");
  fs_down->add_option("remote", fs_args->remote, "path on the device")->required();
  fs_down->add_option("local", fs_args->local,
                      "local file (written under a temporary name, renamed when complete)")
      ->required();
  fs_down->add_flag("--resume", fs_args->resume,
                    "append what the device's file has beyond the local file's size");
  add_transfer_opts(fs_down);
  fs_down->callback([=, &global] {
    SetJsonlEvents(copt->progress == "jsonl");
    uint64_t have = 0;
    if (fs_args->resume) {
      struct stat st {};
      if (::stat(fs_args->local.c_str(), &st) == 0) have = static_cast<uint64_t>(st.st_size);
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      client::FsDownloadOptions o;
      o.max_window = std::max<size_t>(1, copt->window);
      o.start_offset = have;
      o.progress = MakeProgress(global, *copt);
      auto r = ctx.client().FsDownload(fs_args->remote, o);
      if (!r.ok()) return DeviceFail(global, ctx, "fs download " + fs_args->remote, r.error());
      Status saved = SaveDownload(fs_args->local, r->data, have > 0);
      if (!saved.ok()) return ReportError(global, kExitFailure, std::string(saved.error().message()));
      const double rate = r->elapsed_s > 0 ? static_cast<double>(r->data.size()) / r->elapsed_s : 0;
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt,
                    json{{"name", fs_args->remote}, {"local", fs_args->local},
                         {"size", r->size}, {"resumed_from", have},
                         {"elapsed_s", r->elapsed_s}, {"rate_bps", rate},
                         {"requests", r->requests}, {"retransmits", r->retransmits},
                         {"chunk", r->chunk_data}, {"max_window", r->max_window_used}});
      } else {
        fmt::print("downloaded {} to {} in {:.2f} s ({}/s){}\n",
                   HumanBytes(static_cast<double>(r->size)), fs_args->local, r->elapsed_s,
                   HumanBytes(rate), have ? fmt::format(", resumed at {}", have) : "");
      }
      return int{kExitOk};
    });
  });

  auto* fs_stat = fsc->add_subcommand("stat", "a file's size on the device");
  fs_stat->add_option("remote", fs_args->remote, "path on the device")->required();
  add_conn_opts(fs_stat);
  fs_stat->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().FsStatus(fs_args->remote);
      if (!r.ok()) return DeviceFail(global, ctx, "fs stat " + fs_args->remote, r.error());
      if (global.json) {
        fmt::print("{}\n", json{{"name", fs_args->remote}, {"len", *r}}.dump());
      } else {
        fmt::print("{}: {} bytes\n", fs_args->remote, *r);
      }
      return int{kExitOk};
    });
  });

  auto* fs_hash = fsc->add_subcommand("hash", "a file's checksum or hash, computed by the device");
  fs_hash->add_option("remote", fs_args->remote, "path on the device")->required();
  fs_hash->add_option("--type", fs_args->type, "crc32 or sha256 (default: the device's, crc32)");
  fs_hash->add_option("--off", fs_args->off, "from this offset");
  fs_hash->add_option("--len", fs_args->len, "this many bytes (default: to the end)")
      ->check(CLI::PositiveNumber);
  add_conn_opts(fs_hash);
  fs_hash->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().FsHash(fs_args->remote, fs_args->type, fs_args->off, fs_args->len);
      if (!r.ok()) return DeviceFail(global, ctx, "fs hash " + fs_args->remote, r.error());
      const std::string out = r->crc ? fmt::format("{:08x}", *r->crc) : HexEncode(r->output);
      if (global.json) {
        json j = {{"name", fs_args->remote}, {"type", r->type}, {"off", r->off},
                  {"len", r->len},           {"output", out}};
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("{} {} ({}: {} bytes from {})\n", out, fs_args->remote, r->type, r->len,
                   r->off);
      }
      return int{kExitOk};
    });
  });

  auto* fs_types = fsc->add_subcommand("types", "the hash types the device supports");
  add_conn_opts(fs_types);
  fs_types->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().FsSupportedHashes();
      if (!r.ok()) return DeviceFail(global, ctx, "fs types", r.error());
      json types = json::array();
      for (const auto& t : *r) {
        types.push_back({{"name", t.name}, {"format", t.format == 0 ? "number" : "bytes"},
                        {"size", t.size}});
        if (!global.json) {
          fmt::print("{:<8} {} bytes, as {}\n", t.name, t.size,
                     t.format == 0 ? "a number" : "a byte string");
        }
      }
      if (global.json) fmt::print("{}\n", json{{"types", types}}.dump());
      return int{kExitOk};
    });
  });

  auto* fs_close = fsc->add_subcommand("close", "close the file the device keeps open");
  add_conn_opts(fs_close);
  fs_close->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status st = ctx.client().FsClose();
      if (!st.ok()) return DeviceFail(global, ctx, "fs close", st.error());
      if (global.json) fmt::print("{}\n", json::object().dump());
      return int{kExitOk};
    });
  });
}

}  // namespace smpkit::cli
