#pragma once
// Result<T>: a value or an Error, shaped like std::expected (C++23) for g++ 12.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "smpkit/base/error.h"

namespace smpkit {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, Error> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  T value_or(T fallback) const { return ok() ? std::get<0>(v_) : fallback; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  // An Error of category kOk is no error: it makes a successful Status.
  Result(Error error) : error_(error) {}  // NOLINT
  bool ok() const { return error_.code() == Errc::kOk; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return error_; }

 private:
  Error error_;  // category kOk on success
};

using Status = Result<void>;
inline Status Ok() { return {}; }
static_assert(sizeof(Status) <= 16, "Status is returned everywhere: keep it two words");

}  // namespace smpkit

// Propagate an error from an expression returning Result<...>.
#define SMPKIT_TRY(expr)                          \
  do {                                            \
    auto smpkit_try_r_ = (expr);                  \
    if (!smpkit_try_r_.ok()) return smpkit_try_r_.error(); \
  } while (0)

#define SMPKIT_CONCAT_INNER_(a, b) a##b
#define SMPKIT_CONCAT_(a, b) SMPKIT_CONCAT_INNER_(a, b)
// Assign the value of a Result<...> expression to `lhs`, or return its error.
#define SMPKIT_ASSIGN_OR_RETURN(lhs, expr) \
  SMPKIT_ASSIGN_OR_RETURN_IMPL_(SMPKIT_CONCAT_(smpkit_r_, __LINE__), lhs, expr)
#define SMPKIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.error();                  \
  lhs = std::move(tmp).value()
