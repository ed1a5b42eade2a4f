#include "core/services/log_diagnosis.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace gpumod {
namespace {

// Tails captured from llama-server 0.7.0 (Debian build, scripts/setup-llama-server).
constexpr const char* k_missing_model = R"(0.00.051.602 E common_fit_params: encountered an error while trying to fit params to free device memory: failed to load model
0.00.051.625 E gguf_init_from_file: failed to open GGUF file '/nonexistent/x.gguf' (No such file or directory)
0.00.051.645 E llama_model_load: error loading model: llama_model_loader: failed to load model from /nonexistent/x.gguf
0.00.051.646 E llama_model_load_from_file_impl: failed to load model
0.00.052.112 E srv  llama_server: exiting due to model loading error
)";

constexpr const char* k_port_taken = R"(0.00.004.045 I srv  llama_server: initializing ...
0.00.035.819 E srv         start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 18557
0.00.039.173 E srv  llama_server: exiting due to HTTP server error
)";

constexpr const char* k_bad_file = R"(0.00.048.766 E llama_model_load: error loading model: llama_model_loader: failed to load model from bad.gguf
0.00.048.767 E cmn  common_init_: failed to load model 'bad.gguf'
0.00.049.302 E srv  llama_server: exiting due to model loading error
)";

// CUDA out of memory as llama.cpp's CUDA backend reports it (ggml-cuda.cu).
constexpr const char* k_cuda_oom = R"(ggml_backend_cuda_buffer_type_alloc_buffer: allocating 20480.00 MiB on device 0: cudaMalloc failed: out of memory
alloc_tensor_range: failed to allocate CUDA0 buffer of size 21474836480
llama_model_load: error loading model: unable to allocate CUDA0 buffer
common_init_: failed to load model '/models/big.gguf'
)";

TEST(ClassifyLogTail, MissingModelFileWinsOverTheGenericLoadFailure)
{
    const auto d = classify_log_tail(k_missing_model);
    EXPECT_EQ(d.kind, FailureKind::model_file_missing);
    EXPECT_EQ(d.matched_line, "0.00.051.625 E gguf_init_from_file: failed to open GGUF file "
                              "'/nonexistent/x.gguf' (No such file or directory)");
    EXPECT_NE(d.next_step.find("model path"), std::string::npos);
}

TEST(ClassifyLogTail, PortTaken)
{
    const auto d = classify_log_tail(k_port_taken);
    EXPECT_EQ(d.kind, FailureKind::port_in_use);
    EXPECT_NE(d.matched_line.find("port: 18557"), std::string::npos);
}

TEST(ClassifyLogTail, UnknownFlag)
{
    const auto d = classify_log_tail("error: invalid argument: --bogus-flag\n");
    EXPECT_EQ(d.kind, FailureKind::unknown_flag);
    EXPECT_EQ(d.matched_line, "error: invalid argument: --bogus-flag");
}

TEST(ClassifyLogTail, CudaOutOfMemoryWinsOverTheLoadFailure)
{
    const auto d = classify_log_tail(k_cuda_oom);
    EXPECT_EQ(d.kind, FailureKind::out_of_memory);
    EXPECT_NE(d.matched_line.find("cudaMalloc failed"), std::string::npos);
    EXPECT_NE(d.next_step.find("gpumod plan"), std::string::npos);
}

TEST(ClassifyLogTail, BadFileIsALoadFailure)
{
    EXPECT_EQ(classify_log_tail(k_bad_file).kind, FailureKind::model_load_failed);
}

TEST(ClassifyLogTail, NothingKnownIsUnknownWithAPointerToTheLog)
{
    const auto d = classify_log_tail("hello\nworld\n");
    EXPECT_EQ(d.kind, FailureKind::unknown);
    EXPECT_TRUE(d.matched_line.empty());
    EXPECT_NE(d.next_step.find("gpumod service logs"), std::string::npos);
    EXPECT_EQ(classify_log_tail("").kind, FailureKind::unknown);
}

TEST(ReadinessSignal, RecognisesBothGenerationsOfTheListeningLine)
{
    EXPECT_EQ(readiness_signal("0.00.093.357 I srv  llama_server: listening on http://127.0.0.1:18555"),
              ReadinessSignal::listening);
    EXPECT_EQ(readiness_signal("main: server is listening on http://127.0.0.1:8080 - starting the "
                               "main loop"),
              ReadinessSignal::listening);
    EXPECT_EQ(readiness_signal("0.00.093.354 I srv  llama_server: model loaded"),
              ReadinessSignal::model_loaded);
    // Older builds print this before loading the model: not ready yet.
    EXPECT_EQ(readiness_signal("main: HTTP server is listening, hostname: 127.0.0.1, port: 8080"),
              ReadinessSignal::none);
    EXPECT_EQ(readiness_signal("load_model: loading model 'tiny.gguf'"), ReadinessSignal::none);
}

TEST(LogTimestamp, ParsesMinutesSecondsMillisMicros)
{
    EXPECT_EQ(parse_log_timestamp_us("0.00.093.357 I srv  llama_server: listening on x"), 93357);
    EXPECT_EQ(parse_log_timestamp_us("2.05.001.002 I x"), ((2 * 60 + 5) * 1000 + 1) * 1000 + 2);
    EXPECT_FALSE(parse_log_timestamp_us("main: server is listening"));
    EXPECT_FALSE(parse_log_timestamp_us("0.61.000.000 I x"));
    EXPECT_FALSE(parse_log_timestamp_us("0.00.093.357"));
}

TEST(LineSplitter, JoinsLinesAcrossChunks)
{
    LineSplitter splitter;
    EXPECT_TRUE(splitter.feed("ab").empty());
    EXPECT_EQ(splitter.feed("c\nd\n\ne"), (std::vector<std::string>{"abc", "d", ""}));
    EXPECT_EQ(splitter.feed("f\n"), (std::vector<std::string>{"ef"}));
}

RC_GTEST_PROP(LineSplitter, ChunkingDoesNotChangeTheLines, (const std::string& text))
{
    LineSplitter whole;
    const auto expected = whole.feed(text);
    LineSplitter pieces;
    std::vector<std::string> got;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto size = *rc::gen::inRange<std::size_t>(1, text.size() - pos + 1);
        for (auto& line : pieces.feed(std::string_view(text).substr(pos, size))) {
            got.push_back(std::move(line));
        }
        pos += size;
    }
    RC_ASSERT(got == expected);
}

} // namespace
} // namespace gpumod
