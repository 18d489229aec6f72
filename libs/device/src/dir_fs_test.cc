// The sandbox directory behind `smpkit device`'s file management group: through the group
// (as a client's requests reach it), nothing outside the directory is read or written.
#include "smpkit/device/dir_fs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace smpkit::device {
namespace {

namespace fs = std::filesystem;
using mgmt::FsErr;

class DirFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smpkit_dirfs_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "outside");
    std::ofstream(base_ / "outside" / "secret") << "secret";
    auto d = DirFileSystem::Open((base_ / "root").string(), 64);
    ASSERT_TRUE(d.ok()) << d.error().message();
    dir_ = std::move(*d);
  }
  void TearDown() override {
    dir_.reset();
    fs::remove_all(base_);
  }
  std::string Slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path base_;
  std::unique_ptr<DirFileSystem> dir_;
};

TEST_F(DirFsTest, WritesReadsAndKeepsOneFileOpen) {
  ASSERT_EQ(dir_->Create("a.txt"), FsErr::kOk);
  const uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
  ASSERT_EQ(dir_->Write("a.txt", 0, hello), FsErr::kOk);
  ASSERT_EQ(dir_->Write("a.txt", 5, hello), FsErr::kOk);
  EXPECT_EQ(dir_->Write("a.txt", 11, hello), FsErr::kFileWriteFailed);  // a hole
  uint64_t size = 0;
  ASSERT_EQ(dir_->Size("a.txt", &size), FsErr::kOk);
  EXPECT_EQ(size, 10u);
  uint8_t buf[16];
  size_t got = 0;
  ASSERT_EQ(dir_->Read("a.txt", 3, buf, &got), FsErr::kOk);
  EXPECT_EQ(got, 7u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), got), "lohello");
  EXPECT_EQ(Slurp(base_ / "root" / "a.txt"), "hellohello");
  ASSERT_EQ(dir_->Truncate("a.txt"), FsErr::kOk);
  dir_->Close();
  EXPECT_EQ(Slurp(base_ / "root" / "a.txt"), "");
  EXPECT_EQ(dir_->Size("missing", &size), FsErr::kFileNotFound);
  EXPECT_EQ(dir_->Create("no/such/dir"), FsErr::kMountPointNotFound);
  fs::create_directories(base_ / "root" / "sub");
  EXPECT_EQ(dir_->Size("sub", &size), FsErr::kFileIsDirectory);
  EXPECT_EQ(dir_->Create("sub"), FsErr::kFileIsDirectory);
  EXPECT_EQ(dir_->Create("sub/f"), FsErr::kOk);
}

TEST_F(DirFsTest, SymlinksThatLeadOutAreInvalidNames) {
  fs::create_symlink(base_ / "outside" / "secret", base_ / "root" / "link");
  fs::create_directory_symlink(base_ / "outside", base_ / "root" / "dirlink");
  fs::create_symlink(base_ / "outside" / "new", base_ / "root" / "dangling");
  uint64_t size = 0;
  uint8_t buf[16];
  size_t got = 0;
  const uint8_t x[] = {'x'};
  EXPECT_EQ(dir_->Size("link", &size), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Read("link", 0, buf, &got), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Create("link"), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Size("dirlink/secret", &size), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Create("dirlink/new"), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Create("dangling"), FsErr::kFileInvalidName);
  EXPECT_EQ(dir_->Write("link", 0, x), FsErr::kFileInvalidName);
  EXPECT_EQ(Slurp(base_ / "outside" / "secret"), "secret");
  EXPECT_FALSE(fs::exists(base_ / "outside" / "new"));
  // A symlink that stays inside is followed.
  ASSERT_EQ(dir_->Create("in.txt"), FsErr::kOk);
  ASSERT_EQ(dir_->Write("in.txt", 0, x), FsErr::kOk);
  dir_->Close();
  fs::create_symlink(base_ / "root" / "in.txt", base_ / "root" / "inlink");
  ASSERT_EQ(dir_->Size("inlink", &size), FsErr::kOk);
  EXPECT_EQ(size, 1u);
}

TEST_F(DirFsTest, QuotaCountsEveryFileAndTheReplacedOneFree) {
  std::ofstream(base_ / "root" / "old") << std::string(40, 'o');
  EXPECT_EQ(dir_->Room("new"), 24u);
  EXPECT_EQ(dir_->Room("old"), 64u);
  ASSERT_EQ(dir_->Create("new"), FsErr::kOk);
  const std::vector<uint8_t> twenty(20, 'n');
  ASSERT_EQ(dir_->Write("new", 0, twenty), FsErr::kOk);
  EXPECT_EQ(dir_->Write("new", 20, std::vector<uint8_t>(5, 'n')), FsErr::kFileWriteFailed);
  uint64_t size = 0;
  ASSERT_EQ(dir_->Size("new", &size), FsErr::kOk);
  EXPECT_EQ(size, 20u);
  EXPECT_EQ(dir_->Write("new", 20, std::vector<uint8_t>(4, 'n')), FsErr::kOk);
}

TEST_F(DirFsTest, ARootThatIsAFileIsAnError) {
  std::ofstream(base_ / "file") << "x";
  auto d = DirFileSystem::Open((base_ / "file").string(), 1);
  ASSERT_FALSE(d.ok());
}

}  // namespace
}  // namespace smpkit::device
