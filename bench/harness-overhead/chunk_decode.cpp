// bench/harness-overhead: what gpumod's client spends per streamed chunk once the bytes are in
// memory, old path against new within the same run. The stream is the one null_server sends
// for the harness-overhead benchmark (same code: null_reply.cpp): the L1 reference answer in
// 4-byte pieces, one `chat.completion.chunk` per piece, plus the role, finish and usage chunks
// and `data: [DONE]`. Each event is handed over as its own fragment, as cpp-httplib delivers a
// chunked response.
//
// Measured per run (runs interleave the variants, so they share the machine's noise):
//   decode   the chunk's JSON only: decode_chat_chunk_reference (nlohmann DOM, the old path)
//            vs ChatChunkDecoder (simdjson On-Demand, the new path)
//   stream   SSE decoding + JSON + folding, as chat_streaming does it: SseDecoder::feed +
//            decode_chat_chunk_reference (old) vs SseDecoder::next + ChatChunkDecoder (new)
//   padding  the cost of giving simdjson padded input: a simdjson::padded_string per chunk vs
//            a copy into a buffer reused across chunks (what ChatChunkDecoder does)
//
//   chunk_decode [--reply-file F] [--runs 15] [--passes 20] [--output results-chunk-decode.md]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <simdjson.h>
#include <unistd.h>

#include "core/openai/chat_chunk_decoder.hpp"
#include "core/openai/chat_codec.hpp"
#include "core/openai/sse_decoder.hpp"
#include "null_reply.hpp"

namespace {

using namespace gpumod;
using Clock = std::chrono::steady_clock;

struct Options
{
    std::string reply_file;
    int runs = 15;
    int passes = 20;
    std::string output;
};

double us_between(Clock::time_point start, Clock::time_point end)
{
    return std::chrono::duration<double, std::micro>(end - start).count();
}

/// Nearest-rank quantile (an observed value), as bench/harness-overhead/analyze.py does.
double quantile(std::vector<double> values, double q)
{
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(
        std::max(1.0, std::ceil(q * static_cast<double>(values.size()))));
    return values[std::min(rank, values.size()) - 1];
}

/// The JSON payloads of the stream's events (what follows "data: "), [DONE] left out.
std::vector<std::string> payloads_of(const std::vector<std::string>& events)
{
    std::vector<std::string> payloads;
    openai::SseDecoder decoder;
    for (const std::string& event : events) {
        for (const openai::SseEvent& decoded : decoder.feed(event)) {
            if (!decoded.done) {
                payloads.push_back(decoded.data);
            }
        }
    }
    return payloads;
}

/// Old stream path: feed() hands back a vector of events, nlohmann decodes each chunk.
openai::ChatCompletion stream_old(const std::vector<std::string>& events)
{
    openai::SseDecoder decoder;
    openai::ChatAccumulator accumulator;
    for (const std::string& fragment : events) {
        for (const openai::SseEvent& event : decoder.feed(fragment)) {
            if (event.done) {
                continue;
            }
            auto chunk = openai::decode_chat_chunk_reference(event.data);
            if (!chunk) {
                throw std::runtime_error(chunk.error().message);
            }
            accumulator.add(*chunk);
        }
    }
    return accumulator.completion();
}

/// New stream path, as chat_streaming runs it.
openai::ChatCompletion stream_new(const std::vector<std::string>& events,
                                  std::size_t& fallbacks)
{
    openai::SseDecoder decoder;
    openai::ChatChunkDecoder chunk_decoder;
    openai::ChatAccumulator accumulator;
    for (const std::string& fragment : events) {
        std::string_view bytes = fragment;
        while (const openai::SseEvent* event = decoder.next(bytes)) {
            if (event->done) {
                continue;
            }
            auto chunk = chunk_decoder.decode(event->data);
            if (!chunk) {
                throw std::runtime_error(chunk.error().message);
            }
            accumulator.add(*chunk);
        }
    }
    fallbacks += chunk_decoder.fallback_count();
    return accumulator.completion();
}

/// One variant's time per chunk in µs: `passes` times over the stream.
double time_per_chunk(int passes, std::size_t chunks, const std::function<void()>& pass)
{
    const auto start = Clock::now();
    for (int i = 0; i < passes; ++i) {
        pass();
    }
    return us_between(start, Clock::now()) / static_cast<double>(chunks) /
           static_cast<double>(passes);
}

struct Variant
{
    std::string name;
    std::string what;
    std::vector<double> us_per_chunk; ///< one per run
};

std::string machine_line()
{
    std::string cpu = "unknown CPU";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    }
    double load[3] = {0, 0, 0};
    std::ifstream loadavg("/proc/loadavg");
    loadavg >> load[0] >> load[1] >> load[2];
    return fmt::format("{} hardware threads ({}); load average {:.2f} {:.2f} {:.2f} at the end",
                       sysconf(_SC_NPROCESSORS_ONLN), cpu, load[0], load[1], load[2]);
}

} // namespace

int main(int argc, char** argv)
{
    Options options;
    CLI::App cli{"chunk_decode: per-chunk cost of gpumod's stream decoding, old vs new path"};
    cli.add_option("--reply-file", options.reply_file, "the streamed reply")
        ->required()
        ->check(CLI::ExistingFile);
    cli.add_option("--runs", options.runs, "runs (each times every variant)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cli.add_option("--passes", options.passes, "passes over the stream per variant and run")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cli.add_option("--output", options.output, "write the results as Markdown here");
    CLI11_PARSE(cli, argc, argv);

    std::ifstream in(options.reply_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string reply = text.str();

    // The harness-overhead request: null_server's defaults, stream_options.include_usage on.
    null_reply::Answer answer;
    answer.id = "chatcmpl-null-1";
    answer.created = 1795727972;
    answer.content = null_reply::split_pieces(reply, 4);
    answer.finish_reason = "stop";
    answer.prompt_tokens = 160;
    answer.latency_ms = 200;
    const std::vector<std::string> events = null_reply::stream_events(answer, true);
    const std::vector<std::string> payloads = payloads_of(events);
    const std::size_t chunks = payloads.size();
    std::size_t stream_bytes = 0;
    for (const std::string& event : events) {
        stream_bytes += event.size();
    }

    // Both paths must fold to the same reply, all of it on the fast path.
    std::size_t fallbacks = 0;
    const openai::ChatCompletion old_reply = stream_old(events);
    const openai::ChatCompletion new_reply = stream_new(events, fallbacks);
    if (!(old_reply == new_reply) || old_reply.content != reply || fallbacks != 0) {
        std::cerr << "chunk_decode: the paths disagree (or the fast path fell back "
                  << fallbacks << " times)\n";
        return 1;
    }

    Variant decode_old{"decode, old", "decode_chat_chunk_reference (nlohmann DOM)", {}};
    Variant decode_new{"decode, new", "ChatChunkDecoder::decode (simdjson On-Demand)", {}};
    Variant stream_old_v{"stream, old",
                         "SseDecoder::feed + decode_chat_chunk_reference + ChatAccumulator", {}};
    Variant stream_new_v{"stream, new", "SseDecoder::next + ChatChunkDecoder + ChatAccumulator",
                         {}};
    Variant pad_string{"padding, padded_string", "a simdjson::padded_string per chunk", {}};
    Variant pad_buffer{"padding, reused buffer", "memcpy into a buffer kept across chunks", {}};

    openai::ChatChunkDecoder decoder;
    std::vector<char> buffer;
    // A sink the optimizer cannot see through, so no measured work is dropped.
    volatile std::size_t sink = 0;
    for (int run = 0; run < options.runs; ++run) {
        decode_old.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            for (const std::string& payload : payloads) {
                sink = sink + openai::decode_chat_chunk_reference(payload)->content.size();
            }
        }));
        decode_new.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            for (const std::string& payload : payloads) {
                sink = sink + decoder.decode(payload)->content.size();
            }
        }));
        stream_old_v.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            sink = sink + stream_old(events).content.size();
        }));
        stream_new_v.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            sink = sink + stream_new(events, fallbacks).content.size();
        }));
        pad_string.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            for (const std::string& payload : payloads) {
                const simdjson::padded_string padded(payload);
                sink = sink + padded.size();
            }
        }));
        pad_buffer.us_per_chunk.push_back(time_per_chunk(options.passes, chunks, [&] {
            for (const std::string& payload : payloads) {
                const std::size_t size = payload.size() + simdjson::SIMDJSON_PADDING;
                if (buffer.size() < size) {
                    buffer.resize(size);
                }
                std::memcpy(buffer.data(), payload.data(), payload.size());
                std::memset(buffer.data() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
                sink = sink + static_cast<unsigned char>(buffer[0]);
            }
        }));
    }
    if (fallbacks != 0 || decoder.fallback_count() != 0) {
        std::cerr << "chunk_decode: the fast path fell back during the runs\n";
        return 1;
    }

    auto ratios = [&](const Variant& old_variant, const Variant& new_variant) {
        std::vector<double> out;
        for (std::size_t i = 0; i < old_variant.us_per_chunk.size(); ++i) {
            out.push_back(old_variant.us_per_chunk[i] / new_variant.us_per_chunk[i]);
        }
        return out;
    };
    const std::vector<double> decode_ratios = ratios(decode_old, decode_new);
    const std::vector<double> stream_ratios = ratios(stream_old_v, stream_new_v);
    const std::vector<double> padding_ratios = ratios(pad_string, pad_buffer);

    std::time_t now = std::time(nullptr);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::string md;
    md += "# chunk-decode results\n\n";
    md += fmt::format(
        "Produced by `chunk_decode --reply-file suites/coding/L1-fifo-queue/reference/answer.md "
        "--runs {} --passes {} --output bench/harness-overhead/results-chunk-decode.md` "
        "(Release build); the program's header comment says what each row times.\n\n",
        options.runs, options.passes);
    md += fmt::format("- date: {}\n", date);
    md += fmt::format("- machine: {}\n", machine_line());
    md += fmt::format(
        "- stream: null_server's reply to the harness-overhead request: {} chunks ({} content "
        "pieces of 4 bytes, role, finish, usage+timings) + `[DONE]`, {} bytes of SSE, one "
        "fragment per event\n",
        chunks, answer.content.size(), stream_bytes);
    md += fmt::format("- each run times every row over {} passes of the stream ({} chunks); "
                      "{} runs; quantiles are nearest-rank over the runs\n",
                      options.passes, chunks * static_cast<std::size_t>(options.passes),
                      options.runs);
    md += "- both paths fold the stream to the same reply (checked before timing), and the "
          "new path never fell back to nlohmann\n";
    md += "- the machine may be shared with other work: the variants of one run share its "
          "noise, so the ratios are the numbers to compare across machines\n";
    md += "- \"stream, old\" calls today's SseDecoder::feed, which now wraps next() and copies "
          "each event; the SSE decoder from before (which also copied every line once more) is "
          "no longer built, so that row, if anything, flatters the old path\n\n";
    md += fmt::format("| row | what | µs per chunk, median | p95 | min | per {}-chunk reply, "
                      "median ms |\n|---|---|---:|---:|---:|---:|\n",
                      chunks);
    for (const Variant* variant :
         {&decode_old, &decode_new, &stream_old_v, &stream_new_v, &pad_string, &pad_buffer}) {
        const double median = quantile(variant->us_per_chunk, 0.5);
        md += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", variant->name,
                          variant->what, median, quantile(variant->us_per_chunk, 0.95),
                          quantile(variant->us_per_chunk, 0.0),
                          median * static_cast<double>(chunks) / 1000.0);
    }
    md += "\n| ratio (same run, old / new) | median | min | max |\n|---|---:|---:|---:|\n";
    for (const auto& [name, values] :
         {std::pair{"decode: nlohmann / simdjson", &decode_ratios},
          std::pair{"stream: old path / new path", &stream_ratios},
          std::pair{"padding: padded_string / reused buffer", &padding_ratios}}) {
        md += fmt::format("| {} | {:.1f}x | {:.1f}x | {:.1f}x |\n", name, quantile(*values, 0.5),
                          quantile(*values, 0.0), quantile(*values, 1.0));
    }
    md += "\nPer run, µs per chunk (in run order):\n\n";
    for (const Variant* variant :
         {&decode_old, &decode_new, &stream_old_v, &stream_new_v, &pad_string, &pad_buffer}) {
        std::string values;
        for (double value : variant->us_per_chunk) {
            values += fmt::format("{}{:.3f}", values.empty() ? "" : ", ", value);
        }
        md += fmt::format("- {}: {}\n", variant->name, values);
    }

    std::cout << md;
    if (!options.output.empty()) {
        std::ofstream out(options.output, std::ios::binary);
        out << md;
        if (!out) {
            std::cerr << "chunk_decode: cannot write " << options.output << "\n";
            return 1;
        }
    }
    return 0;
}
