#pragma once
// Statistics management group (group 2, Zephyr's stat_mgmt; smp-protocol.md §7 and Zephyr's
// smp_group_2.rst): list the statistics groups a device keeps, and show one group's counters.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

// One counter of a statistics group. Zephyr encodes every value as a 32-bit unsigned int.
struct StatField {
  std::string_view name;
  uint32_t value = 0;
};

// What the device keeps: its statistics groups, in registration order. Allocation-free:
// the group's fields are read one at a time while the answer is encoded.
class StatSource {
 public:
  virtual ~StatSource() = default;
  virtual size_t GroupCount() const = 0;
  virtual std::string_view GroupName(size_t group) const = 0;
  virtual size_t FieldCount(size_t group) const = 0;
  virtual StatField Field(size_t group, size_t field) const = 0;
};

struct StatGroupConfig {
  // Zephyr 3.4 put "rc": 0 first in every list answer; 4.1 does only with
  // CONFIG_MCUMGR_SMP_LEGACY_RC_BEHAVIOUR (captured servers, vectors/smp).
  bool list_rc0 = false;
  bool show_rc0 = false;  // the same for show
  // CONFIG_MCUMGR_GRP_STAT_MAX_NAME_LEN: a name this long or longer is refused (EINVAL).
  size_t max_name_len = 32;
};

// Zephyr's enum stat_mgmt_err_code_t.
enum class StatErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kInvalidGroup = 2,
  kInvalidStatName = 3,
  kInvalidStatSize = 4,
  kWalkAborted = 5,
};
// Zephyr's stat_mgmt_translate_error_code, for SMP v1 clients.
int32_t StatErrToV1(uint16_t rc);

class StatGroup : public smp::Group {
 public:
  // The command ids, shared with the client (smpkit/smp/commands.h).
  using Command = smp::stat::Command;
  using enum smp::stat::Command;

  StatGroup(const StatGroupConfig& config, const StatSource& source)
      : smp::Group(kGroupId), config_(config), source_(source) {}
  static constexpr uint16_t kGroupId = 2;

  // Both commands answer reads; a write gets rc 8, as Zephyr's handler table has no writers.
  bool Supports(uint8_t command, smp::Op op) const override;
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return StatErrToV1(rc); }
  std::string_view Name() const override { return "stat mgmt"; }
  size_t HandlerCount() const override { return 2; }

 private:
  smp::Outcome Show(const smp::Request& r, cbor::Writer& w);
  smp::Outcome List(cbor::Writer& w);

  StatGroupConfig config_;
  const StatSource& source_;
};

}  // namespace smpkit::mgmt
