#include "core/services/service_url.hpp"

#include <fmt/format.h>

namespace gpumod {

std::string service_base_url(const std::string& host, uint16_t port)
{
    std::string probe = host;
    if (host.empty() || host == "0.0.0.0") {
        probe = "127.0.0.1";
    } else if (host == "::") {
        probe = "[::1]";
    } else if (host.find(':') != std::string::npos && host.front() != '[') {
        probe = "[" + host + "]";
    }
    return fmt::format("http://{}:{}", probe, port);
}

} // namespace gpumod
