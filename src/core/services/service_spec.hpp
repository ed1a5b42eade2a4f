#pragma once

// What it takes to run one model service, independent of where it was described (a preset
// YAML file, a test). Presets render into this; the supervisor consumes it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpumod {

enum class ServiceDriver
{
    llamacpp, ///< llama-server: /health 200 = ready, 503 = loading
    vllm,     ///< vLLM's OpenAI server: /health 200 = ready; sleep/wake endpoints
    command,  ///< any command; ready when its health URL answers 200 (or at once without one)
};

struct ServiceSpec
{
    std::string id;   ///< unique, [a-z0-9][a-z0-9._-]*
    std::string name; ///< for people
    ServiceDriver driver = ServiceDriver::llamacpp;
    std::vector<std::string> argv; ///< exact command line; argv[0] is the program
    std::map<std::string, std::string> env; ///< added to the environment
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string health_path = "/health"; ///< empty: no health check
    std::chrono::milliseconds startup_timeout{120000};
    std::optional<std::filesystem::path> model_path; ///< for planning and records
    std::optional<uint64_t> vram_budget_bytes;      ///< overrides the planner's prediction
    std::filesystem::path source_file;              ///< preset it came from ("" when built in code)
    bool sleep_mode = false; ///< vLLM started with --enable-sleep-mode: POST /sleep, /wake_up work
};

} // namespace gpumod
