// Expected-style results for operations that can fail (no exceptions needed: the wasm build
// runs without them). An Error carries a stable machine code and a human message.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace cl {

struct Error {
    std::string code;     // stable, machine-readable: "bad_json", "unknown_type", "purged", ...
    std::string message;  // for people
};

template <typename T>
class Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error err) : v_(std::move(err)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result of an operation that yields nothing but can fail.
class Status {
public:
    Status() = default;
    Status(Error err) : failed_(true), err_(std::move(err)) {}
    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return err_; }

private:
    bool failed_ = false;
    Error err_;
};

inline Error make_error(std::string code, std::string message) { return Error{std::move(code), std::move(message)}; }

}  // namespace cl
