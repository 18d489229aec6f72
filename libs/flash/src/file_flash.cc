#include "smpkit/flash/file_flash.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
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
  void* map = mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    Error e = ErrnoError("cannot map flash file", path);
    close(fd);
    return e;
  }
  auto flash = std::unique_ptr<FileFlash>(
      new FileFlash(g, fd, static_cast<uint8_t*>(map), path, options));
  flash->created_ = created;
  if (created) flash->MarkAllErased();  // written erased just now
  return flash;
}

FileFlash::FileFlash(const Geometry& g, int fd, uint8_t* map, std::string path,
                     FileFlashOptions options)
    : Flash(g), fd_(fd), map_(map), path_(std::move(path)), options_(options) {}

FileFlash::~FileFlash() {
  if (map_ != nullptr) munmap(map_, geometry().size);
  if (fd_ >= 0) close(fd_);
}

// The file is mapped shared: reads and writes are copies into the page cache, without a
// system call (a stop-and-wait upload otherwise spends most of its device time in pwrite).
Status FileFlash::DoRead(uint32_t offset, ByteSpan out) {
  std::memcpy(out.data(), map_ + offset, out.size());
  return Ok();
}

Status FileFlash::DoStore(uint32_t offset, ConstByteSpan data) {
  std::memcpy(map_ + offset, data.data(), data.size());
  if (options_.sync) {
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(map_ + offset) / page * page;
    const uintptr_t end = reinterpret_cast<uintptr_t>(map_ + offset + data.size());
    if (msync(reinterpret_cast<void*>(begin), end - begin, MS_SYNC) != 0) {
      return ErrnoError("cannot sync flash file", path_);
    }
  }
  return Ok();
}

}  // namespace smpkit::flash
