#pragma once

// Where gpumod reaches a service it started, from the host the service binds.

#include <cstdint>
#include <string>

namespace gpumod {

/// "http://HOST:PORT"; a wildcard bind ("", 0.0.0.0, ::) is reached through loopback, and an
/// IPv6 address goes in brackets.
std::string service_base_url(const std::string& host, uint16_t port);

} // namespace gpumod
