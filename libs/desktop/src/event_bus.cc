#include "smpkit/desktop/event_bus.h"

#include <algorithm>
#include <array>

namespace smpkit::desktop {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kFirst:
      return "FIRST";
    case Priority::kEarly:
      return "EARLY";
    case Priority::kNormal:
      return "NORMAL";
    case Priority::kFinal:
      return "FINAL";
  }
  return "?";
}

namespace {

bool Cares(const PropagationLink& sub, ModuleId source) {
  return sub.from.empty() || std::find(sub.from.begin(), sub.from.end(), source) != sub.from.end();
}

}  // namespace

std::string RenderPropagationTable(ModuleId module, const std::vector<PropagationLink>& subs,
                                   const std::vector<PropagationLink>& sources) {
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows;
  const std::string self(ModuleName(module));
  bool first = true;
  auto name_of = [&](bool is_first) { return is_first ? self : std::string(); };
  // Inputs: one row per (event, source).
  for (const auto& s : subs) {
    if (s.module != module) continue;
    std::string event(s.event);
    if (s.priority != Priority::kNormal)
      event += " (" + std::string(PriorityName(s.priority)) + ")";
    std::vector<ModuleId> from;
    for (const auto& src : sources)
      if (src.event == s.event && Cares(s, src.module)) from.push_back(src.module);
    if (from.empty()) {
      rows.push_back({"", event, name_of(first), "", ""});
      first = false;
    }
    for (ModuleId f : from) {
      rows.push_back({std::string(ModuleName(f)), event, name_of(first), "", ""});
      first = false;
    }
  }
  // Outputs: one row per (event, sink).
  for (const auto& src : sources) {
    if (src.module != module) continue;
    std::vector<ModuleId> sinks;
    for (const auto& s : subs)
      if (s.event == src.event && Cares(s, module) &&
          std::find(sinks.begin(), sinks.end(), s.module) == sinks.end())
        sinks.push_back(s.module);
    if (sinks.empty()) {
      rows.push_back({"", "", name_of(first), std::string(src.event), ""});
      first = false;
    }
    for (ModuleId k : sinks) {
      rows.push_back({"", "", name_of(first), std::string(src.event), std::string(ModuleName(k))});
      first = false;
    }
  }
  if (rows.empty()) rows.push_back({"", "", self, "", ""});
  const Row header = {"Source Module", "Input Event", "This Module", "Output Event", "Sink Module"};
  std::array<size_t, 5> width{};
  for (size_t c = 0; c < 5; ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const Row& r) {
    std::string out = "|";
    for (size_t c = 0; c < 5; ++c)
      out += " " + r[c] + std::string(width[c] - r[c].size(), ' ') + " |";
    return out + "\n";
  };
  std::string out = line(header);
  out += "|";
  for (size_t c = 0; c < 5; ++c) out += std::string(width[c] + 2, '-') + "|";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace smpkit::desktop
