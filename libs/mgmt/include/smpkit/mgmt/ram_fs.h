#pragma once
// A FileSystem in memory with a quota: the simulator's and the tests' files. Directories
// exist when added (the root always does). Writes allocate: this is a test double, not a
// device backend.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "smpkit/mgmt/fs_group.h"

namespace smpkit::mgmt {

class RamFileSystem : public FileSystem {
 public:
  explicit RamFileSystem(uint64_t quota = 1u << 20) : quota_(quota) {}

  FsErr Size(std::string_view path, uint64_t* size) override;
  FsErr Read(std::string_view path, uint64_t off, ByteSpan out, size_t* got) override;
  FsErr Create(std::string_view path) override;
  FsErr Truncate(std::string_view path) override;
  FsErr Write(std::string_view path, uint64_t off, ConstByteSpan data) override;
  uint64_t Room(std::string_view path) override;
  void Close() override {}

  std::map<std::string, std::vector<uint8_t>, std::less<>>& files() { return files_; }
  void AddDirectory(std::string path) { dirs_.insert(std::move(path)); }
  uint64_t used() const;

 private:
  bool ParentExists(std::string_view path) const;

  uint64_t quota_;
  std::map<std::string, std::vector<uint8_t>, std::less<>> files_;
  std::set<std::string, std::less<>> dirs_;
};

}  // namespace smpkit::mgmt
