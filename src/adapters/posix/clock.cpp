#include "adapters/posix/clock.hpp"

#include <thread>

namespace gpumod::posix {

void sleep_for(std::chrono::milliseconds duration)
{
    std::this_thread::sleep_for(duration);
}

} // namespace gpumod::posix
