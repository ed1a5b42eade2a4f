#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace gpumod {

/// What went wrong, in words a user can act on; context is prepended as the error travels up.
struct Error
{
    std::string message;

    /// Returns a copy whose message reads "<context>: <message>".
    [[nodiscard]] Error with_context(const std::string& context) const
    {
        return Error{context + ": " + message};
    }
};

template <typename T> using Result = tl::expected<T, Error>;

/// Shorthand for returning a failed Result.
inline tl::unexpected<Error> fail(std::string message)
{
    return tl::unexpected<Error>(Error{std::move(message)});
}

/// Result of an operation that returns nothing on success.
using Status = Result<void>;

} // namespace gpumod
