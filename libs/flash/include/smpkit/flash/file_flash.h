#pragma once
// A flash device backed by a file, so that its content survives process restarts.

#include <cstdint>
#include <memory>
#include <string>

#include "smpkit/flash/flash.h"

namespace smpkit::flash {

struct FileFlashOptions {
  // msync() after every write and erase, so that a completed operation survives a machine
  // crash. A process kill (-9) never loses a completed operation either way: the file is
  // mapped shared, and each operation is a copy into the page cache (a kill in the middle of
  // one may tear it, as a power cut tears a flash write).
  bool sync = true;
};

class FileFlash : public Flash {
 public:
  // Opens `path`, creating it fully erased if it does not exist (created under a temporary
  // name, synced, then renamed, so a crash never leaves a half-initialised file). The file is
  // locked against a second concurrent user, and mapped shared into memory. The file must
  // not shrink while it is open: an access past its end raises SIGBUS (`smpkit device`
  // turns that into a clear error and exit status 1).
  // Errors: kInvalidArgument (bad geometry), kCorrupt (file size differs from the geometry),
  // kBusy (locked by another process), kIo (open/create/read failure, with errno text).
  static Result<std::unique_ptr<FileFlash>> Open(const std::string& path, const Geometry& g,
                                                 FileFlashOptions options = {});
  ~FileFlash() override;

  const std::string& path() const { return path_; }
  // Whether Open() created the file (it did not exist): the only case in which the flash
  // is known to be factory-new. An existing file with an erased primary slot is not blank:
  // swap-move erases the primary's sectors on its way.
  bool created() const { return created_; }

 protected:
  Status DoRead(uint32_t offset, ByteSpan out) override;
  Status DoStore(uint32_t offset, ConstByteSpan data) override;

 private:
  FileFlash(const Geometry& g, int fd, uint8_t* map, std::string path,
            FileFlashOptions options);
  int fd_;
  uint8_t* map_;
  std::string path_;
  FileFlashOptions options_;
  bool created_ = false;
};

}  // namespace smpkit::flash
