#pragma once
// Enumeration management group (group 10, Zephyr's enum_mgmt; smp_group_10.rst): the groups
// this server really has, from its registry, in registration order.

#include <cstdint>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

// Zephyr's enum enum_mgmt_err_code_t.
enum class EnumErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kTooManyGroupEntries = 2,
  kInsufficientHeapForEntries = 3,
  kIndexTooLarge = 4,
};
// Zephyr's enum_mgmt_translate_error_code, for SMP v1 clients.
int32_t EnumErrToV1(uint16_t rc);

struct EnumGroupConfig {
  bool details = true;           // CONFIG_MCUMGR_GRP_ENUM_DETAILS
  bool details_name = true;      // CONFIG_MCUMGR_GRP_ENUM_DETAILS_NAME
  bool details_handlers = true;  // CONFIG_MCUMGR_GRP_ENUM_DETAILS_HANDLERS
  // CONFIG_MCUMGR_GRP_ENUM_DETAILS_BUFFER_TYPE_STACK_ENTRIES: more requested ids than this
  // is TOO_MANY_GROUP_ENTRIES.
  size_t max_detail_entries = 16;
};

class EnumGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::enumeration::Command;
  using enum smp::enumeration::Command;
  static constexpr uint16_t kGroupId = 10;

  // `registry` is the one this group is registered in (it lists itself too).
  EnumGroup(const EnumGroupConfig& config, const smp::Registry& registry)
      : smp::Group(kGroupId), config_(config), registry_(registry) {}

  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return EnumErrToV1(rc); }
  std::string_view Name() const override { return "enum mgmt"; }
  size_t HandlerCount() const override { return config_.details ? 4 : 3; }

 private:
  smp::Outcome Single(const smp::Request& r, cbor::Writer& w);
  smp::Outcome Details(const smp::Request& r, cbor::Writer& w);

  EnumGroupConfig config_;
  const smp::Registry& registry_;
};

}  // namespace smpkit::mgmt
