#pragma once

// A stand-in for vLLM's OpenAI server (vLLM cannot run on our machines): GET /health and, when
// started with sleep mode (vLLM: --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1), POST
// /sleep?level=N, POST /wake_up and GET /is_sleeping -> {"is_sleeping": bool}. Without sleep
// mode those paths answer 404, as vLLM's do. Every call is recorded for the test to assert.

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace gpumod::testing {

class FakeVllm
{
  public:
    struct Options
    {
        bool sleep_mode = true;
        int fail_status = 0; ///< non-zero: /sleep and /wake_up answer this status instead
    };

    FakeVllm() : FakeVllm(Options{}) {}

    explicit FakeVllm(Options options) : m_options(options)
    {
        m_server.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
            record(req);
            res.status = 200;
        });
        if (m_options.sleep_mode) {
            m_server.Post("/sleep", [this](const httplib::Request& req, httplib::Response& res) {
                record(req);
                if (m_options.fail_status != 0) {
                    res.status = m_options.fail_status;
                    res.set_content("CUDA error: out of memory", "text/plain");
                    return;
                }
                const std::lock_guard lock(m_mutex);
                m_sleeping = true;
                m_level = req.has_param("level") ? std::stoi(req.get_param_value("level")) : 1;
                res.status = 200;
            });
            m_server.Post("/wake_up", [this](const httplib::Request& req, httplib::Response& res) {
                record(req);
                if (m_options.fail_status != 0) {
                    res.status = m_options.fail_status;
                    return;
                }
                const std::lock_guard lock(m_mutex);
                m_sleeping = false;
                m_level = 0;
                res.status = 200;
            });
            m_server.Get("/is_sleeping", [this](const httplib::Request& req,
                                                httplib::Response& res) {
                record(req);
                const std::lock_guard lock(m_mutex);
                res.set_content(m_sleeping ? R"({"is_sleeping":true})" : R"({"is_sleeping":false})",
                                "application/json");
            });
        }
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::jthread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running()) {
            std::this_thread::yield();
        }
    }

    FakeVllm(const FakeVllm&) = delete;
    FakeVllm& operator=(const FakeVllm&) = delete;
    ~FakeVllm() { m_server.stop(); }

    [[nodiscard]] int port() const { return m_port; }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

    /// "POST /sleep?level=1", "GET /is_sleeping", ... in the order they came.
    [[nodiscard]] std::vector<std::string> calls() const
    {
        const std::lock_guard lock(m_mutex);
        return m_calls;
    }
    [[nodiscard]] bool sleeping() const
    {
        const std::lock_guard lock(m_mutex);
        return m_sleeping;
    }
    [[nodiscard]] int level() const
    {
        const std::lock_guard lock(m_mutex);
        return m_level;
    }

  private:
    void record(const httplib::Request& req)
    {
        std::string call = req.method + " " + req.path;
        std::string query;
        for (const auto& [name, value] : req.params) {
            query += (query.empty() ? "?" : "&") + name + "=" + value;
        }
        const std::lock_guard lock(m_mutex);
        m_calls.push_back(call + query);
    }

    Options m_options;
    httplib::Server m_server;
    int m_port = -1;
    mutable std::mutex m_mutex; ///< guards the state below (handlers run on server threads)
    std::vector<std::string> m_calls;
    bool m_sleeping = false;
    int m_level = 0;
    std::jthread m_thread;
};

} // namespace gpumod::testing
