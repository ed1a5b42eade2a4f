#pragma once

// Sleep and wake of a vLLM server (vLLM's sleep mode): POST /sleep?level=N frees the GPU
// (level 1 offloads the weights to host memory and drops the KV cache; level 2 drops the
// weights too), POST /wake_up brings it back, GET /is_sleeping answers {"is_sleeping": bool}.
// vLLM serves these only when started with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1
// (a preset's vllm.enable_sleep_mode sets both); otherwise they answer 404.

#include <cstdint>
#include <string>

#include "adapters/http/http_client.hpp"
#include "core/base/error.hpp"

namespace gpumod::services {

class VllmControl
{
  public:
    /// A client for the vLLM server at `base_url` ("http://127.0.0.1:8000"); connects to
    /// nothing yet.
    static Result<VllmControl> create(const std::string& base_url, http::Timeouts timeouts = {});

    /// POST /sleep?level=LEVEL (1 or 2); returns once vLLM has released the memory.
    Status sleep(int level);

    /// POST /wake_up; returns once the weights are back.
    Status wake();

    /// GET /is_sleeping.
    Result<bool> is_sleeping();

    /// GET /health: the HTTP status (200 = serving).
    Result<int> health();

  private:
    explicit VllmControl(http::HttpClient client) : m_client(std::move(client)) {}

    /// A failed call's error in words, naming --enable-sleep-mode for a 404.
    [[nodiscard]] Error status_error(const std::string& what, const http::Response& response) const;

    http::HttpClient m_client;
};

} // namespace gpumod::services
