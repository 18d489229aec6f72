#pragma once
// Settings management group (group 3, Zephyr's settings_mgmt, 3.5 to 4.2; smp_group_3.rst and
// settings_mgmt.c): read and write a setting's runtime value, delete it from storage, commit,
// load from storage and save to it. The settings themselves are the device's
// (SettingsBackend, Zephyr's settings API with its return codes).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

// Zephyr's enum settings_mgmt_ret_code_t (0..7 up to 4.2).
enum class SettingsErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kKeyTooLong = 2,
  kKeyNotFound = 3,
  kReadNotSupported = 4,
  kRootKeyNotFound = 5,
  kWriteNotSupported = 6,
  kDeleteNotSupported = 7,
};
// Zephyr's settings_mgmt_translate_error_code, for SMP v1 clients.
int32_t SettingsErrToV1(uint16_t rc);

// Zephyr's settings API as settings_mgmt calls it; negative errno values as Zephyr's:
// -EINVAL (-22) no handler for the name's root, -ENOENT (-2) no such key, -ENOTSUP (-134).
class SettingsBackend {
 public:
  static constexpr int kEnoent = -2;
  static constexpr int kEnomem = -12;
  static constexpr int kEinval = -22;
  static constexpr int kEnotsup = -134;
  virtual ~SettingsBackend() = default;
  // settings_runtime_get: copies at most out.size() bytes; their count, or an error.
  virtual int RuntimeGet(std::string_view name, ByteSpan out) = 0;
  virtual int RuntimeSet(std::string_view name, ConstByteSpan value) = 0;  // settings_runtime_set
  virtual int Delete(std::string_view name) = 0;  // settings_delete: a delete record in storage
  virtual int Commit() = 0;                       // settings_commit
  virtual int Load() = 0;                         // settings_load
  virtual int Save() = 0;                         // settings_save
};

struct SettingsGroupConfig {
  size_t name_len = 32;   // CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN: names below it
  size_t value_len = 32;  // CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN: the read buffer
};

class SettingsGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::settings::Command;
  using enum smp::settings::Command;
  static constexpr uint16_t kGroupId = 3;
  static constexpr size_t kMaxValue = 256;

  SettingsGroup(const SettingsGroupConfig& config, SettingsBackend& backend);

  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return SettingsErrToV1(rc); }
  std::string_view Name() const override { return "settings mgmt"; }
  size_t HandlerCount() const override { return 4; }

 private:
  smp::Outcome Read(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Write(const smp::Request& r);
  smp::Outcome Delete(const smp::Request& r);
  // A request's "name": EINVAL when absent or empty, KEY_TOO_LONG at name_len or more.
  smp::Outcome CheckName(std::string_view name) const;

  SettingsGroupConfig config_;
  SettingsBackend& backend_;
  std::array<uint8_t, kMaxValue> value_{};
};

}  // namespace smpkit::mgmt
