#pragma once
// An event bus with the Application Event Manager's semantics (nrf-desktop.md §2.1):
// submitting appends to one FIFO and submits a single "event processor" work item on the
// (simulated) system workqueue; the processor delivers every queued event in order to its
// subscribers grouped FIRST, EARLY, NORMAL, FINAL (registration order within a group); a
// handler returning true consumes the event and later subscribers do not see it.
//
// Dispatch is typed at compile time: the bus is a template over the event structs, the queue
// holds a std::variant of them, and subscribers are kept per type. The queue is a fixed ring
// (no allocation when submitting); subscriptions allocate once, at module initialisation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "smpkit/base/result.h"
#include "smpkit/desktop/events.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::desktop {

enum class Priority : uint8_t { kFirst, kEarly, kNormal, kFinal };
std::string_view PriorityName(Priority p);

// One row source of the propagation table, type-erased to names.
struct PropagationLink {
  ModuleId module;
  std::string_view event;
  Priority priority = Priority::kNormal;
  std::vector<ModuleId> from;  // subscriptions: the sources this module cares about (empty: any)
};

// Renders the seed-style table for `module` ("Source Module | Input Event | This Module |
// Output Event | Sink Module") from subscriptions and declared sources.
std::string RenderPropagationTable(ModuleId module, const std::vector<PropagationLink>& subs,
                                   const std::vector<PropagationLink>& sources);

template <size_t kCapacity, typename... Events>
class BasicEventBus {
 public:
  using Event = std::variant<Events...>;
  template <typename E>
  using Handler = std::function<bool(const E&)>;  // returns true to consume
  using Observer = std::function<void(sim::Time, ModuleId from, const Event&)>;

  explicit BasicEventBus(sim::Scheduler& scheduler)
      : scheduler_(scheduler), processor_(scheduler, [this] { Process(); }) {}
  BasicEventBus(const BasicEventBus&) = delete;
  BasicEventBus& operator=(const BasicEventBus&) = delete;

  // `from` documents, for the propagation table, which sources this subscription is about
  // (e.g. module_state_event from main); delivery is not filtered by it.
  template <typename E>
  void Subscribe(ModuleId module, Priority priority, Handler<E> handler,
                 std::initializer_list<ModuleId> from = {}) {
    auto& list = std::get<std::vector<Sub<E>>>(subs_);
    // Keep the list sorted by priority, registration order within a priority.
    auto it = list.begin();
    while (it != list.end() && it->priority <= priority) ++it;
    list.insert(it, Sub<E>{module, priority, std::move(handler)});
    links_.push_back({module, E::kName, priority, std::vector<ModuleId>(from)});
  }
  // Declares that `module` submits events of type E (for the propagation table).
  template <typename E>
  void DeclareSource(ModuleId module) {
    for (const auto& l : sources_)
      if (l.module == module && l.event == E::kName) return;
    sources_.push_back({module, E::kName, Priority::kNormal, {}});
  }

  // Appends `event` to the FIFO and submits the processor. Errors: kNoSpace when kCapacity
  // events are already queued (the event is dropped and counted).
  template <typename E>
  Status Submit(ModuleId from, const E& event) {
    static_assert((std::is_same_v<E, Events> || ...), "event type not carried by this bus");
    if (count_ == kCapacity) {
      ++dropped_;
      return Error::Format(Errc::kNoSpace, "event queue full (%zu events), %s from %s dropped",
                           kCapacity, std::string(E::kName).c_str(),
                           std::string(ModuleName(from)).c_str());
    }
    ring_[(head_ + count_) % kCapacity] = Queued{from, Event(event)};
    ++count_;
    ++submitted_[IndexOf<E>()];
    processor_.Submit();
    return Status();
  }

  // Drops queued events and every subscription (a reboot: all RAM state is lost).
  void Reset() {
    processor_.Cancel();
    head_ = count_ = 0;
    std::apply([](auto&... l) { (l.clear(), ...); }, subs_);
    links_.clear();
    sources_.clear();
  }

  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  size_t queued() const { return count_; }
  uint64_t dropped() const { return dropped_; }
  template <typename E>
  uint64_t submitted() const {
    return submitted_[IndexOf<E>()];
  }
  template <typename E>
  size_t queued_of() const {
    size_t n = 0;
    for (size_t i = 0; i < count_; ++i)
      if (std::holds_alternative<E>(ring_[(head_ + i) % kCapacity].event)) ++n;
    return n;
  }

  std::string PropagationTable(ModuleId module) const {
    return RenderPropagationTable(module, links_, sources_);
  }
  const std::vector<PropagationLink>& subscriptions() const { return links_; }
  const std::vector<PropagationLink>& sources() const { return sources_; }

 private:
  template <typename E>
  struct Sub {
    ModuleId module;
    Priority priority;
    Handler<E> handler;
  };
  struct Queued {
    ModuleId from = ModuleId::kMain;
    Event event;
  };
  template <typename E>
  static constexpr size_t IndexOf() {
    size_t i = 0;
    bool found = false;
    ((found = found || std::is_same_v<E, Events>, i += found ? 0 : 1), ...);
    return i;
  }

  // AEM's event_processor_fn: drain the queue, one event at a time.
  void Process() {
    while (count_ > 0) {
      Queued q = std::move(ring_[head_]);
      head_ = (head_ + 1) % kCapacity;
      --count_;
      if (observer_) observer_(scheduler_.Now(), q.from, q.event);
      std::visit([&](const auto& e) { Deliver(e); }, q.event);
    }
  }
  template <typename E>
  void Deliver(const E& e) {
    auto& list = std::get<std::vector<Sub<E>>>(subs_);
    // Handlers may subscribe nothing new while running (modules subscribe at init only).
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].handler(e)) return;
  }

  sim::Scheduler& scheduler_;
  sim::Work processor_;
  std::array<Queued, kCapacity> ring_{};
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t dropped_ = 0;
  std::array<uint64_t, sizeof...(Events)> submitted_{};
  std::tuple<std::vector<Sub<Events>>...> subs_;
  std::vector<PropagationLink> links_;
  std::vector<PropagationLink> sources_;
  Observer observer_;
};

using EventBus =
    BasicEventBus<64, ModuleStateEvent, BlePeerEvent, BlePeerConnParamsEvent, BleSmpTransferEvent,
                  ConfigEvent, HidReportEvent, PowerManagerRestrictEvent, PowerDownEvent,
                  WakeUpEvent, KeepAliveEvent>;

// Name of the event held by a bus variant.
template <typename Variant>
std::string_view EventName(const Variant& v) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kName; }, v);
}

}  // namespace smpkit::desktop
