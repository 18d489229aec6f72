#pragma once
// Image management group (group 1, smp-protocol.md §6) over the bootloader model's slots:
// state read/write, upload (§6.5.3), erase, slot info. One upload session per device.
// The request path allocates nothing; the final-chunk image check hashes the slot once.

#include <array>
#include <cstdint>

#include "smpkit/flash/partition.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

enum class DfuEvent : uint8_t { kStarted, kChunk, kPending, kStopped, kConfirmed };

// What the upload-check hook sees (Zephyr's img_mgmt_upload_check).
struct UploadCheck {
  uint8_t image = 0;
  uint32_t off = 0;
  uint32_t len = 0;        // image length of the session
  uint32_t data_len = 0;   // bytes in this chunk
  uint8_t slot = 0;        // absolute destination slot
  bool erase = false;      // the first chunk will erase the slot
  bool upgrade = false;
};

class ImgHooks {
 public:
  virtual ~ImgHooks() = default;
  // Upload check (the seed's upload_confirm). Success lets the chunk through; Outcome::Rc
  // answers {"rc": n} and aborts the session; Outcome::GroupError answers
  // {"err": ..., "off": current} and keeps the session.
  virtual smp::Outcome OnUploadChunk(const UploadCheck& check) {
    (void)check;
    return smp::Outcome::Success();
  }
  virtual void OnDfuEvent(DfuEvent event) { (void)event; }
};

struct ImgGroupConfig {
  bool slot_info = true;           // command 6 (Zephyr >= 3.7)
  bool image_check = true;         // CONFIG_IMG_ENABLE_IMAGE_CHECK: "match" in the last response
  bool erase_blank_is_error = false;  // Zephyr 3.4 answered IMG 1 for erasing a blank slot
  // CONFIG_IMG_ERASE_PROGRESSIVELY: erase each page just before the upload writes into it
  // (and the trailer at the end) instead of all needed pages on the first chunk.
  bool erase_progressively = false;
  bool version_cmp_use_build = false;
};

class ImgGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::img::Command;
  using enum smp::img::Command;

  ImgGroup(mcuboot::Bootloader& boot, std::span<const flash::SlotPair> slots,
           const ImgGroupConfig& config, ImgHooks& hooks);

  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return smp::ImgErrToV1(rc); }
  std::string_view Name() const override { return "img mgmt"; }
  size_t HandlerCount() const override { return 7; }

  bool upload_in_progress() const { return session_.active; }
  uint32_t upload_offset() const { return session_.off; }
  // Image bytes uploads have taken since this group was created (statistics).
  uint64_t uploaded_bytes() const { return uploaded_bytes_; }
  // Forgets the session (reboot, erase).
  void ResetSession() { session_ = Session{}; }

 private:
  struct Session {
    bool active = false;
    uint8_t slot = 0;  // absolute
    uint32_t len = 0;
    uint32_t off = 0;  // next expected offset (bytes accepted)
    std::array<uint8_t, 32> sha{};
    uint8_t sha_len = 0;
    // Bytes accepted but not yet written because the flash writes whole units.
    std::array<uint8_t, 16> tail{};
    uint8_t tail_len = 0;
    uint32_t erased_to = 0;  // progressive erase: pages below this offset are erased
  };

  smp::Outcome StateRead(cbor::Writer& w);
  smp::Outcome StateWrite(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Upload(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Erase(const smp::Request& r);
  smp::Outcome SlotInfo(cbor::Writer& w);

  smp::Outcome Fail(smp::ImgErr err, const char* reason);
  Status WriteData(ConstByteSpan data);
  // Progressive erase: make sure [from, to) of the slot is erased before writing there.
  Status EraseAhead(uint32_t to);
  Status Flush();
  Result<bool> FinalMatch();
  const flash::Partition& SlotPartition(uint8_t abs_slot) const;

  mcuboot::Bootloader& boot_;
  std::array<flash::SlotPair, flash::kMaxImages> slots_{};
  uint32_t image_count_ = 0;
  uint64_t uploaded_bytes_ = 0;
  ImgGroupConfig config_;
  ImgHooks& hooks_;
  Session session_;
};

}  // namespace smpkit::mgmt
