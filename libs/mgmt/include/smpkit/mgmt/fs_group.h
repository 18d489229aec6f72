#pragma once
// File management group (group 8, Zephyr's fs_mgmt; smp-protocol.md §7, Zephyr's
// smp_group_8.rst and fs_mgmt.c): upload and download with offsets and resume, file status,
// hash/checksum (crc32, sha256) and the supported-types query, close. Sans-I/O: the files
// live behind a FileSystem (a sandbox directory in `smpkit device`, RAM in the simulator).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

// Zephyr's enum fs_mgmt_err_code_t.
enum class FsErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kFileInvalidName = 2,
  kFileNotFound = 3,
  kFileIsDirectory = 4,
  kFileOpenFailed = 5,
  kFileSeekFailed = 6,
  kFileReadFailed = 7,
  kFileTruncateFailed = 8,
  kFileDeleteFailed = 9,
  kFileWriteFailed = 10,
  kFileOffsetNotValid = 11,
  kFileOffsetLargerThanFile = 12,
  kChecksumHashNotFound = 13,
  kMountPointNotFound = 14,
  kReadOnlyFilesystem = 15,
  kFileEmpty = 16,
};
// Zephyr's fs_mgmt_translate_error_code, for SMP v1 clients.
int32_t FsErrToV1(uint16_t rc);

// The files the group serves. Paths are relative to the mount point and already checked by
// the group: '/'-separated, no empty, "." or ".." component, no NUL byte. An implementation
// keeps the files inside its own root (a symlink that leads out is kFileInvalidName) and
// answers with the codes Zephyr's fs layer leads to. It may keep one file open between calls
// (Zephyr's fs_mgmt does) until Close().
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Size of a regular file. kFileNotFound, kFileIsDirectory, kFileInvalidName, kUnknown.
  virtual FsErr Size(std::string_view path, uint64_t* size) = 0;
  // Reads out.size() bytes at `off` (fewer only at the end of the file): kFileReadFailed.
  virtual FsErr Read(std::string_view path, uint64_t off, ByteSpan out, size_t* got) = 0;
  // Creates `path` if it does not exist (an existing file is kept as it is). Its directory
  // must exist: kMountPointNotFound otherwise (Zephyr's fs_open gives -ENOENT); a directory
  // of that name: kFileIsDirectory; kReadOnlyFilesystem; kFileInvalidName.
  virtual FsErr Create(std::string_view path) = 0;
  virtual FsErr Truncate(std::string_view path) = 0;  // to 0 bytes: kFileTruncateFailed
  // Writes `data` at `off` (at most the file's size). kFileWriteFailed, also when the quota
  // would be exceeded (the write then changes nothing).
  virtual FsErr Write(std::string_view path, uint64_t off, ConstByteSpan data) = 0;
  // Bytes a file at `path` may hold: the quota left with `path`'s own content counted free.
  virtual uint64_t Room(std::string_view path) = 0;
  virtual void Close() = 0;  // closes what is kept open
};

struct FsGroupConfig {
  // Where the FileSystem is mounted (Zephyr's littlefs samples: "/lfs1"). A name outside it
  // is not found (kMountPointNotFound for an upload, as Zephyr's fs_open answers -ENOENT).
  std::string_view mount = "/lfs1";
  size_t path_len = 64;          // CONFIG_MCUMGR_GRP_FS_PATH_LEN: a longer name is EINVAL
  bool large_files = true;       // CONFIG_MCUMGR_GRP_FS_MAX_FILE_SIZE_4GB (else _64KB)
  size_t dl_chunk_size = 0;      // CONFIG_MCUMGR_GRP_FS_DL_CHUNK_SIZE (0: from the buffer size)
  bool file_status = true;       // CONFIG_MCUMGR_GRP_FS_FILE_STATUS
  bool checksum_hash = true;     // CONFIG_MCUMGR_GRP_FS_CHECKSUM_HASH (crc32 and sha256)
  bool supported_hashes = true;  // CONFIG_MCUMGR_GRP_FS_CHECKSUM_HASH_SUPPORTED_CMD
  bool legacy_rc = false;        // CONFIG_MCUMGR_SMP_LEGACY_RC_BEHAVIOUR: "rc": 0 first
};

class FsGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::fs::Command;
  using enum smp::fs::Command;
  static constexpr uint16_t kGroupId = 8;
  static constexpr size_t kMaxPathLen = 255;

  // `server` gives the buffer size download chunks are cut to (Zephyr: NETBUF_SIZE).
  FsGroup(const FsGroupConfig& config, const smp::ServerConfig& server, FileSystem& fs);
  ~FsGroup() override;

  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return FsErrToV1(rc); }
  std::string_view Name() const override { return "fs mgmt"; }
  size_t HandlerCount() const override { return 5; }

  // Data bytes in a full download answer (Zephyr's MCUMGR_GRP_FS_DL_CHUNK_SIZE).
  size_t DownloadChunkSize() const;

 private:
  enum class State : uint8_t { kNone, kUpload, kDownload };

  smp::Outcome Download(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Upload(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Status(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Hash(const smp::Request& r, cbor::Writer& w);
  smp::Outcome SupportedHashes(cbor::Writer& w);
  // The name's part below the mount point, or the error for a name outside it / refused.
  FsErr Resolve(std::string_view name, FsErr outside, std::string_view* rel) const;
  bool IsOpen(State state, std::string_view rel) const;
  void Open(State state, std::string_view rel);
  void CloseFile();

  FsGroupConfig config_;
  const smp::ServerConfig& server_;
  FileSystem& fs_;
  State state_ = State::kNone;
  std::array<char, kMaxPathLen> path_{};
  size_t path_size_ = 0;
  uint64_t off_ = 0;  // upload: bytes in the file; download: unused
  uint64_t len_ = 0;  // upload: the announced length; download: the size when opened
};

}  // namespace smpkit::mgmt
