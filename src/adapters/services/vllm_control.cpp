#include "adapters/services/vllm_control.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gpumod::services {
namespace {

/// Longest part of an error body shown to people.
constexpr std::size_t k_body_excerpt = 200;

std::string excerpt(const std::string& body)
{
    if (body.size() <= k_body_excerpt) {
        return body;
    }
    return body.substr(0, k_body_excerpt) + "...";
}

Error unreachable(const std::string& base_url, const Error& error)
{
    return Error{fmt::format("vLLM at {} did not answer ({}); is the service running? "
                             "`gpumod service status ID` shows it",
                             base_url, error.message)};
}

} // namespace

Result<VllmControl> VllmControl::create(const std::string& base_url, http::Timeouts timeouts)
{
    auto client = http::HttpClient::create(base_url, timeouts);
    if (!client) {
        return tl::unexpected(client.error());
    }
    return VllmControl(std::move(*client));
}

Error VllmControl::status_error(const std::string& what, const http::Response& response) const
{
    if (response.status == 404) {
        return Error{fmt::format("{} {}: 404, vLLM serves no sleep endpoints: start it with "
                                 "--enable-sleep-mode and VLLM_SERVER_DEV_MODE=1 (in the preset: "
                                 "vllm.enable_sleep_mode: true)",
                                 what, m_client.base_url())};
    }
    return Error{fmt::format("{} {}: HTTP {}{}", what, m_client.base_url(), response.status,
                             response.body.empty() ? "" : ": " + excerpt(response.body))};
}

Status VllmControl::sleep(int level)
{
    if (level != 1 && level != 2) {
        return fail(fmt::format("sleep level {} is not one vLLM knows: 1 (offload the weights "
                                "to host memory) or 2 (discard them)",
                                level));
    }
    const std::string path = fmt::format("/sleep?level={}", level);
    auto response = m_client.post_json(path, "");
    if (!response) {
        return tl::unexpected(unreachable(m_client.base_url(), response.error()));
    }
    if (response->status / 100 != 2) {
        return tl::unexpected(status_error("POST " + path, *response));
    }
    return {};
}

Status VllmControl::wake()
{
    auto response = m_client.post_json("/wake_up", "");
    if (!response) {
        return tl::unexpected(unreachable(m_client.base_url(), response.error()));
    }
    if (response->status / 100 != 2) {
        return tl::unexpected(status_error("POST /wake_up", *response));
    }
    return {};
}

Result<bool> VllmControl::is_sleeping()
{
    auto response = m_client.get("/is_sleeping");
    if (!response) {
        return tl::unexpected(unreachable(m_client.base_url(), response.error()));
    }
    if (response->status / 100 != 2) {
        return tl::unexpected(status_error("GET /is_sleeping", *response));
    }
    const auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body.contains("is_sleeping") || !body["is_sleeping"].is_boolean()) {
        return fail(fmt::format("GET /is_sleeping {}: expected {{\"is_sleeping\": true|false}}, "
                                "got '{}'",
                                m_client.base_url(), excerpt(response->body)));
    }
    return body["is_sleeping"].get<bool>();
}

Result<int> VllmControl::health()
{
    auto response = m_client.get("/health");
    if (!response) {
        return tl::unexpected(unreachable(m_client.base_url(), response.error()));
    }
    return response->status;
}

} // namespace gpumod::services
