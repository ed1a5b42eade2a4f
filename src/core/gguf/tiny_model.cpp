#include "core/gguf/tiny_model.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace gpumod::gguf {

namespace {

// SentencePiece token types as llama.cpp numbers them (tokenizer.ggml.token_type).
constexpr int32_t k_type_normal = 1;
constexpr int32_t k_type_unknown = 2;
constexpr int32_t k_type_control = 3;
constexpr int32_t k_type_user_defined = 4;
constexpr int32_t k_type_byte = 6;

constexpr std::string_view k_space = "\u2581"; // SentencePiece's visible space
constexpr std::string_view k_think = "<think>";
constexpr std::string_view k_end_think = "</think>";
constexpr std::string_view k_im_start = "<|im_start|>";
constexpr std::string_view k_im_end = "<|im_end|>";

// The generation prompt ends in "assistant\n"; a chain token that could cover that final
// newline would make the model start mid-chain, so such pieces are never chain pieces.
constexpr std::string_view k_prompt_tail = "assistant\n";

// Added chain pieces merge last, so prompt tokenization keeps using the base vocab.
constexpr float k_added_piece_score = -2000.0F;

// Longest text piece one chain token may carry before the builder falls back to bytes.
constexpr size_t k_max_piece_chars = 16;

// Logit the chain's next token wins by; everything else scores 0, so sampling settings
// (temperature, top-k, ...) cannot pick anything else.
constexpr float k_chain_logit = 40.0F;
constexpr float k_weight_std = 0.02F;
constexpr uint32_t k_embd_step = 128; // 4 heads of 32: quantized KV caches need head_dim % 32 == 0
constexpr uint32_t k_n_head = 4;
constexpr uint32_t k_n_head_kv = 2;
constexpr uint32_t k_n_layer = 2;

// qwen35 gated delta-net sizes (independent of n_embd).
constexpr uint32_t k_ssm_conv = 4;
constexpr uint32_t k_ssm_state = 32;
constexpr uint32_t k_ssm_k_heads = 2;
constexpr uint32_t k_ssm_v_heads = 4;

// ChatML with <think>: assistant history carries its reasoning; with enable_thinking false
// the generation prompt closes an empty think block, so the reply starts right away.
constexpr std::string_view k_chat_template =
    "{%- for message in messages -%}"
    "{%- if message.role == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if message.reasoning_content is defined and message.reasoning_content -%}"
    "{{- '<think>' + message.reasoning_content + '</think>' -}}"
    "{%- endif -%}"
    "{{- (message.content if message.content is string else '') + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string "
    "else '') + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>' -}}"
    "{%- endif -%}"
    "{%- endif -%}";

// splitmix64: a tiny, well-mixed generator whose output is the same on every platform
// (std distributions differ between standard library versions).
class SplitMix64
{
  public:
    explicit SplitMix64(uint64_t seed) : m_state(seed) {}
    uint64_t next()
    {
        m_state += 0x9E3779B97F4A7C15ULL;
        uint64_t z = m_state;
        z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31U);
    }
    /// Uniform in [-a, a) with standard deviation `std` (a = std * sqrt(3)).
    float symmetric(float std)
    {
        const float unit = static_cast<float>(next() >> 40U) * 0x1.0p-24F; // [0, 1)
        return (2.0F * unit - 1.0F) * std * 1.7320508F;
    }

  private:
    uint64_t m_state;
};

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
size_t utf8_length(std::string_view s, size_t i)
{
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (b0 < 0x80) {
        return 1;
    }
    if ((b0 & 0xE0U) == 0xC0) {
        n = 2;
        cp = b0 & 0x1FU;
    } else if ((b0 & 0xF0U) == 0xE0) {
        n = 3;
        cp = b0 & 0x0FU;
    } else if ((b0 & 0xF8U) == 0xF0) {
        n = 4;
        cp = b0 & 0x07U;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (size_t k = 1; k < n; ++k) {
        const auto b = static_cast<uint8_t>(s[i + k]);
        if ((b & 0xC0U) != 0x80) {
            return 0;
        }
        cp = (cp << 6U) | (b & 0x3FU);
    }
    const uint32_t min_cp = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

size_t count_chars(std::string_view s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.size(); i += std::max<size_t>(utf8_length(s, i), 1)) {
        ++n;
    }
    return n;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to)
{
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        if (s.substr(i, from.size()) == from) {
            out += to;
            i += from.size();
        } else {
            out += s[i++];
        }
    }
    return out;
}

class Vocab
{
  public:
    uint32_t add(std::string token, int32_t type, float score)
    {
        const auto id = static_cast<uint32_t>(m_tokens.size());
        m_ids.emplace(token, id);
        m_tokens.push_back(std::move(token));
        m_types.push_back(type);
        m_scores.push_back(score);
        return id;
    }
    [[nodiscard]] std::optional<uint32_t> find(const std::string& token) const
    {
        auto it = m_ids.find(token);
        return it == m_ids.end() ? std::nullopt : std::optional<uint32_t>(it->second);
    }
    [[nodiscard]] uint32_t id(std::string_view token) const { return m_ids.at(std::string(token)); }
    [[nodiscard]] int32_t type(uint32_t id) const { return m_types[id]; }
    [[nodiscard]] uint32_t size() const { return static_cast<uint32_t>(m_tokens.size()); }
    [[nodiscard]] const std::vector<std::string>& tokens() const { return m_tokens; }
    [[nodiscard]] const std::vector<float>& scores() const { return m_scores; }
    [[nodiscard]] const std::vector<int32_t>& types() const { return m_types; }

  private:
    std::vector<std::string> m_tokens;
    std::vector<int32_t> m_types;
    std::vector<float> m_scores;
    std::unordered_map<std::string, uint32_t>
        m_ids; // token strings are unique: llama.cpp asserts it
};

float normal_score(std::string_view token)
{
    // SentencePiece merges higher scores first: longer pieces win.
    return -1000.0F + 10.0F * static_cast<float>(count_chars(token));
}

// Control/byte tokens, printable ASCII, "▁x" pairs and a few words with all their prefixes
// (SentencePiece's bigram merges can only reach a word through pieces in the vocab).
Vocab base_vocab()
{
    Vocab v;
    v.add("<unk>", k_type_unknown, 0.0F);
    v.add("<s>", k_type_control, 0.0F);
    v.add("</s>", k_type_control, 0.0F);
    for (int b = 0; b < 256; ++b) {
        v.add(fmt::format("<0x{:02X}>", b), k_type_byte, 0.0F);
    }
    v.add(std::string(k_im_start), k_type_control, 0.0F);
    v.add(std::string(k_im_end), k_type_control, 0.0F);
    v.add(std::string(k_think), k_type_user_defined, 0.0F);
    v.add(std::string(k_end_think), k_type_user_defined, 0.0F);
    v.add(std::string(k_space), k_type_normal, normal_score(k_space));
    for (char c = 33; c < 127; ++c) {
        v.add(std::string(1, c), k_type_normal, normal_score("x"));
    }
    for (char c = 'a'; c <= 'z'; ++c) {
        std::string token = std::string(k_space) + c;
        v.add(token, k_type_normal, normal_score(token));
    }
    const std::vector<std::string> words = {
        "Hello",     "Hi",         "Let",           "assistant",   "user",        "system",
        "tool",      "\u2581me",   "\u2581think",   "\u2581world", "\u2581the",   "\u2581a",
        "\u2581is",  "\u2581you",  "\u2581are",     "\u2581hello", "\u2581Hello", "\u2581Say",
        "\u2581say", "\u2581test", "\u2581helpful", "\u2581model"};
    for (const auto& w : words) {
        if (!v.find(w)) {
            v.add(w, k_type_normal, normal_score(w));
        }
    }
    for (const auto& w : words) {
        for (size_t end = utf8_length(w, 0); end < w.size(); end += utf8_length(w, end)) {
            const std::string prefix = w.substr(0, end);
            if (count_chars(prefix) >= 2 && !v.find(prefix)) {
                v.add(prefix, k_type_normal, normal_score(prefix));
            }
        }
    }
    return v;
}

// Splits scripted text into chain tokens, one distinct token per chain position, adding
// pieces to the vocab as needed.
class ChainBuilder
{
  public:
    explicit ChainBuilder(Vocab& vocab) : m_vocab(vocab), m_base_size(vocab.size()) {}

    void add_token(uint32_t id)
    {
        m_used.insert(id);
        m_chain.push_back(id);
    }

    Status add_text(std::string_view text, std::string_view label)
    {
        for (size_t i = 0; i < text.size(); i += utf8_length(text, i)) {
            if (utf8_length(text, i) == 0) {
                return fail(fmt::format("the {} is not valid UTF-8 (at byte {})", label, i));
            }
        }
        return split(text, label);
    }

    [[nodiscard]] const std::vector<uint32_t>& chain() const { return m_chain; }

  private:
    Status split(std::string_view text, std::string_view label)
    {
        if (text.ends_with('\n')) {
            // Greedy splitting could strand the final newline (it cannot be a piece alone), so
            // the piece that carries it is chosen first and the rest is split before it.
            auto last = reserve_final_piece(text);
            if (!last) {
                return fail(fmt::format("the {} ends in a newline that no unused piece can carry; "
                                        "vary the end of the text",
                                        label));
            }
            if (auto s = split(text.substr(0, last->second), label); !s) {
                return s;
            }
            m_chain.push_back(last->first);
            return {};
        }
        size_t i = 0;
        while (i < text.size()) {
            std::vector<size_t> ends;
            for (size_t j = i; j < text.size() && ends.size() < k_max_piece_chars;) {
                j += utf8_length(text, j);
                ends.push_back(j);
            }
            if (auto end = take_base_piece(text, i, ends)) {
                i = *end;
            } else if (auto end2 = take_new_piece(text, i, ends)) {
                i = *end2;
            } else if (take_bytes(text.substr(i, ends.front() - i))) {
                i = ends.front();
            } else {
                return fail(fmt::format(
                    "the {} needs more distinct tokens than a tiny model has: no unused piece is "
                    "left at byte {} ('{}'); shorten or vary the text, or use a random model with "
                    "a one-string grammar",
                    label, i, text.substr(i, ends.back() - i)));
            }
        }
        return {};
    }

    // Whether `piece` may be one chain piece.
    static bool allowed(std::string_view piece)
    {
        if (piece.find(k_space) != std::string_view::npos) {
            return false; // a literal U+2581 would render as a space: only bytes can carry it
        }
        return !(piece.ends_with('\n') && k_prompt_tail.ends_with(piece));
    }

    // Marks the token for the shortest allowed suffix of `text` (at least two characters) as
    // used; returns its id and where the suffix starts.
    std::optional<std::pair<uint32_t, size_t>> reserve_final_piece(std::string_view text)
    {
        std::vector<size_t> starts;
        for (size_t i = 0; i < text.size(); i += utf8_length(text, i)) {
            starts.push_back(i);
        }
        for (size_t chars = 2; chars <= std::min(k_max_piece_chars, starts.size()); ++chars) {
            const size_t start = starts[starts.size() - chars];
            const std::string_view piece = text.substr(start);
            if (!allowed(piece)) {
                continue;
            }
            const std::string token = replace_all(piece, " ", k_space);
            uint32_t id = 0;
            if (auto existing = m_vocab.find(token)) {
                if (m_vocab.type(*existing) != k_type_normal || m_used.contains(*existing)) {
                    continue;
                }
                id = *existing;
            } else {
                id = m_vocab.add(token, k_type_normal, k_added_piece_score);
            }
            m_used.insert(id);
            return std::pair{id, start};
        }
        return std::nullopt;
    }

    // The longest unused word of the base vocab (keeps common replies short in tokens).
    std::optional<size_t> take_base_piece(std::string_view text, size_t i,
                                          const std::vector<size_t>& ends)
    {
        for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
            const std::string_view piece = text.substr(i, *it - i);
            if (!allowed(piece)) {
                continue;
            }
            auto id = m_vocab.find(replace_all(piece, " ", k_space));
            if (id && *id < m_base_size && m_vocab.type(*id) == k_type_normal &&
                !m_used.contains(*id)) {
                add_token(*id);
                return *it;
            }
        }
        return std::nullopt;
    }

    // The shortest piece no chain position uses yet, added to the vocab when new.
    std::optional<size_t> take_new_piece(std::string_view text, size_t i,
                                         const std::vector<size_t>& ends)
    {
        for (size_t end : ends) {
            const std::string_view piece = text.substr(i, end - i);
            if (!allowed(piece)) {
                continue;
            }
            const std::string token = replace_all(piece, " ", k_space);
            if (auto id = m_vocab.find(token)) {
                if (m_vocab.type(*id) == k_type_normal && !m_used.contains(*id)) {
                    add_token(*id);
                    return end;
                }
                continue;
            }
            add_token(m_vocab.add(token, k_type_normal, k_added_piece_score));
            return end;
        }
        return std::nullopt;
    }

    // Byte-fallback tokens for one character, if all are unused. The newline byte is the
    // generation prompt's last token, so it never joins the chain.
    bool take_bytes(std::string_view character)
    {
        std::vector<uint32_t> ids;
        for (char c : character) {
            const auto byte = static_cast<uint8_t>(c);
            const uint32_t id = m_vocab.id(fmt::format("<0x{:02X}>", byte));
            if (byte == '\n' || m_used.contains(id)) {
                return false;
            }
            ids.push_back(id);
        }
        for (uint32_t id : ids) {
            add_token(id);
        }
        return true;
    }

    Vocab& m_vocab;
    uint32_t m_base_size;
    std::unordered_set<uint32_t> m_used;
    std::vector<uint32_t> m_chain;
};

enum class Arch
{
    llama,
    qwen35,
};

enum class Weights
{
    chain,
    random,
};

struct Shape
{
    uint32_t n_embd = k_embd_step;
    [[nodiscard]] uint32_t head_dim() const { return n_embd / k_n_head; }
    [[nodiscard]] uint32_t kv_dim() const { return head_dim() * k_n_head_kv; }
    [[nodiscard]] uint32_t n_ff() const { return 2 * n_embd; }
};

class TensorFactory
{
  public:
    TensorFactory(uint64_t seed, std::vector<TensorData>& out) : m_rng(seed), m_out(out) {}
    void random(const std::string& name, std::vector<uint64_t> shape, float std)
    {
        std::vector<float> v(count(shape));
        for (float& x : v) {
            x = m_rng.symmetric(std);
        }
        m_out.push_back(f32_tensor(name, std::move(shape), v));
    }
    void filled(const std::string& name, std::vector<uint64_t> shape, float value)
    {
        std::vector<float> v(count(shape), value);
        m_out.push_back(f32_tensor(name, std::move(shape), v));
    }
    void values(const std::string& name, std::vector<uint64_t> shape, const std::vector<float>& v)
    {
        m_out.push_back(f32_tensor(name, std::move(shape), v));
    }

  private:
    static size_t count(const std::vector<uint64_t>& shape)
    {
        size_t n = 1;
        for (uint64_t d : shape) {
            n *= static_cast<size_t>(d);
        }
        return n;
    }
    SplitMix64 m_rng;
    std::vector<TensorData>& m_out;
};

struct Build
{
    Arch arch = Arch::llama;
    Weights weights = Weights::chain;
    bool mtp = false;
    std::string kind; // "scripted", "random", "mtp"
};

std::string_view arch_name(Arch arch)
{
    return arch == Arch::llama ? "llama" : "qwen35";
}

std::vector<MetadataEntry> model_metadata(const Build& build, const Shape& shape,
                                          const Vocab& vocab, const TinyModelOptions& options,
                                          const ScriptedReply* script)
{
    const std::string a(arch_name(build.arch));
    const uint32_t n_mtp = build.mtp ? 1 : 0;
    std::vector<MetadataEntry> kv = {
        {"general.architecture", Value(a)},
        {"general.name", Value(fmt::format("gpumod-tiny-{}", build.kind))},
        {"general.alignment", Value(k_default_alignment)},
        {"general.file_type", Value(uint32_t{0})}, // all F32
        {a + ".context_length", Value(options.context_length)},
        {a + ".embedding_length", Value(shape.n_embd)},
        {a + ".block_count", Value(k_n_layer + n_mtp)},
        {a + ".feed_forward_length", Value(shape.n_ff())},
        {a + ".attention.head_count", Value(k_n_head)},
        {a + ".attention.head_count_kv", Value(k_n_head_kv)},
        {a + ".attention.layer_norm_rms_epsilon", Value(1e-5F)},
        {a + ".rope.dimension_count", Value(shape.head_dim())},
        {a + ".rope.freq_base", Value(10000.0F)},
        {a + ".vocab_size", Value(vocab.size())},
    };
    if (build.arch == Arch::qwen35) {
        const auto quarter = static_cast<int32_t>(shape.head_dim() / 4);
        const std::vector<int32_t> sections = {quarter, quarter, quarter, quarter};
        kv.push_back({a + ".attention.key_length", Value(shape.head_dim())});
        kv.push_back({a + ".attention.value_length", Value(shape.head_dim())});
        kv.push_back({a + ".rope.dimension_sections", int32_array(sections)});
        // Layers 0, 2, ... are recurrent, 1, 3, ... full attention; llama.cpp aborts in warm-up
        // on a qwen35 model without any recurrent layer.
        kv.push_back({a + ".full_attention_interval", Value(uint32_t{2})});
        kv.push_back({a + ".ssm.conv_kernel", Value(k_ssm_conv)});
        kv.push_back({a + ".ssm.inner_size", Value(k_ssm_state * k_ssm_v_heads)});
        kv.push_back({a + ".ssm.state_size", Value(k_ssm_state)});
        kv.push_back({a + ".ssm.time_step_rank", Value(k_ssm_v_heads)});
        kv.push_back({a + ".ssm.group_count", Value(k_ssm_k_heads)});
        kv.push_back({a + ".nextn_predict_layers", Value(n_mtp)});
    }
    kv.push_back({"tokenizer.ggml.model", Value("llama")});
    kv.push_back({"tokenizer.ggml.tokens", string_array(vocab.tokens())});
    kv.push_back({"tokenizer.ggml.scores", float32_array(vocab.scores())});
    kv.push_back({"tokenizer.ggml.token_type", int32_array(vocab.types())});
    kv.push_back({"tokenizer.ggml.bos_token_id", Value(vocab.id("<s>"))});
    kv.push_back({"tokenizer.ggml.eos_token_id", Value(vocab.id(k_im_end))});
    kv.push_back({"tokenizer.ggml.unknown_token_id", Value(vocab.id("<unk>"))});
    kv.push_back({"tokenizer.ggml.padding_token_id", Value(vocab.id("</s>"))});
    kv.push_back({"tokenizer.ggml.add_bos_token", Value(false)});
    kv.push_back({"tokenizer.ggml.add_eos_token", Value(false)});
    kv.push_back({"tokenizer.ggml.add_space_prefix", Value(false)});
    kv.push_back({"tokenizer.chat_template", Value(std::string(k_chat_template))});
    // Our own keys (llama.cpp ignores unknown ones): what this file is and what it answers.
    kv.push_back({"gpumod.tiny_model.kind", Value(build.kind)});
    kv.push_back({"gpumod.tiny_model.seed", Value(options.seed)});
    if (script != nullptr) {
        kv.push_back({"gpumod.tiny_model.reasoning", Value(script->reasoning)});
        kv.push_back({"gpumod.tiny_model.reply", Value(script->reply)});
    }
    return kv;
}

bool is_recurrent_layer(const Build& build, uint32_t layer)
{
    return build.arch == Arch::qwen35 && layer < k_n_layer && layer % 2 == 0;
}

void add_block(const Build& build, const Shape& s, uint32_t layer, TensorFactory& t)
{
    const std::string p = fmt::format("blk.{}.", layer);
    const uint64_t e = s.n_embd;
    const bool chain = build.weights == Weights::chain;
    // In chain mode every branch that writes into the residual stream is zero.
    auto branch_out = [&](const std::string& name, std::vector<uint64_t> shape) {
        if (chain) {
            t.filled(name, std::move(shape), 0.0F);
        } else {
            t.random(name, std::move(shape), k_weight_std);
        }
    };
    t.filled(p + "attn_norm.weight", {e}, 1.0F);
    if (build.arch == Arch::llama) {
        t.random(p + "attn_q.weight", {e, e}, k_weight_std);
        t.filled(p + "ffn_norm.weight", {e}, 1.0F);
    } else if (is_recurrent_layer(build, layer)) {
        const uint64_t key_dim = uint64_t{k_ssm_state} * k_ssm_k_heads;
        const uint64_t value_dim = uint64_t{k_ssm_state} * k_ssm_v_heads;
        const uint64_t conv_dim = 2 * key_dim + value_dim;
        t.filled(p + "post_attention_norm.weight", {e}, 1.0F);
        t.random(p + "attn_qkv.weight", {e, conv_dim}, k_weight_std);
        t.random(p + "attn_gate.weight", {e, value_dim}, k_weight_std);
        t.random(p + "ssm_conv1d.weight", {k_ssm_conv, conv_dim}, 0.1F);
        t.filled(p + "ssm_dt.bias", {k_ssm_v_heads}, 0.0F);
        t.filled(p + "ssm_a", {k_ssm_v_heads}, -1.0F);
        t.random(p + "ssm_beta.weight", {e, k_ssm_v_heads}, k_weight_std);
        t.random(p + "ssm_alpha.weight", {e, k_ssm_v_heads}, k_weight_std);
        t.filled(p + "ssm_norm.weight", {k_ssm_state}, 1.0F);
        branch_out(p + "ssm_out.weight", {value_dim, e});
    } else {
        // Gated full attention: q and its gate interleaved per head, plus q/k norms.
        t.filled(p + "post_attention_norm.weight", {e}, 1.0F);
        t.random(p + "attn_q.weight", {e, 2 * uint64_t{s.head_dim()} * k_n_head}, k_weight_std);
        t.filled(p + "attn_q_norm.weight", {s.head_dim()}, 1.0F);
        t.filled(p + "attn_k_norm.weight", {s.head_dim()}, 1.0F);
    }
    if (!is_recurrent_layer(build, layer)) {
        t.random(p + "attn_k.weight", {e, s.kv_dim()}, k_weight_std);
        t.random(p + "attn_v.weight", {e, s.kv_dim()}, k_weight_std);
        branch_out(p + "attn_output.weight", {uint64_t{s.head_dim()} * k_n_head, e});
    }
    t.random(p + "ffn_gate.weight", {e, s.n_ff()}, k_weight_std);
    t.random(p + "ffn_up.weight", {e, s.n_ff()}, k_weight_std);
    branch_out(p + "ffn_down.weight", {s.n_ff(), e});
    if (layer >= k_n_layer) {
        // MTP block: h' = eh_proj(concat(enorm(embed(token)), hnorm(h))). In chain mode
        // eh_proj = [I | 0] passes the next token's embedding through, so the MTP head
        // predicts that token's successor: the same chain as the main model.
        std::vector<float> eh(static_cast<size_t>(2 * e * e), 0.0F);
        if (chain) {
            for (uint64_t j = 0; j < e; ++j) {
                eh[static_cast<size_t>(j * 2 * e + j)] = 1.0F;
            }
            t.values(p + "nextn.eh_proj.weight", {2 * e, e}, eh);
        } else {
            t.random(p + "nextn.eh_proj.weight", {2 * e, e}, k_weight_std);
        }
        t.filled(p + "nextn.enorm.weight", {e}, 1.0F);
        t.filled(p + "nextn.hnorm.weight", {e}, 1.0F);
    }
}

Result<TinyModel> build_model(const Build& build, const ScriptedReply* script,
                              const TinyModelOptions& options)
{
    if (options.context_length == 0) {
        return fail("the context length must be at least 1");
    }
    Vocab vocab = base_vocab();
    std::vector<uint32_t> chain;
    if (build.weights == Weights::chain) {
        ChainBuilder builder(vocab);
        builder.add_token(vocab.id(k_think));
        if (auto s = builder.add_text(script->reasoning, "reasoning"); !s) {
            return tl::unexpected(s.error());
        }
        builder.add_token(vocab.id(k_end_think));
        if (auto s = builder.add_text(script->reply, "reply"); !s) {
            return tl::unexpected(s.error());
        }
        builder.add_token(vocab.id(k_im_end));
        chain = builder.chain();
    }

    // One embedding direction per chain token plus one shared by all other tokens.
    Shape shape;
    const auto directions = static_cast<uint32_t>(chain.size() + 1);
    shape.n_embd = (directions + k_embd_step - 1) / k_embd_step * k_embd_step;
    if (shape.n_embd > k_max_tiny_embd) {
        return fail(fmt::format("the scripted text needs {} distinct chain tokens but a tiny model "
                                "holds at most {}; shorten the reasoning or reply, or use a random "
                                "model with a one-string grammar",
                                chain.size(), k_max_tiny_embd - 1));
    }

    const uint64_t e = shape.n_embd;
    const uint32_t n_vocab = vocab.size();
    TinyModel out;
    out.architecture = std::string(arch_name(build.arch));
    out.n_embd = shape.n_embd;
    out.vocab_size = n_vocab;
    out.chain = chain;
    out.model.metadata = model_metadata(build, shape, vocab, options, script);

    TensorFactory t(options.seed, out.model.tensors);
    if (build.weights == Weights::random) {
        t.random("token_embd.weight", {e, n_vocab}, 1.0F);
        t.filled("output_norm.weight", {e}, 1.0F);
        t.random("output.weight", {e, n_vocab}, k_weight_std);
    } else {
        // Chain token k has embedding sqrt(E) * e_(k+1) (RMS 1, so RMS norm keeps it); every
        // other token shares sqrt(E) * e_0. Output row of token t holds chain_logit / sqrt(E)
        // at the direction of t's predecessor, so the successor's logit is chain_logit.
        const float scale = std::sqrt(static_cast<float>(e));
        std::vector<size_t> direction(n_vocab, 0);
        for (size_t k = 0; k < chain.size(); ++k) {
            direction[chain[k]] = k + 1;
        }
        std::vector<float> embd(static_cast<size_t>(e) * n_vocab, 0.0F);
        for (size_t tok = 0; tok < n_vocab; ++tok) {
            embd[tok * e + direction[tok]] = scale;
        }
        std::vector<float> output(static_cast<size_t>(e) * n_vocab, 0.0F);
        const float weight = k_chain_logit / scale;
        output[size_t{chain[0]} * e + 0] = weight;
        for (size_t k = 0; k + 1 < chain.size(); ++k) {
            output[size_t{chain[k + 1]} * e + (k + 1)] = weight;
        }
        t.values("token_embd.weight", {e, n_vocab}, embd);
        t.filled("output_norm.weight", {e}, 1.0F);
        t.values("output.weight", {e, n_vocab}, output);
    }
    for (uint32_t layer = 0; layer < k_n_layer + (build.mtp ? 1U : 0U); ++layer) {
        add_block(build, shape, layer, t);
    }
    return out;
}

} // namespace

Result<TinyModel> make_scripted_model(const ScriptedReply& script, const TinyModelOptions& options)
{
    return build_model(Build{Arch::llama, Weights::chain, false, "scripted"}, &script, options);
}

Result<TinyModel> make_mtp_model(const ScriptedReply& script, const TinyModelOptions& options)
{
    return build_model(Build{Arch::qwen35, Weights::chain, true, "mtp"}, &script, options);
}

Result<TinyModel> make_random_model(const TinyModelOptions& options)
{
    return build_model(Build{Arch::llama, Weights::random, false, "random"}, nullptr, options);
}

std::string one_string_grammar(std::string_view text)
{
    std::string out = "root ::= \"";
    for (char c : text) {
        const auto byte = static_cast<uint8_t>(c);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (byte < 0x20 || byte == 0x7F) {
                out += fmt::format("\\x{:02X}", byte);
            } else {
                out += c; // UTF-8 sequences pass through: GBNF literals are UTF-8
            }
        }
    }
    out += "\"\n";
    return out;
}

Result<std::string> decode_tokens(const GgufModel& model, std::span<const uint32_t> ids)
{
    const Value* tokens_value = model.find("tokenizer.ggml.tokens");
    const Value* types_value = model.find("tokenizer.ggml.token_type");
    const Array* tokens = tokens_value != nullptr ? tokens_value->as_array() : nullptr;
    const Array* types = types_value != nullptr ? types_value->as_array() : nullptr;
    if (tokens == nullptr || types == nullptr || tokens->items.size() != types->items.size()) {
        return fail("model has no tokenizer.ggml.tokens / token_type arrays of equal length");
    }
    std::string out;
    for (uint32_t id : ids) {
        if (id >= tokens->items.size()) {
            return fail(
                fmt::format("token id {} is outside the vocab of {}", id, tokens->items.size()));
        }
        const std::string* token = tokens->items[id].as_string();
        const auto type = types->items[id].as_int();
        if (token == nullptr || !type) {
            return fail(fmt::format("token {} has no string or type", id));
        }
        if (*type == k_type_control) {
            continue;
        }
        if (*type == k_type_byte) {
            unsigned byte = 0;
            const char* hex = token->data() + 3;
            if (token->size() != 6 || !token->starts_with("<0x") || !token->ends_with('>') ||
                std::from_chars(hex, hex + 2, byte, 16).ptr != hex + 2) {
                return fail(fmt::format("byte token {} is malformed: '{}'", id, *token));
            }
            out += static_cast<char>(byte);
            continue;
        }
        out += replace_all(*token, k_space, " ");
    }
    return out;
}

} // namespace gpumod::gguf
