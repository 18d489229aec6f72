// Fuzzes the file management group's request decoding and its upload/download state: the
// input is one transport packet, whose frames (several back to back make a sequence: upload
// chunks, downloads, hashes, close) go through the dispatcher into a fresh group over a RAM
// file system with a small quota. Every response must be a well-formed frame; the files
// must stay within the quota, and every file name within the sandbox's rules.
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"
#include "smpkit/mgmt/fs_group.h"
#include "smpkit/mgmt/ram_fs.h"

namespace {

using smpkit::fuzzing::CheckingSink;

bool NameInSandbox(std::string_view name) {
  if (name.empty() || name.find('\0') != std::string_view::npos) return false;
  while (true) {
    const size_t slash = name.find('/');
    const std::string_view part = name.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    name.remove_prefix(slash + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint64_t kQuota = 4096;
  smpkit::smp::ServerConfig config;
  config.buf_size = 256;
  smpkit::mgmt::RamFileSystem files(kQuota);
  files.AddDirectory("d");
  files.files()["d/existing"] = {1, 2, 3};
  smpkit::mgmt::FsGroup group(smpkit::mgmt::FsGroupConfig{}, config, files);
  smpkit::smp::Registry registry;
  (void)registry.Register(group);
  smpkit::smp::Server server(registry, config);
  uint8_t scratch[256];
  CheckingSink sink;
  server.Process(smpkit::ConstByteSpan(data, size), scratch, sink);
  if (files.used() > kQuota) std::abort();
  for (const auto& [name, content] : files.files()) {
    if (!NameInSandbox(name)) std::abort();
  }
  return 0;
}
