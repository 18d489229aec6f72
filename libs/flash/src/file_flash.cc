#include "smpkit/flash/file_flash.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace smpkit::flash {
namespace {

Error ErrnoError(const char* what, const std::string& path) {
  return Error::Format(Errc::kIo, "%s '%s': %s", what, path.c_str(), std::strerror(errno));
}

std::string DirName(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const uint8_t* p, size_t n, off_t off, const std::string& path) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write flash file", path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
  return Ok();
}

// Creates `path` holding `g.size` erased bytes, atomically (temp file + fsync + rename).
Status CreateErased(const std::string& path, const Geometry& g) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create flash file", tmp);
  std::vector<uint8_t> page(g.page_size, g.erased_value);
  Status st;
  for (uint32_t off = 0; off < g.size && st.ok(); off += g.page_size) {
    st = WriteAll(fd, page.data(), page.size(), off, tmp);
  }
  if (st.ok() && fsync(fd) != 0) st = ErrnoError("cannot sync flash file", tmp);
  close(fd);
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    st = ErrnoError("cannot rename new flash file to", path);
  }
  if (!st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  const int dfd = open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<FileFlash>> FileFlash::Open(const std::string& path, const Geometry& g,
                                                   FileFlashOptions options) {
  SMPKIT_TRY(ValidateGeometry(g));
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    SMPKIT_TRY(CreateErased(path, g));
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    created = true;
  }
  if (fd < 0) return ErrnoError("cannot open flash file", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    Error e = busy ? Error::Format(Errc::kBusy, "flash file '%s' is in use by another process",
                                   path.c_str())
                   : ErrnoError("cannot lock flash file", path);
    close(fd);
    return e;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Error e = ErrnoError("cannot stat flash file", path);
    close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != g.size) {
    close(fd);
    return Error::Format(Errc::kCorrupt, "flash file '%s' is %lld bytes, expected %u",
                         path.c_str(), static_cast<long long>(st.st_size), g.size);
  }
  auto flash = std::unique_ptr<FileFlash>(new FileFlash(g, fd, path, options));
  flash->created_ = created;
  if (created) flash->MarkAllErased();  // written erased just now
  return flash;
}

FileFlash::FileFlash(const Geometry& g, int fd, std::string path, FileFlashOptions options)
    : Flash(g), fd_(fd), path_(std::move(path)), options_(options) {}

FileFlash::~FileFlash() {
  if (fd_ >= 0) close(fd_);
}

Status FileFlash::DoRead(uint32_t offset, ByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = pread(fd_, out.data() + done, out.size() - done,
                            static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read flash file", path_);
    }
    if (r == 0) {
      return Error::Format(Errc::kCorrupt, "flash file '%s' shrank below offset 0x%zx",
                           path_.c_str(), offset + done);
    }
    done += static_cast<size_t>(r);
  }
  return Ok();
}

Status FileFlash::DoStore(uint32_t offset, ConstByteSpan data) {
  SMPKIT_TRY(WriteAll(fd_, data.data(), data.size(), offset, path_));
  if (options_.sync && fdatasync(fd_) != 0) return ErrnoError("cannot sync flash file", path_);
  return Ok();
}

}  // namespace smpkit::flash
