#include "smpkit/mgmt/fs_group.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "smpkit/base/crc.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

namespace {

Outcome Err(FsErr e) { return Outcome::GroupError(FsGroup::kGroupId, static_cast<uint16_t>(e)); }

// Zephyr's hash types, in its registration order (crc32 first): name, output format
// (0 a number, 1 a byte string), output size.
struct HashType {
  std::string_view name;
  uint8_t format;
  uint8_t size;
};
constexpr std::array<HashType, 2> kHashTypes = {{{"crc32", 0, 4}, {"sha256", 1, 32}}};
// Zephyr's fs_mgmt reads a type name into a 9-byte buffer.
constexpr size_t kMaxHashTypeLen = 8;

}  // namespace

int32_t FsErrToV1(uint16_t rc) {
  switch (static_cast<FsErr>(rc)) {
    case FsErr::kOk:
      return 0;
    case FsErr::kFileInvalidName:
    case FsErr::kChecksumHashNotFound:
      return static_cast<int32_t>(MgmtErr::kInval);
    case FsErr::kFileNotFound:
    case FsErr::kMountPointNotFound:
      return static_cast<int32_t>(MgmtErr::kNoEnt);
    default:
      return static_cast<int32_t>(MgmtErr::kUnknown);
  }
}

FsGroup::FsGroup(const FsGroupConfig& config, const smp::ServerConfig& server, FileSystem& fs)
    : smp::Group(kGroupId), config_(config), server_(server), fs_(fs) {
  config_.path_len = std::min(config_.path_len, kMaxPathLen);
}

// A reset ends the session: Zephyr's files close with the system.
FsGroup::~FsGroup() { CloseFile(); }

bool FsGroup::Supports(uint8_t command, Op op) const {
  switch (command) {
    case kFile:
      return op == Op::kRead || op == Op::kWrite;
    case kStatus:
      return op == Op::kRead && config_.file_status;
    case kHash:
      return op == Op::kRead && config_.checksum_hash;
    case kSupportedHashes:
      return op == Op::kRead && config_.checksum_hash && config_.supported_hashes;
    case kClose:
      return op == Op::kWrite;
    default:
      return false;
  }
}

Outcome FsGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  switch (r.header.id) {
    case kFile:
      return r.op() == Op::kRead ? Download(r, w) : Upload(r, w);
    case kStatus:
      return Status(r, w);
    case kHash:
      return Hash(r, w);
    case kSupportedHashes:
      return SupportedHashes(w);
    default:
      CloseFile();
      return Outcome::Success();  // close: an empty map
  }
}

// fs_mgmt_config.h: NETBUF_SIZE - (8 + 10 + (4 + L) + (5 + L) + 4 + (4 + L)), where L is the
// largest offset's encoded size (3 for files up to 64 KiB, 5 up to 4 GiB).
size_t FsGroup::DownloadChunkSize() const {
  const size_t l = config_.large_files ? 5 : 3;
  const size_t overhead = 35 + 3 * l;
  const size_t computed = server_.buf_size > overhead ? server_.buf_size - overhead : 0;
  if (config_.dl_chunk_size != 0 && config_.dl_chunk_size + smp::kHeaderSize <= server_.buf_size) {
    return config_.dl_chunk_size;  // CONFIG_MCUMGR_GRP_FS_DL_CHUNK_SIZE_LIMIT
  }
  return computed;
}

void FsGroup::CloseFile() {
  if (state_ != State::kNone) fs_.Close();
  state_ = State::kNone;
  path_size_ = 0;
  off_ = 0;
  len_ = 0;
}

bool FsGroup::IsOpen(State state, std::string_view rel) const {
  return state_ == state && std::string_view(path_.data(), path_size_) == rel;
}

void FsGroup::Open(State state, std::string_view rel) {
  CloseFile();
  state_ = state;
  std::memcpy(path_.data(), rel.data(), rel.size());
  path_size_ = rel.size();
}

// Below the mount point, '/'-separated components that are neither empty, "." nor "..", and
// no NUL byte; anything else is an invalid name. A name under another mount point is
// `outside` (Zephyr's fs layer finds no mount: -ENOENT).
FsErr FsGroup::Resolve(std::string_view name, FsErr outside, std::string_view* rel) const {
  std::string_view mount = config_.mount;
  while (!mount.empty() && mount.back() == '/') mount.remove_suffix(1);
  if (name.size() <= mount.size() + 1 || name.substr(0, mount.size()) != mount ||
      name[mount.size()] != '/') {
    return outside;
  }
  std::string_view r = name.substr(mount.size() + 1);
  if (r.find('\0') != std::string_view::npos) return FsErr::kFileInvalidName;
  for (std::string_view rest = r;;) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return FsErr::kFileInvalidName;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  *rel = r;
  return FsErr::kOk;
}

// {"off": uint, "name": tstr} -> {"off": uint, "data": bstr, "len": uint (off 0 only)}.
Outcome FsGroup::Download(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::fs::DownloadRequest::Parse(r.payload);
  if (!req.ok() || !req->off || *req->off == UINT64_MAX || req->name.empty() ||
      req->name.size() > config_.path_len) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  const uint64_t off = *req->off;
  const std::string_view name = req->name;
  std::string_view rel;
  if (FsErr e = Resolve(name, FsErr::kFileNotFound, &rel); e != FsErr::kOk) return Err(e);
  uint64_t size = 0;
  if (!IsOpen(State::kDownload, rel)) {
    if (FsErr e = fs_.Size(rel, &size); e != FsErr::kOk) {
      CloseFile();
      return Err(e);
    }
    Open(State::kDownload, rel);
    len_ = size;
  } else if (FsErr e = fs_.Size(rel, &size); e != FsErr::kOk) {
    CloseFile();  // removed under the open session
    return Err(e);
  }
  // As Zephyr on littlefs: an offset at or past the end reads nothing, and is no error.
  const uint64_t left = off < size ? size - off : 0;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(DownloadChunkSize(), left));
  if (config_.legacy_rc) w.Key("rc").Int(0);
  ByteSpan data = smp::fs::DownloadResponse::WriteInPlace(w, off, n);
  if (!w.ok()) return Outcome::Rc(MgmtErr::kMsgSize);
  size_t got = 0;
  if (n > 0) {
    if (FsErr e = fs_.Read(rel, off, data, &got); e != FsErr::kOk || got != n) {
      CloseFile();
      return Err(e != FsErr::kOk ? e : FsErr::kFileReadFailed);
    }
  }
  if (off == 0) smp::fs::DownloadResponse::WriteLen(w, len_);
  if (len_ > 0 && off + n >= len_) CloseFile();  // Zephyr closes the file at its end
  return Outcome::Success();
}

// {"off": uint, "name": tstr, "data": bstr, "len": uint (off 0)} -> {"off": uint}: the bytes
// the file now holds. One upload at a time; a chunk at another offset than the file's end is
// FILE_OFFSET_NOT_VALID with "len": the offset expected (and closes the file, as Zephyr does:
// the next chunk at that offset resumes).
Outcome FsGroup::Upload(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::fs::UploadRequest::Parse(r.payload);
  if (!req.ok() || !req->off || *req->off == UINT64_MAX || req->name.empty() ||
      req->name.size() > config_.path_len ||
      (*req->off == 0 && (!req->len || *req->len == UINT64_MAX))) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  const uint64_t off = *req->off;
  const uint64_t len = req->len.value_or(0);
  const std::string_view name = req->name;
  const ConstByteSpan data = req->data;
  std::string_view rel;
  if (FsErr e = Resolve(name, FsErr::kMountPointNotFound, &rel); e != FsErr::kOk) return Err(e);
  // A file larger than the quota is refused before anything is written (Zephyr would write
  // until the file system is full, then answer FILE_WRITE_FAILED).
  if (off == 0 && len > fs_.Room(rel)) {
    CloseFile();
    return Err(FsErr::kFileWriteFailed);
  }
  if (!IsOpen(State::kUpload, rel)) {
    if (FsErr e = fs_.Create(rel); e != FsErr::kOk) {
      CloseFile();
      return Err(e);
    }
    uint64_t size = 0;
    if (FsErr e = fs_.Size(rel, &size); e != FsErr::kOk) {
      CloseFile();
      return Err(e);
    }
    Open(State::kUpload, rel);
    off_ = size;  // a new session at off > 0 resumes at the file's end
  }
  if (off == 0) {
    len_ = len;
    if (!data.empty()) {
      // A new upload replaces the file (an empty first chunk leaves it as it is, as Zephyr).
      if (FsErr e = fs_.Truncate(rel); e != FsErr::kOk) {
        CloseFile();
        return Err(e);
      }
      off_ = 0;
    }
  } else if (off != off_) {
    const uint64_t expected = off_;
    CloseFile();
    smp::WriteGroupError(w, kGroupId, static_cast<uint16_t>(FsErr::kFileOffsetNotValid));
    smp::fs::UploadOffsetResponse{expected}.Write(w);
    return Err(FsErr::kFileOffsetNotValid).KeepBody();
  }
  if (!data.empty()) {
    if (FsErr e = fs_.Write(rel, off_, data); e != FsErr::kOk) {
      CloseFile();
      return Err(e);
    }
    off_ += data.size();
  }
  if (config_.legacy_rc) w.Key("rc").Int(0);
  smp::fs::UploadResponse{off_}.Write(w);
  if (len_ > 0 && off_ >= len_) CloseFile();  // complete
  return Outcome::Success();
}

// {"name": tstr} -> {"len": uint}. Leaves an open upload or download as it is.
Outcome FsGroup::Status(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::fs::StatusRequest::Parse(r.payload);
  if (!req.ok() || req->name.empty() || req->name.size() > config_.path_len) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  const std::string_view name = req->name;
  std::string_view rel;
  if (FsErr e = Resolve(name, FsErr::kFileNotFound, &rel); e != FsErr::kOk) return Err(e);
  uint64_t size = 0;
  if (FsErr e = fs_.Size(rel, &size); e != FsErr::kOk) return Err(e);
  if (config_.legacy_rc) w.Key("rc").Int(0);
  smp::fs::StatusResponse{size}.Write(w);
  return Outcome::Success();
}

// {"name": tstr, "type"?: tstr, "off"?: uint, "len"?: uint} ->
// {"type": tstr, "off": uint (when not 0), "len": uint (bytes hashed), "output": uint | bstr}.
Outcome FsGroup::Hash(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::fs::HashRequest::Parse(r.payload);
  if (!req.ok() || req->name.empty() || req->name.size() > config_.path_len ||
      req->type.size() > kMaxHashTypeLen || (req->len && *req->len == 0)) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  const std::string_view name = req->name;
  std::string_view type = req->type;
  const uint64_t off = req->off;
  if (type.empty()) type = kHashTypes[0].name;
  const auto* ht = std::find_if(kHashTypes.begin(), kHashTypes.end(),
                                [&](const HashType& h) { return h.name == type; });
  if (ht == kHashTypes.end()) return Err(FsErr::kChecksumHashNotFound);
  std::string_view rel;
  if (FsErr e = Resolve(name, FsErr::kFileNotFound, &rel); e != FsErr::kOk) return Err(e);
  // The hash reads the file on its own: an open upload or download ends (one file at a time).
  CloseFile();
  uint64_t size = 0;
  if (FsErr e = fs_.Size(rel, &size); e != FsErr::kOk) return Err(e);
  if (size <= off) return Err(size == 0 ? FsErr::kFileEmpty : FsErr::kFileOffsetLargerThanFile);
  const uint64_t n = req->len ? std::min(*req->len, size - off) : size - off;

  std::array<uint8_t, 1024> buf;
  uint32_t crc = 0;
  const bool is_crc = ht->format == 0;
  std::optional<mcuboot::Hasher> sha;  // OpenSSL's context: only for sha256
  if (!is_crc) sha.emplace(mcuboot::HashAlg::kSha256);
  for (uint64_t pos = 0; pos < n;) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - pos));
    size_t got = 0;
    FsErr e = fs_.Read(rel, off + pos, ByteSpan(buf.data(), step), &got);
    if (e != FsErr::kOk || got != step) {
      fs_.Close();
      return Err(e != FsErr::kOk ? e : FsErr::kFileReadFailed);
    }
    const ConstByteSpan chunk(buf.data(), step);
    if (is_crc) {
      crc = Crc32(chunk, crc);
    } else if (!sha->Update(chunk).ok()) {
      return Err(FsErr::kUnknown);
    }
    pos += step;
  }
  fs_.Close();
  smp::fs::HashResponse answer;
  answer.type = ht->name;
  answer.off = off;
  answer.len = n;
  if (is_crc) {
    answer.checksum = crc;
    answer.Write(w);
    return Outcome::Success();
  }
  auto digest = sha->Final();
  if (!digest.ok()) return Err(FsErr::kUnknown);
  answer.digest = digest->view();
  answer.Write(w);
  return Outcome::Success();
}

// {} -> {"types": {name: {"format": 0|1, "size": n}, ...}}
Outcome FsGroup::SupportedHashes(cbor::Writer& w) {
  smp::fs::SupportedHashesResponse::Write(w, [&] {
    for (const HashType& h : kHashTypes) smp::fs::HashTypeEntry{h.name, h.format, h.size}.Write(w);
  });
  return Outcome::Success();
}

}  // namespace smpkit::mgmt
