#pragma once
// The file system `smpkit device` serves through the file management group: a sandbox
// directory of the host with a quota. Nothing outside the directory is read or written: the
// group refuses "..", "." and empty components, and this class refuses a name whose real
// path (symlinks resolved) leads out of the directory. One file is kept open between
// requests, as Zephyr's fs_mgmt does, so that an upload or download costs one pread/pwrite
// per chunk.

#include <cstdint>
#include <memory>
#include <string>

#include "smpkit/base/result.h"
#include "smpkit/mgmt/fs_group.h"

namespace smpkit::device {

class DirFileSystem : public mgmt::FileSystem {
 public:
  // Opens (creating it, and its parent, if needed) the directory `root`; files in it may hold
  // `quota` bytes in all. Errors: kIo (cannot create or resolve it, with errno text),
  // kInvalidArgument (it exists and is no directory).
  static Result<std::unique_ptr<DirFileSystem>> Open(const std::string& root, uint64_t quota);
  ~DirFileSystem() override;

  mgmt::FsErr Size(std::string_view path, uint64_t* size) override;
  mgmt::FsErr Read(std::string_view path, uint64_t off, ByteSpan out, size_t* got) override;
  mgmt::FsErr Create(std::string_view path) override;
  mgmt::FsErr Truncate(std::string_view path) override;
  mgmt::FsErr Write(std::string_view path, uint64_t off, ConstByteSpan data) override;
  uint64_t Room(std::string_view path) override;
  void Close() override;

  const std::string& root() const { return root_; }
  uint64_t quota() const { return quota_; }
  // Bytes in regular files below the root (walks the directory).
  uint64_t Used() const;

 private:
  DirFileSystem(std::string root, uint64_t quota) : root_(std::move(root)), quota_(quota) {}
  // The real path of `rel` below the root; kFileInvalidName when it leads out, the error
  // for a missing file (or parent directory, with `for_create`) otherwise.
  mgmt::FsErr RealPath(std::string_view rel, bool for_create, std::string* out) const;
  // The kept descriptor for `rel`, opened read-only or read-write.
  mgmt::FsErr Fd(std::string_view rel, bool write, int* fd);

  std::string root_;  // real path, no trailing slash
  uint64_t quota_;
  int fd_ = -1;
  bool fd_write_ = false;
  std::string fd_rel_;
  uint64_t used_ = 0;  // bytes in files, kept up to date by this class's writes
};

}  // namespace smpkit::device
