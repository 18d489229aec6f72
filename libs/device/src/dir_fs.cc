#include "smpkit/device/dir_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace smpkit::device {

using mgmt::FsErr;

namespace {

bool Within(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

bool Resolve(const std::string& path, std::string* out) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return false;
  *out = buf;
  return true;
}

}  // namespace

Result<std::unique_ptr<DirFileSystem>> DirFileSystem::Open(const std::string& root,
                                                           uint64_t quota) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return Error::Format(Errc::kIo, "cannot create file system directory '%s': %s", root.c_str(),
                         ec.message().c_str());
  }
  std::string real;
  if (!Resolve(root, &real)) {
    return Error::Format(Errc::kIo, "cannot resolve file system directory '%s': %s", root.c_str(),
                         std::strerror(errno));
  }
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error::Format(Errc::kInvalidArgument, "file system root '%s' is not a directory",
                         root.c_str());
  }
  std::unique_ptr<DirFileSystem> fs(new DirFileSystem(real, quota));
  fs->used_ = fs->Used();
  return fs;
}

DirFileSystem::~DirFileSystem() { Close(); }

void DirFileSystem::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  fd_rel_.clear();
}

uint64_t DirFileSystem::Used() const {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           root_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2) && !it->is_symlink(e2)) n += it->file_size(e2);
  }
  return n;
}

FsErr DirFileSystem::RealPath(std::string_view rel, bool for_create, std::string* out) const {
  const std::string full = root_ + "/" + std::string(rel);
  if (!for_create) {
    if (!Resolve(full, out)) {
      return errno == ENOENT || errno == ENOTDIR       ? FsErr::kFileNotFound
             : errno == ELOOP || errno == ENAMETOOLONG ? FsErr::kFileInvalidName
                                                       : FsErr::kUnknown;
    }
    return Within(*out, root_) ? FsErr::kOk : FsErr::kFileInvalidName;
  }
  // A new file: its directory must exist below the root; the name itself may be an existing
  // file, or a symlink that stays below the root.
  const size_t slash = full.rfind('/');
  std::string parent;
  if (!Resolve(full.substr(0, slash), &parent)) {
    return errno == ENOENT || errno == ENOTDIR ? FsErr::kMountPointNotFound
                                               : FsErr::kFileInvalidName;
  }
  if (!Within(parent, root_)) return FsErr::kFileInvalidName;
  *out = parent + full.substr(slash);
  struct stat st {};
  if (::lstat(out->c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::string target;
    if (!Resolve(*out, &target) || !Within(target, root_)) return FsErr::kFileInvalidName;
    *out = target;
  }
  return FsErr::kOk;
}

FsErr DirFileSystem::Fd(std::string_view rel, bool write, int* fd) {
  if (fd_ >= 0 && fd_rel_ == rel && (fd_write_ || !write)) {
    *fd = fd_;
    return FsErr::kOk;
  }
  Close();
  std::string real;
  if (FsErr e = RealPath(rel, false, &real); e != FsErr::kOk) return e;
  const int f = ::open(real.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0) {
    return errno == EISDIR   ? FsErr::kFileIsDirectory
           : errno == EROFS  ? FsErr::kReadOnlyFilesystem
           : errno == ENOENT ? FsErr::kFileNotFound
                             : FsErr::kFileOpenFailed;
  }
  struct stat st {};
  if (::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(f);
    return S_ISDIR(st.st_mode) ? FsErr::kFileIsDirectory : FsErr::kFileOpenFailed;
  }
  fd_ = f;
  fd_write_ = write;
  fd_rel_ = rel;
  *fd = f;
  return FsErr::kOk;
}

FsErr DirFileSystem::Size(std::string_view rel, uint64_t* size) {
  struct stat st {};
  if (fd_ >= 0 && fd_rel_ == rel) {
    if (::fstat(fd_, &st) != 0) return FsErr::kUnknown;
  } else {
    std::string real;
    if (FsErr e = RealPath(rel, false, &real); e != FsErr::kOk) return e;
    if (::stat(real.c_str(), &st) != 0) return FsErr::kFileNotFound;
  }
  if (S_ISDIR(st.st_mode)) return FsErr::kFileIsDirectory;
  if (!S_ISREG(st.st_mode)) return FsErr::kUnknown;
  *size = static_cast<uint64_t>(st.st_size);
  return FsErr::kOk;
}

FsErr DirFileSystem::Read(std::string_view rel, uint64_t off, ByteSpan out, size_t* got) {
  int fd = -1;
  if (FsErr e = Fd(rel, false, &fd); e != FsErr::kOk) return e;
  size_t n = 0;
  while (n < out.size()) {
    const ssize_t r = ::pread(fd, out.data() + n, out.size() - n, static_cast<off_t>(off + n));
    if (r < 0) {
      if (errno == EINTR) continue;
      return FsErr::kFileReadFailed;
    }
    if (r == 0) break;
    n += static_cast<size_t>(r);
  }
  *got = n;
  return FsErr::kOk;
}

FsErr DirFileSystem::Create(std::string_view rel) {
  std::string real;
  if (FsErr e = RealPath(rel, true, &real); e != FsErr::kOk) return e;
  Close();
  const int f = ::open(real.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (f < 0) {
    return errno == EISDIR   ? FsErr::kFileIsDirectory
           : errno == EROFS  ? FsErr::kReadOnlyFilesystem
           : errno == ENOENT ? FsErr::kMountPointNotFound
           : errno == ELOOP  ? FsErr::kFileInvalidName
                             : FsErr::kFileOpenFailed;
  }
  struct stat st {};
  if (::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(f);
    return FsErr::kFileOpenFailed;
  }
  fd_ = f;
  fd_write_ = true;
  fd_rel_ = rel;
  return FsErr::kOk;
}

FsErr DirFileSystem::Truncate(std::string_view rel) {
  int fd = -1;
  if (FsErr e = Fd(rel, true, &fd); e != FsErr::kOk) return e;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || ::ftruncate(fd, 0) != 0) return FsErr::kFileTruncateFailed;
  used_ -= std::min<uint64_t>(used_, static_cast<uint64_t>(st.st_size));
  return FsErr::kOk;
}

FsErr DirFileSystem::Write(std::string_view rel, uint64_t off, ConstByteSpan data) {
  int fd = -1;
  if (FsErr e = Fd(rel, true, &fd); e != FsErr::kOk) return e;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FsErr::kFileWriteFailed;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (off > size) return FsErr::kFileWriteFailed;
  const uint64_t end = off + data.size();
  const uint64_t growth = end > size ? end - size : 0;
  if (used_ + growth > quota_) return FsErr::kFileWriteFailed;  // the quota
  size_t n = 0;
  while (n < data.size()) {
    const ssize_t w = ::pwrite(fd, data.data() + n, data.size() - n, static_cast<off_t>(off + n));
    if (w < 0) {
      if (errno == EINTR) continue;
      // Out of space on the host: nothing of this chunk stays.
      if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return FsErr::kFileWriteFailed;
      return FsErr::kFileWriteFailed;
    }
    n += static_cast<size_t>(w);
  }
  used_ += growth;
  return FsErr::kOk;
}

uint64_t DirFileSystem::Room(std::string_view rel) {
  used_ = Used();  // files may have changed on the host meanwhile
  uint64_t own = 0;
  if (Size(rel, &own) != FsErr::kOk) own = 0;
  const uint64_t others = used_ - std::min(used_, own);
  return quota_ > others ? quota_ - others : 0;
}

}  // namespace smpkit::device
