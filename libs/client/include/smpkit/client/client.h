#pragma once
// SMP commands for the host side on top of a Session: OS group (echo, reset, params, info)
// and image group (state, test, confirm, erase, slot info), plus the pipelined uploader
// and the whole upgrade flow (upload -> mark -> reset -> wait -> check -> confirm).
//
// Every call runs the session's executor until its answer arrived (or failed), so they
// work the same on Asio in real time and on a virtual-time scheduler.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/client/session.h"

namespace smpkit::client {

// Zephyr's defaults for CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE / _COUNT, assumed when the
// device has no MCUmgr params command (older servers, or no OS group).
inline constexpr size_t kDefaultBufSize = 384;
inline constexpr size_t kDefaultBufCount = 4;

struct BootloaderAnswer {
  std::optional<std::string> name;  // without a query, e.g. "MCUboot"
  std::optional<int64_t> mode;      // query "mode": MCUboot's mode (0 single app, 1 swap
                                    // using scratch, ...; -1 unknown)
  bool no_downgrade = false;        // query "mode": downgrades are prevented
};

struct McumgrParams {
  uint32_t buf_size = 0;
  uint32_t buf_count = 0;
};

// One entry of the image state list (smp-protocol.md §6.4.1); missing flags are false.
struct ImageSlotState {
  uint32_t image = 0;
  uint32_t slot = 0;
  std::string version;
  std::vector<uint8_t> hash;
  bool bootable = false;
  bool pending = false;
  bool confirmed = false;
  bool active = false;
  bool permanent = false;
};

struct SlotInfo {
  uint32_t image = 0;
  uint32_t slot = 0;
  std::optional<uint32_t> size;
  std::optional<uint32_t> upload_image_id;
  std::optional<uint32_t> max_image_size;  // of the image
};

// One task of the OS group's task statistics (smp-protocol.md, OS group command 2). Zephyr
// names each task by its thread name, or (without thread names, as Zephyr 4.1's smp_svr) by
// its priority, so names may repeat: the list keeps every entry in the device's order.
struct TaskStat {
  std::string name;
  std::optional<int64_t> prio;  // signed in Zephyr 4.1 (negative: cooperative threads)
  std::optional<uint64_t> tid;
  std::optional<uint64_t> state;
  std::optional<uint64_t> stkuse;  // words
  std::optional<uint64_t> stksiz;  // words
  std::optional<uint64_t> cswcnt;
  std::optional<uint64_t> runtime;
  std::optional<uint64_t> last_checkin;
  std::optional<uint64_t> next_checkin;
};

// One statistics group's counters (group 2, show), in the device's order.
struct StatGroupData {
  std::string name;
  std::vector<std::pair<std::string, uint64_t>> fields;
};

// Enumeration group (10): one group the device has, with details when asked for.
struct EnumGroupInfo {
  uint16_t group = 0;
  std::optional<std::string> name;
  std::optional<uint32_t> handlers;
};
struct EnumSingleAnswer {
  uint16_t group = 0;
  bool end = false;  // the last group
};

// File management group (8).
struct FsDownloadAnswer {
  uint64_t off = 0;
  std::vector<uint8_t> data;
  std::optional<uint64_t> len;  // the file's size, in the answer at offset 0
};
struct FsHashResult {
  std::string type;  // "crc32", "sha256"
  uint64_t off = 0;
  uint64_t len = 0;  // bytes hashed
  // The digest: sha256's 32 bytes; crc32's number as 4 bytes, most significant first.
  std::vector<uint8_t> output;
  std::optional<uint32_t> crc;  // crc32's number
};
// Settings management group (3): a read's answer.
struct SettingValue {
  std::vector<uint8_t> val;
  std::optional<uint32_t> max_size;  // the device's limit, when the request asked for more
};

// Shell management group (9): what a command printed, and its return value.
struct ShellAnswer {
  std::string output;
  int32_t ret = 0;
};

struct FsHashType {
  std::string name;
  uint32_t format = 0;  // 0: a number, 1: a byte string
  uint32_t size = 0;
};

// Progress of an upload or upgrade, for progress bars and JSON-lines events.
// The steps of a transfer and of the upgrade flow, in order.
enum class Phase : uint8_t {
  kProbe,     // the device's parameters and image state
  kUpload,    // image or file chunks
  kDownload,  // file chunks
  kMark,      // image test / confirm
  kReset,     // the OS reset
  kWait,      // until the device answers again
  kCheck,     // the image state after the reboot
  kConfirm,   // the running image confirmed
  kDone,
};
// "probe", "upload", "download", "mark", "reset", "wait", "check", "confirm", "done".
std::string_view PhaseName(Phase phase);

struct Progress {
  Phase phase = Phase::kProbe;
  uint64_t offset = 0;
  uint64_t total = 0;
  double elapsed_s = 0;
  double rate_bps = 0;  // bytes per second over the upload so far
  size_t window = 0;
  uint64_t retransmits = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

struct FsDownloadOptions {
  size_t max_window = 4;  // requests in flight at most (also capped by buf_count - 1)
  uint64_t start_offset = 0;  // resume: the bytes below are already there
  ProgressFn progress;
};
struct FsDownloadResult {
  std::vector<uint8_t> data;  // the bytes from start_offset on
  uint64_t size = 0;          // the file's size
  double elapsed_s = 0;
  uint64_t requests = 0;
  uint64_t retransmits = 0;
  size_t chunk_data = 0;  // data bytes per full answer, as the device cuts them
  size_t max_window_used = 0;
};

struct UploadOptions {
  uint32_t image = 0;         // "image" field (0 = default)
  bool upgrade = false;       // "upgrade": reject downgrades
  size_t max_window = 4;      // outstanding chunks at most (also capped by buf_count - 1)
  size_t initial_window = 1;  // the window grows while the link is clean
  size_t max_chunk = 0;       // data bytes per chunk at most (0 = as large as fits)
  size_t align = 1;           // round chunk data down to this (not the last chunk)
  // How long the device may take to answer the first chunk, which erases the slot: the
  // upload gives up only when no chunk was acknowledged for this long (and for more than
  // `stall_attempts` transmissions). The first chunk is still retransmitted at the RTO
  // meanwhile: the device answers a repeated first chunk with the same sha by resuming.
  Duration first_timeout = std::chrono::seconds(20);
  // Transmissions without progress before giving up (together with the session's
  // timeout * (retries + 1) without progress); 0 = max(8, retries + 1).
  int stall_attempts = 0;
  // Skip when image state lists the image's hash (Upgrade: false sends it again even when
  // it waits in the other slot).
  bool skip_if_present = true;
  // Before the first chunk, on links that do not reassemble (UDP), check with one echo of
  // full size that packets of that size get through; fall back to smaller ones if not.
  bool probe_packet_size = true;
  ProgressFn progress;
  // Called when the packet size falls back (also listed in UploadResult::mtu_fallbacks).
  std::function<void(const MtuFallback&)> on_mtu_fallback;
};

struct UploadResult {
  bool skipped = false;  // already on the device
  uint64_t size = 0;
  uint64_t resumed_from = 0;  // offset the device reported for our first chunk
  std::optional<bool> match;  // the device's final "match", when present
  double elapsed_s = 0;
  uint64_t chunks_sent = 0;       // transmissions of upload requests
  uint64_t rewinds = 0;           // go-backs: a gap in the device's offsets or a timeout
  uint64_t retransmits = 0;       // chunks sent again
  uint64_t fast_retransmits = 0;  // go-backs on a gap the device's offset showed
  uint64_t timeouts = 0;          // go-backs after a retransmission timeout
  uint64_t stale_answers = 0;     // answers below what the device had acknowledged, ignored
  size_t max_window_used = 0;
  size_t chunk_data = 0;   // data bytes of a full continuation chunk
  size_t packet_size = 0;  // request size the upload ended with
  double srtt_ms = 0;      // smoothed round trip at the end
  // The answer to the last chunk was lost and the device had forgotten the upload when the
  // chunk went again (it does when an upload completes): the upload restarted with a first
  // chunk, which a device with the image check answers at once with "match".
  bool final_answer_lost = false;
  std::vector<MtuFallback> mtu_fallbacks;
};

enum class UpgradeMode : uint8_t { kTestAndConfirm, kConfirmOnly, kTestOnly };
std::string_view UpgradeModeName(UpgradeMode mode);
Result<UpgradeMode> ParseUpgradeMode(std::string_view text);

struct UpgradeOptions {
  UpgradeMode mode = UpgradeMode::kTestAndConfirm;
  UploadOptions upload;
  Duration reset_wait = std::chrono::seconds(90);  // for the device to come back (swap)
  Duration poll_interval = std::chrono::milliseconds(500);
  // Called as the upload starts and once it is done (before the image is marked), e.g. to
  // measure it.
  std::function<void()> on_upload_start;
  std::function<void(const UploadResult&)> on_upload_done;
  // The device has no remote reset (its reset answers MGMT_ERR_ENOTSUP: no OS group, as nRF
  // Desktop's seed-era smp module): called with that answer to power-cycle it (a person, a
  // relay, a simulation); the flow then waits for the device as after a reset. Without it,
  // the upgrade ends there with that error (kRemote).
  std::function<Status(const Error& refused)> power_cycle;
};

struct UpgradeResult {
  UploadResult upload;
  std::vector<uint8_t> hash;  // the image's hash TLV
  std::string version;
  bool already_running = false;  // nothing to do: the image was active and confirmed
  std::vector<ImageSlotState> final_state;
};

// Typed decoders of response payloads (the CBOR map of a successful answer), used by the
// Client's calls. Errors: kCorrupt when a required entry is missing, the CBOR reader's
// errors (kTypeMismatch, kDuplicateKey, kTruncated...) for a malformed map.
struct UploadAnswer {
  uint64_t off = 0;
  std::optional<bool> match;
};
Result<std::string> DecodeEchoResponse(ConstByteSpan payload);
Result<McumgrParams> DecodeParamsResponse(ConstByteSpan payload);
Result<std::string> DecodeInfoResponse(ConstByteSpan payload);
Result<UploadAnswer> DecodeUploadResponse(ConstByteSpan payload);
Result<std::vector<ImageSlotState>> DecodeImageStateResponse(ConstByteSpan payload);
Result<std::vector<SlotInfo>> DecodeSlotInfoResponse(ConstByteSpan payload);
// {"tasks": {name: {"prio": int, "tid": uint, ...}, ...}}, repeated names kept (Zephyr 4.1).
// Errors: kCorrupt (no "tasks" map), kTypeMismatch (a task that is not a map, a field of the
// wrong type), malformed CBOR.
Result<std::vector<TaskStat>> DecodeTaskStatResponse(ConstByteSpan payload);
// {"stat_list": [tstr, ...]} (a leading "rc": 0, as Zephyr 3.4 sends, is accepted).
Result<std::vector<std::string>> DecodeStatListResponse(ConstByteSpan payload);
// {"name": tstr, "fields": {tstr: uint, ...}}. Errors: kCorrupt (no "fields" map), kTypeMismatch.
Result<StatGroupData> DecodeStatShowResponse(ConstByteSpan payload);
Result<uint32_t> DecodeEnumCountResponse(ConstByteSpan payload);    // {"count": uint}
Result<std::vector<uint16_t>> DecodeEnumListResponse(ConstByteSpan payload);  // {"groups": [..]}
Result<EnumSingleAnswer> DecodeEnumSingleResponse(ConstByteSpan payload);
// {"groups": [{"group": uint, "name"?: tstr, "handlers"?: uint}, ...]}
Result<std::vector<EnumGroupInfo>> DecodeEnumDetailsResponse(ConstByteSpan payload);
// {"off": uint, "data": bstr, "len"?: uint}
Result<FsDownloadAnswer> DecodeFsDownloadResponse(ConstByteSpan payload);
Result<uint64_t> DecodeFsStatusResponse(ConstByteSpan payload);  // {"len": uint}
// {"type": tstr, "off"?: uint, "len": uint, "output": uint | bstr}
Result<FsHashResult> DecodeFsHashResponse(ConstByteSpan payload);
// {"types": {name: {"format": uint, "size": uint}, ...}}, in the device's order.
Result<std::vector<FsHashType>> DecodeFsSupportedHashesResponse(ConstByteSpan payload);
// {"val": bstr, "max_size"?: uint}
Result<SettingValue> DecodeSettingsReadResponse(ConstByteSpan payload);
// {"o": tstr, "ret": int} (or "rc" instead of "ret", Zephyr's legacy option).
Result<ShellAnswer> DecodeShellExecResponse(ConstByteSpan payload);

// The hash the device reports for an image: its hash TLV. Errors: the image does not parse
// as an MCUboot image (kInvalidArgument naming the field) or has no hash TLV.
Result<std::vector<uint8_t>> ImageHashOf(ConstByteSpan image);

class Client {
 public:
  explicit Client(Session& session) : session_(session) {}

  Result<std::string> Echo(std::string_view text);
  Status Reset(bool force = false);
  // nullopt when the device does not implement the command (rc 8).
  Result<std::optional<McumgrParams>> Params();
  // Reads params once and applies buf_size (kDefaultBufSize when the device does not
  // implement the command) to the session; later calls return the cache.
  Result<std::optional<McumgrParams>> ProbeParams();
  Result<std::string> Info(std::string_view format = "a");
  // The device's clock (OS date-time), ISO 8601 as the device formats it. The device answers
  // RTC_NOT_SET (OS error 4) until the clock was set.
  Result<std::string> DateTime();
  // Sets the clock: "YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]", which the device checks.
  Status SetDateTime(std::string_view iso8601);
  // OS bootloader info: without a query the bootloader's name; the query "mode" gives
  // MCUboot's mode and whether it prevents downgrades.
  Result<BootloaderAnswer> Bootloader(std::optional<std::string_view> query = std::nullopt);
  Result<std::vector<TaskStat>> TaskStats();
  // Statistics group: the groups' names, and one group's counters. A name the device does
  // not know is an error naming it (STAT INVALID_STAT_NAME, v1 rc 5).
  Result<std::vector<std::string>> StatList();
  Result<StatGroupData> StatShow(std::string_view name);
  // Enumeration group: which groups the device has. Details of all groups, or of `groups`.
  Result<uint32_t> EnumCount();
  Result<std::vector<uint16_t>> EnumList();
  Result<EnumSingleAnswer> EnumSingle(uint32_t index);
  Result<std::vector<EnumGroupInfo>> EnumDetails(std::span<const uint16_t> groups = {});
  // Settings management group: the runtime value of a setting (at most max_size bytes), its
  // write (runtime only), delete (from storage), commit, load (storage to runtime) and save
  // (runtime to storage).
  Result<SettingValue> SettingsRead(std::string_view name, std::optional<uint32_t> max_size = {});
  Status SettingsWrite(std::string_view name, ConstByteSpan value);
  Status SettingsDelete(std::string_view name);
  Status SettingsCommit();
  Status SettingsLoad();
  Status SettingsSave();
  // Shell management group: runs argv in the device's shell. A non-zero `ret` is no error
  // here (the command ran); an empty argv or a line too long is the device's group error.
  Result<ShellAnswer> ShellExec(std::span<const std::string> argv);
  // File management group. Names are the device's paths (Zephyr: "/lfs1/..."); a device
  // error arrives as kRemote naming it (e.g. "fs status: fs error 3 (FILE_NOT_FOUND)").
  Result<uint64_t> FsStatus(std::string_view name);
  // `type` empty: the device's default (crc32 on Zephyr). `len` absent: to the end.
  Result<FsHashResult> FsHash(std::string_view name, std::string_view type = {},
                              uint64_t off = 0, std::optional<uint64_t> len = {});
  Result<std::vector<FsHashType>> FsSupportedHashes();
  Status FsClose();
  // Uploads `data` as the file `name`, pipelined as image uploads are (window, go-back on a
  // gap the device names with FILE_OFFSET_NOT_VALID, retransmission on timeouts). With
  // `start_offset` > 0 it resumes: the device's file must hold exactly the bytes below it.
  Result<UploadResult> FsUpload(ConstByteSpan data, std::string_view name,
                                const UploadOptions& options, uint64_t start_offset = 0);
  // Downloads the file `name`, with up to max_window requests in flight at the offsets the
  // device's chunk size gives. Errors: kRemote (device errors), kCorrupt (an answer at
  // another offset, or data beyond the announced size), kTimeout.
  Result<FsDownloadResult> FsDownload(std::string_view name, const FsDownloadOptions& options);

  Result<std::vector<ImageSlotState>> ImageState();
  Result<std::vector<ImageSlotState>> ImageTest(ConstByteSpan hash);
  // No hash: confirm the running image.
  Result<std::vector<ImageSlotState>> ImageConfirm(std::optional<ConstByteSpan> hash = {});
  Status ImageErase(std::optional<uint32_t> slot = {});
  Result<std::vector<SlotInfo>> SlotInfos();

  // Uploads `image` (the whole file). Errors: kRemote for a rejected chunk (naming the image
  // error), kTimeout, kCrypto if the device's final "match" is false.
  Result<UploadResult> Upload(ConstByteSpan image, const UploadOptions& options);

  // The full upgrade. Errors: kInvalidArgument for a file that is not an MCUboot
  // image, kNoSpace for an image larger than the slot, the steps' errors otherwise.
  Result<UpgradeResult> Upgrade(ConstByteSpan image, const UpgradeOptions& options);

  // On links that do not reassemble: sends one echo padded to the session's packet size
  // and falls back to smaller sizes while it is answered rc 9 or not at all (when smaller
  // requests were answered). Any other answer (rc 8 from a device without echo included)
  // proves the size. Returns the packet size that got through. Errors: kNoSpace when even
  // the floor fails, kTimeout when the device answers nothing.
  Result<size_t> ProbePacketSize(const std::function<void(const MtuFallback&)>& on_fallback = {});

  // Polls echo until the device answers or `wait` passed. Errors: kTimeout.
  Status WaitForDevice(Duration wait, Duration poll_interval);

  Session& session() { return session_; }
  const std::optional<McumgrParams>& params() const { return params_; }
  // What to assume when the device has no params command: the settings a phone app takes
  // from its user (mcumgr-ios' reassembly buffer size, NCDM's number of buffers). Zephyr's
  // defaults unless set. A params answer always wins.
  void set_assumed_params(McumgrParams p) { assumed_ = p; }
  const McumgrParams& assumed_params() const { return assumed_; }

 private:
  Result<Reply> Call(Request request);
  Result<std::vector<ImageSlotState>> StateWrite(std::optional<ConstByteSpan> hash, bool confirm);
  // Requests in flight at most: max_window, below the device's buffer count.
  size_t WindowCap(size_t max_window, const std::optional<McumgrParams>& params) const;

  Session& session_;
  bool params_probed_ = false;
  std::optional<McumgrParams> params_;
  McumgrParams assumed_{static_cast<uint32_t>(kDefaultBufSize),
                        static_cast<uint32_t>(kDefaultBufCount)};
};

// Exact size of an upload request frame (header + CBOR payload) for a chunk.
size_t UploadFrameSize(bool first, uint32_t image, uint64_t len, uint64_t off, size_t sha_size,
                       bool upgrade, size_t data_size);
// Largest data size whose upload frame fits `packet_limit` (0 if not even 1 byte fits).
size_t UploadChunkFit(size_t packet_limit, bool first, uint32_t image, uint64_t len, uint64_t off,
                      size_t sha_size, bool upgrade);
// Encodes an upload request payload (CBOR map) into `out`.
void EncodeUploadPayload(std::vector<uint8_t>& out, bool first, uint32_t image, uint64_t len,
                         uint64_t off, ConstByteSpan sha, bool upgrade, ConstByteSpan data);

}  // namespace smpkit::client
