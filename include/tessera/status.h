// Error handling for the library API: bad input is reported as a value, never thrown.
//
// `Status` is either ok or carries a message that names what is wrong and where.
// `Result<T>` is either a T or a failed Status. Both are cheap to move; neither is thread-safe
// to mutate concurrently (like any value type).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "tessera/check.h"

namespace tessera {

class Status {
 public:
  Status() = default;  // ok
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    TESSERA_CHECK(!std::get<Status>(state_).ok(), "a Result built from a Status must hold an error");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The failure; an ok Status when this holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }
  const std::string& error() const { return std::get<Status>(state_).message(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace tessera
