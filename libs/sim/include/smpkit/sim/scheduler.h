#pragma once
// A deterministic discrete-event scheduler standing in for Zephyr's system workqueue.
// Tasks run in (time, submission order): equal times are FIFO. Background tasks (periodic
// radio events, for instance) run in order with the others but do not keep RunUntilIdle()
// going on their own.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include "smpkit/sim/time.h"

namespace smpkit::sim {

using Task = std::function<void()>;
using TaskId = uint64_t;
constexpr TaskId kNoTask = 0;

enum class TaskKind : uint8_t { kForeground, kBackground };

class Scheduler {
 public:
  explicit Scheduler(uint64_t seed = 1);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Time Now() const { return now_; }

  // Runs `task` at the current time, after everything already queued for this time.
  TaskId Post(Task task, TaskKind kind = TaskKind::kForeground);
  // Runs `task` at `when` (a time in the past means now).
  TaskId PostAt(Time when, Task task, TaskKind kind = TaskKind::kForeground);
  TaskId PostAfter(Duration delay, Task task, TaskKind kind = TaskKind::kForeground);
  // Removes a queued task; false if it already ran, was cancelled or never existed.
  bool Cancel(TaskId id);
  bool IsPending(TaskId id) const { return index_.count(id) != 0; }
  // Time of a queued task, if any.
  std::optional<Time> DeadlineOf(TaskId id) const;

  // Runs the earliest task (advancing time to it). False if nothing is queued.
  bool RunOne();
  // Runs tasks until no foreground task is queued. Returns the number of tasks run.
  size_t RunUntilIdle();
  // Runs every task due at or before `t`, then sets the clock to `t` (never backwards).
  size_t RunUntil(Time t);
  size_t RunFor(Duration d) { return RunUntil(now_ + d); }
  // Runs tasks until `done()` holds (checked before each task) or time would pass
  // `deadline`. Returns whether `done()` held.
  bool RunUntilCondition(const std::function<bool()>& done, Time deadline);

  size_t foreground_pending() const { return foreground_; }
  size_t pending() const { return queue_.size(); }
  std::optional<Time> NextTime() const;
  uint64_t tasks_run() const { return tasks_run_; }

  // The run's random source: a std::mt19937_64 seeded from the constructor's seed, so a
  // seed reproduces a run.
  std::mt19937_64& rng() { return rng_; }
  uint64_t seed() const { return seed_; }
  // Uniform in [0, 1).
  double UniformReal();

 private:
  using Key = std::pair<Time, uint64_t>;  // (time, sequence)
  struct Entry {
    TaskId id;
    TaskKind kind;
    Task task;
  };
  void RunEntry(std::map<Key, Entry>::iterator it);

  Time now_{0};
  uint64_t next_seq_ = 1;
  size_t foreground_ = 0;
  uint64_t tasks_run_ = 0;
  std::map<Key, Entry> queue_;
  std::unordered_map<TaskId, Key> index_;
  uint64_t seed_;
  std::mt19937_64 rng_;
};

// Like k_work: a handler submitted at most once at a time.
class Work {
 public:
  Work(Scheduler& scheduler, Task handler) : scheduler_(scheduler), handler_(std::move(handler)) {}
  ~Work() { Cancel(); }
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  // Queues the handler to run now; false (and no change) if it is already queued.
  bool Submit();
  bool Cancel();
  bool IsPending() const { return scheduler_.IsPending(id_); }

 private:
  Scheduler& scheduler_;
  Task handler_;
  TaskId id_ = kNoTask;
};

// Like k_work_delayable: Schedule() keeps an existing deadline, Reschedule() replaces it.
class DelayableWork {
 public:
  DelayableWork(Scheduler& scheduler, Task handler)
      : scheduler_(scheduler), handler_(std::move(handler)) {}
  ~DelayableWork() { Cancel(); }
  DelayableWork(const DelayableWork&) = delete;
  DelayableWork& operator=(const DelayableWork&) = delete;

  // k_work_schedule: queues the handler after `delay` unless it is already queued; returns
  // whether it was newly queued.
  bool Schedule(Duration delay);
  // k_work_reschedule: (re)queues the handler after `delay`, dropping any earlier deadline.
  void Reschedule(Duration delay);
  // k_work_cancel_delayable: false if nothing was queued.
  bool Cancel();
  bool IsPending() const { return scheduler_.IsPending(id_); }
  // k_work_delayable_remaining_get: zero when not pending.
  Duration Remaining() const;

 private:
  void Fire();
  Scheduler& scheduler_;
  Task handler_;
  TaskId id_ = kNoTask;
};

}  // namespace smpkit::sim
