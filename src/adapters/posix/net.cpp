#include "adapters/posix/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gpumod::posix {

Result<int> find_free_loopback_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail(fmt::format("cannot create a socket: {}", std::strerror(errno)));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    // sockaddr_in -> sockaddr is the documented way to call the sockets API.
    auto* generic = reinterpret_cast<sockaddr*>(&addr); // NOLINT
    if (::bind(fd, generic, sizeof(addr)) != 0 || ::getsockname(fd, generic, &len) != 0) {
        const int saved = errno;
        ::close(fd);
        return fail(fmt::format("cannot bind a loopback port: {}", std::strerror(saved)));
    }
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

} // namespace gpumod::posix
