// bench/plan-speed: how long `gpumod plan` takes before it can answer, on a header-only GGUF
// shaped like the seed's 35B MoE (qwen35moe: 40 blocks of gated delta-net / gated attention
// with 256 experts, one MTP block, a 248,320-token byte-level BPE vocabulary with ~247,000
// merges). Times, on a monotonic clock over many repetitions:
//   - the header read from disk as `gguf inspect` / `plan` do it (read_model_files),
//   - the pure parse of the same bytes in memory, and deriving the architecture,
//   - one plan (plan_memory) and the largest-context search (largest_fitting_ctx).
// Targets (issue #3): header < 50 ms, one plan < 5 ms, largest context < 20 ms.
//   plan_speed [--output results.md] [--keep FILE]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <bit>
#include <variant>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "adapters/gguf/model_files.hpp"
#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/gguf_types.hpp"
#include "core/gguf/model_architecture.hpp"
#include "core/plan/fallbacks.hpp"
#include "core/plan/memory_model.hpp"

namespace {

using namespace gpumod;
using gguf::TensorType;
using gguf::Value;

// ---- A header-only GGUF writer (the project's writer needs every tensor's data). ----

class HeaderBytes
{
  public:
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void str(std::string_view s)
    {
        u64(s.size());
        m_bytes.insert(m_bytes.end(), s.begin(), s.end());
    }
    void value(const Value& v)
    {
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    str(x);
                } else if constexpr (std::is_same_v<T, gguf::Array>) {
                    u32(static_cast<uint32_t>(x.element_type));
                    u64(x.items.size());
                    for (const Value& item : x.items) {
                        value(item);
                    }
                } else if constexpr (std::is_same_v<T, bool>) {
                    le(x ? 1U : 0U, 1);
                } else if constexpr (std::is_same_v<T, float>) {
                    le(std::bit_cast<uint32_t>(x), 4);
                } else if constexpr (std::is_same_v<T, double>) {
                    le(std::bit_cast<uint64_t>(x), 8);
                } else {
                    le(static_cast<uint64_t>(x), static_cast<int>(sizeof(T)));
                }
            },
            v.data);
    }
    [[nodiscard]] const std::vector<uint8_t>& bytes() const { return m_bytes; }

  private:
    void le(uint64_t v, int n)
    {
        for (int i = 0; i < n; ++i) {
            m_bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    std::vector<uint8_t> m_bytes;
};

struct TensorSpec
{
    std::string name;
    std::vector<uint64_t> shape;
    TensorType type;
};

// Qwen3.5/3.6-35B-A3B's published shape, quantized like a Q4_K_M.
constexpr uint32_t k_embd = 2048;
constexpr uint32_t k_blocks = 40;
constexpr uint32_t k_nextn = 1;
constexpr uint32_t k_heads = 16;
constexpr uint32_t k_kv_heads = 2;
constexpr uint32_t k_head_dim = 256;
constexpr uint32_t k_experts = 256;
constexpr uint32_t k_experts_used = 8;
constexpr uint32_t k_expert_ff = 512;
constexpr uint32_t k_vocab = 248320;
constexpr uint32_t k_merges = 247000;
constexpr uint32_t k_ssm_state = 128;
constexpr uint32_t k_ssm_groups = 16;
constexpr uint32_t k_ssm_heads = 32;
constexpr uint32_t k_ssm_conv = 4;
constexpr uint32_t k_full_attention_interval = 4;

std::vector<TensorSpec> model_tensors()
{
    std::vector<TensorSpec> t;
    const uint64_t e = k_embd;
    const uint64_t key_dim = uint64_t{k_ssm_state} * k_ssm_groups;
    const uint64_t value_dim = uint64_t{k_ssm_state} * k_ssm_heads;
    const uint64_t conv_dim = 2 * key_dim + value_dim;
    t.push_back({"token_embd.weight", {e, k_vocab}, TensorType::q4_k});
    for (uint32_t il = 0; il < k_blocks + k_nextn; ++il) {
        const std::string p = fmt::format("blk.{}.", il);
        const bool nextn = il >= k_blocks;
        const bool attention = nextn || (il + 1) % k_full_attention_interval == 0;
        t.push_back({p + "attn_norm.weight", {e}, TensorType::f32});
        if (attention) {
            t.push_back({p + "attn_q.weight", {e, 2 * k_heads * k_head_dim}, TensorType::q4_k});
            t.push_back({p + "attn_k.weight", {e, k_kv_heads * k_head_dim}, TensorType::q4_k});
            t.push_back({p + "attn_v.weight", {e, k_kv_heads * k_head_dim}, TensorType::q6_k});
            t.push_back({p + "attn_output.weight", {k_heads * k_head_dim, e}, TensorType::q4_k});
            t.push_back({p + "attn_q_norm.weight", {k_head_dim}, TensorType::f32});
            t.push_back({p + "attn_k_norm.weight", {k_head_dim}, TensorType::f32});
        } else {
            t.push_back({p + "attn_qkv.weight", {e, conv_dim}, TensorType::q4_k});
            t.push_back({p + "attn_gate.weight", {e, value_dim}, TensorType::q4_k});
            t.push_back({p + "ssm_conv1d.weight", {k_ssm_conv, conv_dim}, TensorType::f32});
            t.push_back({p + "ssm_dt.bias", {k_ssm_heads}, TensorType::f32});
            t.push_back({p + "ssm_a", {k_ssm_heads}, TensorType::f32});
            t.push_back({p + "ssm_beta.weight", {e, k_ssm_heads}, TensorType::q8_0});
            t.push_back({p + "ssm_alpha.weight", {e, k_ssm_heads}, TensorType::q8_0});
            t.push_back({p + "ssm_norm.weight", {k_ssm_state}, TensorType::f32});
            t.push_back({p + "ssm_out.weight", {value_dim, e}, TensorType::q4_k});
        }
        t.push_back({p + "post_attention_norm.weight", {e}, TensorType::f32});
        t.push_back({p + "ffn_gate_inp.weight", {e, k_experts}, TensorType::f32});
        t.push_back({p + "ffn_gate_exps.weight", {e, k_expert_ff, k_experts}, TensorType::q4_k});
        t.push_back({p + "ffn_up_exps.weight", {e, k_expert_ff, k_experts}, TensorType::q4_k});
        t.push_back({p + "ffn_down_exps.weight", {k_expert_ff, e, k_experts}, TensorType::q6_k});
        t.push_back({p + "ffn_gate_inp_shexp.weight", {e}, TensorType::f32});
        t.push_back({p + "ffn_gate_shexp.weight", {e, k_expert_ff}, TensorType::q4_k});
        t.push_back({p + "ffn_up_shexp.weight", {e, k_expert_ff}, TensorType::q4_k});
        t.push_back({p + "ffn_down_shexp.weight", {k_expert_ff, e}, TensorType::q6_k});
        if (nextn) {
            t.push_back({p + "nextn.eh_proj.weight", {2 * e, e}, TensorType::q8_0});
            t.push_back({p + "nextn.enorm.weight", {e}, TensorType::f32});
            t.push_back({p + "nextn.hnorm.weight", {e}, TensorType::f32});
            t.push_back({p + "nextn.shared_head_norm.weight", {e}, TensorType::f32});
        }
    }
    t.push_back({"output_norm.weight", {e}, TensorType::f32});
    t.push_back({"output.weight", {e, k_vocab}, TensorType::q6_k});
    return t;
}

// Byte-level BPE-like tokens and merges: deterministic, realistic lengths (2-12 bytes).
std::string random_piece(std::mt19937_64& rng)
{
    static constexpr std::string_view k_letters = "etaoinshrdlucmfwypvbgkjqxzĠ";
    std::uniform_int_distribution<size_t> length(2, 10);
    std::uniform_int_distribution<size_t> pick(0, k_letters.size() - 3);
    std::string s = rng() % 2 == 0 ? "Ġ" : "";
    const size_t n = length(rng);
    for (size_t i = 0; i < n; ++i) {
        s += k_letters[pick(rng)];
    }
    return s;
}

std::vector<gguf::MetadataEntry> model_metadata()
{
    std::vector<gguf::MetadataEntry> m;
    auto add = [&](std::string key, Value v) { m.push_back({std::move(key), std::move(v)}); };
    const std::string a = "qwen35moe.";
    add("general.architecture", Value("qwen35moe"));
    add("general.type", Value("model"));
    add("general.name", Value("Qwen3.6 35B A3B"));
    add("general.finetune", Value("Instruct"));
    add("general.basename", Value("Qwen3.6"));
    add("general.size_label", Value("35B-A3B"));
    add("general.license", Value("apache-2.0"));
    add("general.license.link", Value("https://huggingface.co/Qwen/Qwen3.6-35B-A3B/blob/main/LICENSE"));
    const std::vector<std::string> tags{"text-generation"};
    add("general.tags", gguf::string_array(tags));
    add("general.base_model.count", Value(uint32_t{1}));
    add("general.base_model.0.name", Value("Qwen3.6 35B A3B"));
    add("general.base_model.0.organization", Value("Qwen"));
    add("general.base_model.0.repo_url", Value("https://huggingface.co/Qwen/Qwen3.6-35B-A3B"));
    add(a + "block_count", Value(uint32_t{k_blocks + k_nextn}));
    add(a + "context_length", Value(uint32_t{262144}));
    add(a + "embedding_length", Value(uint32_t{k_embd}));
    add(a + "feed_forward_length", Value(uint32_t{0}));
    add(a + "attention.head_count", Value(uint32_t{k_heads}));
    add(a + "attention.head_count_kv", Value(uint32_t{k_kv_heads}));
    add(a + "rope.freq_base", Value(10000000.0F));
    add(a + "rope.dimension_count", Value(uint32_t{64}));
    const std::vector<int32_t> sections{11, 11, 10, 0};
    add(a + "rope.dimension_sections", gguf::int32_array(sections));
    add(a + "attention.layer_norm_rms_epsilon", Value(1e-6F));
    add(a + "attention.key_length", Value(uint32_t{k_head_dim}));
    add(a + "attention.value_length", Value(uint32_t{k_head_dim}));
    add(a + "expert_count", Value(uint32_t{k_experts}));
    add(a + "expert_used_count", Value(uint32_t{k_experts_used}));
    add(a + "expert_feed_forward_length", Value(uint32_t{k_expert_ff}));
    add(a + "expert_shared_feed_forward_length", Value(uint32_t{k_expert_ff}));
    add(a + "ssm.conv_kernel", Value(uint32_t{k_ssm_conv}));
    add(a + "ssm.state_size", Value(uint32_t{k_ssm_state}));
    add(a + "ssm.group_count", Value(uint32_t{k_ssm_groups}));
    add(a + "ssm.time_step_rank", Value(uint32_t{k_ssm_heads}));
    add(a + "ssm.inner_size", Value(uint32_t{k_ssm_state * k_ssm_heads}));
    add(a + "full_attention_interval", Value(uint32_t{k_full_attention_interval}));
    add(a + "nextn_predict_layers", Value(uint32_t{k_nextn}));
    add("general.quantization_version", Value(uint32_t{2}));
    add("general.file_type", Value(uint32_t{15}));

    std::mt19937_64 rng(35);
    std::vector<std::string> tokens;
    tokens.reserve(k_vocab);
    std::vector<int32_t> token_type(k_vocab, 1);
    for (uint32_t i = 0; i < k_vocab; ++i) {
        tokens.push_back(fmt::format("{}{}", random_piece(rng), i % 97));
    }
    std::vector<std::string> merges;
    merges.reserve(k_merges);
    for (uint32_t i = 0; i < k_merges; ++i) {
        merges.push_back(random_piece(rng) + " " + random_piece(rng));
    }
    add("tokenizer.ggml.model", Value("gpt2"));
    add("tokenizer.ggml.pre", Value("qwen35"));
    add("tokenizer.ggml.tokens", gguf::string_array(tokens));
    add("tokenizer.ggml.token_type", gguf::int32_array(token_type));
    add("tokenizer.ggml.merges", gguf::string_array(merges));
    add("tokenizer.ggml.eos_token_id", Value(uint32_t{248046}));
    add("tokenizer.ggml.padding_token_id", Value(uint32_t{248044}));
    add("tokenizer.ggml.bos_token_id", Value(uint32_t{248044}));
    add("tokenizer.ggml.add_bos_token", Value(false));
    std::string chat_template;
    while (chat_template.size() < 7000) {
        chat_template += "{%- if message.role == \"assistant\" %}{{- '<|im_start|>' + "
                         "message.role + '\\n' + content }}{%- endif %}\n";
    }
    add("tokenizer.chat_template", Value(chat_template));
    return m;
}

Result<std::vector<uint8_t>> header_only_file(std::size_t* tensor_count, std::size_t* key_count)
{
    const auto metadata = model_metadata();
    const auto tensors = model_tensors();
    *tensor_count = tensors.size();
    *key_count = metadata.size();
    HeaderBytes h;
    h.u32(0x46554747U); // "GGUF"
    h.u32(3);
    h.u64(tensors.size());
    h.u64(metadata.size());
    for (const auto& entry : metadata) {
        h.str(entry.key);
        h.u32(static_cast<uint32_t>(entry.value.type()));
        h.value(entry.value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        auto size = gguf::tensor_byte_size(t.type, t.shape);
        if (!size) {
            return fail(fmt::format("{}: {}", t.name, size.error().message));
        }
        h.str(t.name);
        h.u32(static_cast<uint32_t>(t.shape.size()));
        for (uint64_t d : t.shape) {
            h.u64(d);
        }
        h.u32(static_cast<uint32_t>(t.type));
        h.u64(offset);
        offset += (*size + gguf::k_default_alignment - 1) / gguf::k_default_alignment *
                  gguf::k_default_alignment;
    }
    return h.bytes();
}

// ---- Timing ----

struct Timing
{
    std::string what;
    std::size_t runs = 0;
    double median_ms = 0;
    double p95_ms = 0;
    double min_ms = 0;
    double target_ms = 0;
};

Timing time_it(std::string what, std::size_t runs, double target_ms,
               const std::function<void()>& body)
{
    body(); // warm-up: page cache, allocator, instruction cache
    std::vector<double> ms;
    ms.reserve(runs);
    for (std::size_t i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        body();
        const auto stop = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) {
        return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
    };
    return Timing{std::move(what), runs, at(0.5), at(0.95), ms.front(), target_ms};
}

std::string cpu_model()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("model name")) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one;
    std::string five;
    in >> one >> five;
    return in ? fmt::format("{} (1 min), {} (5 min)", one, five) : std::string("unknown");
}

void die(const std::string& message)
{
    std::cerr << "plan_speed: " << message << "\n";
    std::exit(1);
}

} // namespace

int main(int argc, char** argv)
{
    std::string output;
    std::string keep;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--output" && i + 1 < argc) {
            output = argv[++i];
        } else if (arg == "--keep" && i + 1 < argc) {
            keep = argv[++i];
        } else {
            die("usage: plan_speed [--output results.md] [--keep FILE]");
        }
    }

    std::size_t tensor_count = 0;
    std::size_t key_count = 0;
    auto bytes = header_only_file(&tensor_count, &key_count);
    if (!bytes) {
        die(bytes.error().message);
    }
    const std::filesystem::path path =
        keep.empty() ? std::filesystem::temp_directory_path() /
                           fmt::format("gpumod-plan-speed-{}.gguf", ::getpid())
                     : std::filesystem::path(keep);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes->data()),
                  static_cast<std::streamsize>(bytes->size()));
        if (!out.good()) {
            die("cannot write " + path.string());
        }
    }

    // Check once that the file is what it claims before timing anything.
    auto model = gguf::read_model_files(path);
    if (!model) {
        die(model.error().message);
    }
    if (!model->header_only() || model->header.tensors.size() != tensor_count) {
        die("the benchmark file did not read back as a header-only model");
    }
    auto arch = gguf::derive_architecture(model->header);
    if (!arch) {
        die("derive_architecture: " + arch.error().message);
    }

    std::vector<Timing> timings;
    timings.push_back(time_it("header read from disk (read_model_files)", 50, 50, [&] {
        auto m = gguf::read_model_files(path);
        if (!m) {
            die(m.error().message);
        }
    }));
    timings.push_back(time_it("header parse in memory (read_gguf_prefix)", 50, 0, [&] {
        auto h = gguf::read_gguf_prefix(*bytes, UINT64_MAX);
        if (!h) {
            die(h.error().message);
        }
    }));
    timings.push_back(time_it("derive_architecture", 200, 0, [&] {
        auto a = gguf::derive_architecture(model->header);
        if (!a) {
            die(a.error().message);
        }
    }));

    const std::vector<plan::DeviceSpec> gpus{plan::DeviceSpec{
        "GPU0", true, plan::Backend::cuda, uint64_t{24} << 30U, "24 GiB (benchmark)"}};
    plan::PlanRequest request;
    request.n_ctx = 131072;
    request.parallel = 1;
    request.cache_type_k = TensorType::q8_0;
    request.cache_type_v = TensorType::q8_0;
    request.flash_attn = plan::FlashAttn::on;
    request.spec_type = plan::SpecType::draft_mtp;
    auto one = plan::plan_memory(*arch, request, gpus);
    if (!one) {
        die("plan_memory: " + one.error().message);
    }
    timings.push_back(time_it("one plan (plan_memory, 128K ctx, q8_0 KV, draft-mtp)", 2000, 5,
                              [&] {
                                  auto p = plan::plan_memory(*arch, request, gpus);
                                  if (!p) {
                                      die(p.error().message);
                                  }
                              }));
    const plan::PlanInputs inputs{&*arch, gpus, nullptr, uint64_t{512} << 20U, std::nullopt};
    const auto largest = plan::largest_fitting_ctx(inputs, request, 262144);
    timings.push_back(time_it("largest context that fits (largest_fitting_ctx, up to 262144)",
                              500, 20, [&] {
                                  auto c = plan::largest_fitting_ctx(inputs, request, 262144);
                                  if (c != largest) {
                                      die("largest_fitting_ctx is not deterministic");
                                  }
                              }));
    if (keep.empty()) {
        std::filesystem::remove(path);
    }

    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    uint64_t strings_bytes = 0;
    for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) {
        for (const auto& item : model->header.find(key)->as_array()->items) {
            strings_bytes += item.as_string()->size();
        }
    }

    std::string md;
    md += "# plan-speed results\n\n";
    md += "Produced by `bench/plan-speed/plan_speed --output bench/plan-speed/results.md` "
          "(Release build); see bench/plan-speed/README.md.\n\n";
    md += fmt::format("- date: {}\n- machine: {}, {} hardware threads; load average {} when "
                      "the timings ended\n",
                      date, cpu_model(), std::thread::hardware_concurrency(), load_average());
    md += fmt::format("- file: header-only qwen35moe GGUF, {} bytes ({:.1f} MiB): {} tensors "
                      "({} blocks + {} MTP block), {} metadata keys, {} tokens and {} merges "
                      "({:.1f} MiB of strings)\n",
                      bytes->size(), static_cast<double>(bytes->size()) / (1 << 20), tensor_count,
                      k_blocks, k_nextn, key_count, k_vocab, k_merges,
                      static_cast<double>(strings_bytes) / (1 << 20));
    md += "- disk reads hit the page cache (the file was just written); the first read of a "
          "cold file adds the disk's time for a few MiB\n";
    md += fmt::format("- plan: 24 GiB CUDA GPU, --ctx-size 131072 --parallel 1 -ctk q8_0 -ctv "
                      "q8_0 -fa on --spec-type draft-mtp; largest fitting context with a 512 MiB "
                      "margin: {}\n\n",
                      largest ? fmt::format("{}", *largest) : std::string("none"));
    md += "| what | runs | median ms | p95 ms | min ms | target |\n";
    md += "|---|---:|---:|---:|---:|---|\n";
    for (const Timing& t : timings) {
        const std::string target =
            t.target_ms == 0 ? std::string("-")
                             : fmt::format("< {:.0f} ms: {}", t.target_ms,
                                           t.p95_ms < t.target_ms ? "met" : "MISSED");
        md += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {} |\n", t.what, t.runs,
                          t.median_ms, t.p95_ms, t.min_ms, target);
    }
    std::cout << md;
    if (!output.empty()) {
        std::ofstream out(output, std::ios::trunc);
        out << md;
        if (!out.good()) {
            die("cannot write " + output);
        }
    }
    return 0;
}
