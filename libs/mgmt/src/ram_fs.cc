#include "smpkit/mgmt/ram_fs.h"

#include <algorithm>
#include <cstring>

namespace smpkit::mgmt {

uint64_t RamFileSystem::used() const {
  uint64_t n = 0;
  for (const auto& [name, data] : files_) n += data.size();
  return n;
}

bool RamFileSystem::ParentExists(std::string_view path) const {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos || dirs_.count(path.substr(0, slash)) > 0;
}

FsErr RamFileSystem::Size(std::string_view path, uint64_t* size) {
  if (dirs_.count(path)) return FsErr::kFileIsDirectory;
  auto it = files_.find(path);
  if (it == files_.end()) return FsErr::kFileNotFound;
  *size = it->second.size();
  return FsErr::kOk;
}

FsErr RamFileSystem::Read(std::string_view path, uint64_t off, ByteSpan out, size_t* got) {
  auto it = files_.find(path);
  if (it == files_.end()) return FsErr::kFileReadFailed;
  const auto& data = it->second;
  const size_t start = static_cast<size_t>(std::min<uint64_t>(off, data.size()));
  *got = std::min(out.size(), data.size() - start);
  if (*got > 0) std::memcpy(out.data(), data.data() + start, *got);
  return FsErr::kOk;
}

FsErr RamFileSystem::Create(std::string_view path) {
  if (dirs_.count(path)) return FsErr::kFileIsDirectory;
  if (!ParentExists(path)) return FsErr::kMountPointNotFound;
  files_.try_emplace(std::string(path));
  return FsErr::kOk;
}

FsErr RamFileSystem::Truncate(std::string_view path) {
  auto it = files_.find(path);
  if (it == files_.end()) return FsErr::kFileTruncateFailed;
  it->second.clear();
  return FsErr::kOk;
}

FsErr RamFileSystem::Write(std::string_view path, uint64_t off, ConstByteSpan data) {
  auto it = files_.find(path);
  if (it == files_.end() || off > it->second.size()) return FsErr::kFileWriteFailed;
  auto& file = it->second;
  const uint64_t end = off + data.size();
  if (end > file.size() && end - file.size() > quota_ - std::min(quota_, used())) {
    return FsErr::kFileWriteFailed;  // the quota
  }
  if (end > file.size()) file.resize(static_cast<size_t>(end));
  std::copy(data.begin(), data.end(), file.begin() + static_cast<std::ptrdiff_t>(off));
  return FsErr::kOk;
}

uint64_t RamFileSystem::Room(std::string_view path) {
  uint64_t own = 0;
  if (auto it = files_.find(path); it != files_.end()) own = it->second.size();
  const uint64_t others = used() - own;
  return quota_ > others ? quota_ - others : 0;
}

}  // namespace smpkit::mgmt
