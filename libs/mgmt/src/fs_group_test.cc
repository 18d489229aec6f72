// File management group (group 8) against hand-encoded bytes built from Zephyr's
// smp_group_8.rst (request and response shapes), fs_mgmt.c (key order, errors, v1
// translation, chunk size) and its fs_mgmt_hash_supported test (the request bytes of the
// supported-types query), not from smpkit's encoder.
#include "smpkit/mgmt/fs_group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "smpkit/mgmt/ram_fs.h"
#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::FromHex;
using testing::ToHex;

// A frame of group 8: header (length from the hand-written payload) + payload.
std::string Frame(uint8_t op_ver, uint8_t seq, uint8_t id, const std::string& payload_hex) {
  return testing::ResponseHex(op_ver, FsGroup::kGroupId, seq, id, payload_hex);
}

// Keys and values, hand-encoded.
const std::string kOff = "63 6f6666 ";
const std::string kName = "64 6e616d65 ";
const std::string kData = "64 64617461 ";
const std::string kLen = "63 6c656e ";
const std::string kType = "64 74797065 ";
const std::string kOutput = "66 6f7574707574 ";
const std::string kHello = "6f 2f6c6673312f68656c6c6f2e747874 ";  // "/lfs1/hello.txt"

std::string GroupErr(uint8_t rc) {
  return "63 657272 bf 65 67726f7570 08 62 7263 " + ToHex(std::vector<uint8_t>{rc}) + " ff ";
}

class FsGroupTest : public ::testing::Test {
 protected:
  FsGroupTest() : fs_(4096), group_(FsGroupConfig{}, config_, fs_) {
    EXPECT_TRUE(registry_.Register(group_).ok());
    config_.buf_size = 384;
  }
  std::string Call(const std::string& request_hex) {
    return testing::ProcessHex(registry_, config_, request_hex);
  }
  // v2 requests: a write (upload, close) or a read.
  std::string Write(uint8_t id, const std::string& payload) {
    return Call(Frame(0x0a, 1, id, payload));
  }
  std::string Read(uint8_t id, const std::string& payload) {
    return Call(Frame(0x08, 1, id, payload));
  }
  void UploadHelloWorld() {
    ASSERT_EQ(
        Write(0, "a4 " + kOff + "00 " + kData + "45 68656c6c6f " + kLen + "0b " + kName + kHello),
        Frame(0x0b, 1, 0, "bf " + kOff + "05 ff"));
    ASSERT_EQ(Write(0, "a3 " + kOff + "05 " + kData + "46 20776f726c64 " + kName + kHello),
              Frame(0x0b, 1, 0, "bf " + kOff + "0b ff"));
  }
  std::string Contents(const std::string& path) {
    const auto& f = fs_.files()[path];
    return std::string(f.begin(), f.end());
  }

  smp::ServerConfig config_;
  RamFileSystem fs_;
  FsGroup group_;
  smp::Registry registry_;
};

TEST_F(FsGroupTest, SupportedHashTypesAsZephyrsOwnTest) {
  // tests/subsys/mgmt/mcumgr/fs_mgmt_hash_supported: a v1 read of command 3 with "bf ff".
  EXPECT_EQ(Call("00 00 00 02 00 08 01 03 bf ff"),
            Frame(0x01, 1, 3,
                  "bf 65 7479706573 bf 65 6372633332 bf 66 666f726d6174 00 64 73697a65 04 ff "
                  "66 736861323536 bf 66 666f726d6174 01 64 73697a65 18 20 ff ff ff"));
}

TEST_F(FsGroupTest, UploadInChunksThenStatusDownloadAndHashes) {
  UploadHelloWorld();
  EXPECT_EQ(Contents("hello.txt"), "hello world");
  // Status: {"len": 11}
  EXPECT_EQ(Read(1, "a1 " + kName + kHello), Frame(0x09, 1, 1, "bf " + kLen + "0b ff"));
  // Download at 0: off, data, then len (at off 0 only).
  EXPECT_EQ(Read(0, "a2 " + kOff + "00 " + kName + kHello),
            Frame(0x09, 1, 0,
                  "bf " + kOff + "00 " + kData + "4b 68656c6c6f20776f726c64 " + kLen + "0b ff"));
  // Download at 6: no len.
  EXPECT_EQ(Read(0, "a2 " + kName + kHello + kOff + "06"),
            Frame(0x09, 1, 0, "bf " + kOff + "06 " + kData + "45 776f726c64 ff"));
  // Hash with the default type: crc32 as a uint (zlib.crc32(b"hello world") = 0x0d4a1185).
  EXPECT_EQ(Read(2, "a1 " + kName + kHello),
            Frame(0x09, 1, 2,
                  "bf " + kType + "65 6372633332 " + kLen + "0b " + kOutput + "1a 0d4a1185 ff"));
  // From offset 6: "off" is echoed (crc32(b"world") = 0x3a771143).
  EXPECT_EQ(Read(2, "a2 " + kName + kHello + kOff + "06"),
            Frame(0x09, 1, 2,
                  "bf " + kType + "65 6372633332 " + kOff + "06 " + kLen + "05 " + kOutput +
                      "1a 3a771143 ff"));
  // sha256 as a 32-byte bstr.
  EXPECT_EQ(Read(2, "a2 " + kName + kHello + kType + "66 736861323536"),
            Frame(0x09, 1, 2,
                  "bf " + kType + "66 736861323536 " + kLen + "0b " + kOutput +
                      "58 20 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9 "
                      "ff"));
  // A length limit: the first 5 bytes only, sha256("hello").
  EXPECT_EQ(Read(2, "a3 " + kName + kHello + kType + "66 736861323536 " + kLen + "05"),
            Frame(0x09, 1, 2,
                  "bf " + kType + "66 736861323536 " + kLen + "05 " + kOutput +
                      "58 20 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 "
                      "ff"));
  // Close: op write, an empty map.
  EXPECT_EQ(Write(4, "a0"), Frame(0x0b, 1, 4, "bf ff"));
}

TEST_F(FsGroupTest, ResumeAndWrongOffsets) {
  ASSERT_EQ(
      Write(0, "a4 " + kOff + "00 " + kData + "45 68656c6c6f " + kLen + "0b " + kName + kHello),
      Frame(0x0b, 1, 0, "bf " + kOff + "05 ff"));
  // A chunk at another offset than the file's end: FILE_OFFSET_NOT_VALID with "len", the
  // offset the device expects; nothing written.
  EXPECT_EQ(Write(0, "a3 " + kOff + "07 " + kData + "44 776f726c " + kName + kHello),
            Frame(0x0b, 1, 0, "bf " + GroupErr(11) + kLen + "05 ff"));
  EXPECT_EQ(Contents("hello.txt"), "hello");
  // v1: the translated rc only (1).
  EXPECT_EQ(Call(Frame(0x02, 1, 0, "a3 " + kOff + "07 " + kData + "41 64 " + kName + kHello)),
            Frame(0x03, 1, 0, "bf 62 7263 01 ff"));
  // The session closed; the next chunk at the file's end resumes it.
  EXPECT_EQ(Write(0, "a3 " + kOff + "05 " + kData + "46 20776f726c64 " + kName + kHello),
            Frame(0x0b, 1, 0, "bf " + kOff + "0b ff"));
  EXPECT_EQ(Contents("hello.txt"), "hello world");
  // A new upload at 0 replaces the file.
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "42 6869 " + kLen + "02 " + kName + kHello),
            Frame(0x0b, 1, 0, "bf " + kOff + "02 ff"));
  EXPECT_EQ(Contents("hello.txt"), "hi");
}

TEST_F(FsGroupTest, MalformedRequestsAreEinval) {
  const std::string einval = Frame(0x0b, 1, 0, "bf 62 7263 03 ff");
  // No off; off as text; data as text; off 0 without len; an empty name; no name.
  EXPECT_EQ(Write(0, "a2 " + kData + "41 00 " + kName + kHello), einval);
  EXPECT_EQ(Write(0, "a3 " + kOff + "61 30 " + kLen + "01 " + kName + kHello), einval);
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "61 68 " + kLen + "01 " + kName + kHello),
            einval);
  EXPECT_EQ(Write(0, "a3 " + kOff + "00 " + kData + "41 68 " + kName + kHello), einval);
  EXPECT_EQ(Write(0, "a3 " + kOff + "00 " + kLen + "01 " + kName + "60"), einval);
  EXPECT_EQ(Write(0, "a2 " + kOff + "00 " + kLen + "01"), einval);
  // A name of 65 bytes (CONFIG_MCUMGR_GRP_FS_PATH_LEN 64): EINVAL; 64 bytes is a name.
  const std::string long_name = "/lfs1/" + std::string(59, 'a');
  EXPECT_EQ(Read(1, "a1 " + kName + "78 41 " +
                        ToHex(std::vector<uint8_t>(long_name.begin(), long_name.end()))),
            Frame(0x09, 1, 1, "bf 62 7263 03 ff"));
  const std::string name64 = long_name.substr(1);
  EXPECT_EQ(
      Read(1, "a1 " + kName + "78 40 " + ToHex(std::vector<uint8_t>(name64.begin(), name64.end()))),
      Frame(0x09, 1, 1, "bf " + GroupErr(3) + "ff"));  // not found
  // Unknown keys are skipped.
  UploadHelloWorld();
  EXPECT_EQ(Read(1, "a2 63 666f6f 01 " + kName + kHello),
            Frame(0x09, 1, 1, "bf " + kLen + "0b ff"));
  // Hash: a type longer than 8 bytes, an explicit len 0.
  EXPECT_EQ(Read(2, "a2 " + kName + kHello + kType + "69 737368613235363132"),
            Frame(0x09, 1, 2, "bf 62 7263 03 ff"));
  EXPECT_EQ(Read(2, "a2 " + kName + kHello + kLen + "00"), Frame(0x09, 1, 2, "bf 62 7263 03 ff"));
}

TEST_F(FsGroupTest, NamesOutsideTheSandboxAreRefused) {
  fs_.files()["secret"] = {'s'};
  // ".." and "." components, empty components: FILE_INVALID_NAME (v1: EINVAL).
  for (const std::string name : {"/lfs1/../secret", "/lfs1/a/../secret", "/lfs1/./secret",
                                 "/lfs1//secret", "/lfs1/secret/", "/lfs1/.."}) {
    const std::string hex = ToHex(std::vector<uint8_t>{static_cast<uint8_t>(0x60 + name.size())}) +
                            " " + ToHex(std::vector<uint8_t>(name.begin(), name.end()));
    EXPECT_EQ(Read(0, "a2 " + kOff + "00 " + kName + hex),
              Frame(0x09, 1, 0, "bf " + GroupErr(2) + "ff"))
        << name;
    EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "01 " + kName + hex),
              Frame(0x0b, 1, 0, "bf " + GroupErr(2) + "ff"))
        << name;
    EXPECT_EQ(Call(Frame(0x00, 1, 1, "a1 " + kName + hex)), Frame(0x01, 1, 1, "bf 62 7263 03 ff"))
        << name;
  }
  EXPECT_EQ(fs_.files()["secret"], std::vector<uint8_t>{'s'});
  // Another mount point: not found to read (v1 ENOENT), MOUNT_POINT_NOT_FOUND to write.
  const std::string etc = "6b 2f6574632f706173737764";  // "/etc/passwd"
  EXPECT_EQ(Read(1, "a1 " + kName + etc), Frame(0x09, 1, 1, "bf " + GroupErr(3) + "ff"));
  EXPECT_EQ(Call(Frame(0x00, 1, 1, "a1 " + kName + etc)), Frame(0x01, 1, 1, "bf 62 7263 05 ff"));
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "01 " + kName + etc),
            Frame(0x0b, 1, 0, "bf " + GroupErr(14) + "ff"));
  EXPECT_EQ(fs_.files().size(), 1u);
}

TEST_F(FsGroupTest, MissingFilesDirectoriesEmptyFilesAndOffsetsPastTheEnd) {
  EXPECT_EQ(Read(0, "a2 " + kOff + "00 " + kName + kHello),
            Frame(0x09, 1, 0, "bf " + GroupErr(3) + "ff"));
  EXPECT_EQ(Call(Frame(0x00, 1, 0, "a2 " + kOff + "00 " + kName + kHello)),
            Frame(0x01, 1, 0, "bf 62 7263 05 ff"));
  EXPECT_EQ(Read(2, "a1 " + kName + kHello), Frame(0x09, 1, 2, "bf " + GroupErr(3) + "ff"));
  // A directory: FILE_IS_DIRECTORY; an upload into a missing directory: no mount point
  // (Zephyr's fs_open gives -ENOENT).
  fs_.AddDirectory("d");
  EXPECT_EQ(Read(1, "a1 " + kName + "67 2f6c6673312f64"),
            Frame(0x09, 1, 1, "bf " + GroupErr(4) + "ff"));
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "01 " + kName +
                         "69 2f6c6673312f782f79"),  // "/lfs1/x/y"
            Frame(0x0b, 1, 0, "bf " + GroupErr(14) + "ff"));
  // Into an existing directory: fine.
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "01 " + kName +
                         "69 2f6c6673312f642f79"),  // "/lfs1/d/y"
            Frame(0x0b, 1, 0, "bf " + kOff + "01 ff"));
  EXPECT_EQ(Contents("d/y"), "x");
  // An empty file: its hash is FILE_EMPTY; its download is empty with len 0.
  fs_.files()["empty"];
  const std::string empty = "6b 2f6c6673312f656d707479";
  EXPECT_EQ(Read(2, "a1 " + kName + empty), Frame(0x09, 1, 2, "bf " + GroupErr(16) + "ff"));
  EXPECT_EQ(Read(0, "a2 " + kOff + "00 " + kName + empty),
            Frame(0x09, 1, 0, "bf " + kOff + "00 " + kData + "40 " + kLen + "00 ff"));
  UploadHelloWorld();
  // Hash from the end or beyond: OFFSET_LARGER_THAN_FILE.
  EXPECT_EQ(Read(2, "a2 " + kName + kHello + kOff + "0b"),
            Frame(0x09, 1, 2, "bf " + GroupErr(12) + "ff"));
  // Unknown hash type: CHECKSUM_HASH_NOT_FOUND (v1 EINVAL), checked before the file.
  EXPECT_EQ(Read(2, "a2 " + kName + "67 2f6c6673312f7a " + kType + "63 6d6435"),
            Frame(0x09, 1, 2, "bf " + GroupErr(13) + "ff"));
  // A download past the end reads nothing, as Zephyr on littlefs.
  EXPECT_EQ(Read(0, "a2 " + kOff + "18 64 " + kName + kHello),
            Frame(0x09, 1, 0, "bf " + kOff + "18 64 " + kData + "40 ff"));
  // Read of close, write of status: no such handler.
  EXPECT_EQ(Read(4, "a0"), Frame(0x09, 1, 4, "bf 62 7263 08 ff"));
  EXPECT_EQ(Write(1, "a1 " + kName + kHello), Frame(0x0b, 1, 1, "bf 62 7263 08 ff"));
}

TEST_F(FsGroupTest, AFileLargerThanTheQuotaIsRefusedBeforeAnythingIsWritten) {
  UploadHelloWorld();
  // The quota is 4096 bytes, 11 used: a new file of 4086 bytes does not fit.
  const std::string big = "6d 2f6c6673312f6269672e62696e";  // "/lfs1/big.bin"
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "19 0ff6 " + kName + big),
            Frame(0x0b, 1, 0, "bf " + GroupErr(10) + "ff"));
  EXPECT_EQ(fs_.files().count("big.bin"), 0u);
  // 4085 bytes fit.
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "19 0ff5 " + kName + big),
            Frame(0x0b, 1, 0, "bf " + kOff + "01 ff"));
  // Replacing hello.txt counts its own 11 bytes free.
  EXPECT_EQ(Write(0, "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "0c " + kName + kHello),
            Frame(0x0b, 1, 0, "bf " + kOff + "01 ff"));
  // Data beyond what was announced runs into the quota: FILE_WRITE_FAILED, nothing written.
  fs_.files()["big.bin"].resize(4094);  // 4095 of 4096 used
  EXPECT_EQ(Write(0, "a3 " + kOff + "01 " + kData + "44 00010203 " + kName + kHello),
            Frame(0x0b, 1, 0, "bf " + GroupErr(10) + "ff"));
  EXPECT_EQ(Contents("hello.txt"), "x");
}

TEST_F(FsGroupTest, DownloadChunksFitTheBufferAsZephyrComputesThem) {
  // NETBUF 384 with 4 GiB files: 384 - (35 + 3 * 5) = 334 data bytes per answer.
  EXPECT_EQ(group_.DownloadChunkSize(), 334u);
  std::vector<uint8_t> file(1000);
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<uint8_t>(i * 7);
  fs_.files()["f"] = file;
  std::vector<uint8_t> got;
  const std::string f = "67 2f6c6673312f66";
  while (got.size() < file.size()) {
    const std::string off =
        got.size() < 24 ? ToHex(std::vector<uint8_t>{static_cast<uint8_t>(got.size())})
        : got.size() < 256
            ? "18 " + ToHex(std::vector<uint8_t>{static_cast<uint8_t>(got.size())})
            : "19 " + ToHex(std::vector<uint8_t>{static_cast<uint8_t>(got.size() >> 8),
                                                 static_cast<uint8_t>(got.size())});
    const auto rsp = FromHex(Read(0, "a2 " + kOff + off + " " + kName + f));
    ASSERT_LE(rsp.size(), config_.buf_size);
    // Find the data bstr after the "data" key: 59 <len16> then bytes.
    const auto key = FromHex(kData);
    auto it = std::search(rsp.begin(), rsp.end(), key.begin(), key.end());
    ASSERT_NE(it, rsp.end());
    it += static_cast<std::ptrdiff_t>(key.size());
    size_t n = 0;
    if (*it == 0x59) {
      n = static_cast<size_t>(it[1]) << 8 | it[2];
      it += 3;
    } else {
      ASSERT_EQ(*it, 0x58);
      n = it[1];
      it += 2;
    }
    EXPECT_EQ(n, std::min<size_t>(334, file.size() - got.size()));
    got.insert(got.end(), it, it + static_cast<std::ptrdiff_t>(n));
  }
  EXPECT_EQ(got, file);
  // Zephyr's 64 KiB choice leaves 384 - 44 = 340.
  FsGroupConfig small;
  small.large_files = false;
  EXPECT_EQ(FsGroup(small, config_, fs_).DownloadChunkSize(), 340u);
}

TEST_F(FsGroupTest, LegacyRcAndAbsentOptionalCommands) {
  FsGroupConfig legacy;
  legacy.legacy_rc = true;
  legacy.checksum_hash = false;
  FsGroup g(legacy, config_, fs_);
  smp::Registry reg;
  ASSERT_TRUE(reg.Register(g).ok());
  EXPECT_EQ(testing::ProcessHex(
                reg, config_,
                Frame(0x0a, 1, 0,
                      "a4 " + kOff + "00 " + kData + "41 78 " + kLen + "01 " + kName + kHello)),
            Frame(0x0b, 1, 0, "bf 62 7263 00 " + kOff + "01 ff"));
  EXPECT_EQ(testing::ProcessHex(reg, config_, Frame(0x08, 1, 1, "a1 " + kName + kHello)),
            Frame(0x09, 1, 1, "bf 62 7263 00 " + kLen + "01 ff"));
  // Without CONFIG_MCUMGR_GRP_FS_CHECKSUM_HASH: no hash handlers (ENOTSUP).
  EXPECT_EQ(testing::ProcessHex(reg, config_, Frame(0x08, 1, 2, "a1 " + kName + kHello)),
            Frame(0x09, 1, 2, "bf 62 7263 08 ff"));
  EXPECT_EQ(testing::ProcessHex(reg, config_, Frame(0x08, 1, 3, "a0")),
            Frame(0x09, 1, 3, "bf 62 7263 08 ff"));
}

}  // namespace
}  // namespace smpkit::mgmt
