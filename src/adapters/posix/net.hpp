#pragma once

#include "core/base/error.hpp"

namespace gpumod::posix {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed).
/// Another process may take it before the caller binds it; callers that start servers
/// retry on "address in use".
Result<int> find_free_loopback_port();

} // namespace gpumod::posix
