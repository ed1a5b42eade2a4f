#pragma once

// Tiny GGUF models that the real llama-server loads and serves, for tests and the demo.
//
// A scripted model is a deterministic bigram automaton: attention and FFN outputs are zero,
// so the residual stream at the output is the current token's embedding. Every position of
// the reply chain <think> reasoning </think> reply <|im_end|> gets its own token with its own
// orthogonal embedding direction, and output.weight maps each chain token to its successor
// (every other token maps to <think>). Whatever the sampler, every chat reply is exactly
//   <think>{reasoning}</think>{reply}<|im_end|>
// A random model has the same shape with random weights; paired with one_string_grammar()
// and `llama-server --grammar-file` it gives long scripted replies.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_writer.hpp"

namespace gpumod::gguf {

/// What a scripted model answers: reasoning_content and content of every chat reply.
struct ScriptedReply
{
    std::string reasoning = "Let me think.";
    std::string reply = "Hello world!";
};

/// Settings shared by every tiny model.
struct TinyModelOptions
{
    uint32_t context_length = 32768; ///< llama-server caps each slot at this training context
    uint64_t seed = 42;              ///< same seed, same bytes
};

/// A generated model plus the facts callers report or assert on.
struct TinyModel
{
    GgufModel model;
    std::string architecture; ///< "llama" or "qwen35"
    uint32_t n_embd = 0;
    uint32_t vocab_size = 0;
    /// Token ids a scripted model emits, <think> first and <|im_end|> last; empty for random.
    std::vector<uint32_t> chain;
};

/// Widest embedding a scripted model grows to; the chain holds at most k_max_tiny_embd - 1
/// tokens (one direction is shared by every non-chain token).
inline constexpr uint32_t k_max_tiny_embd = 512;

/// A llama-architecture scripted model (2 layers, 4 heads / 2 KV heads, head_dim 32 or a
/// multiple, SentencePiece vocab with byte fallback, ChatML template with <think>). Fails
/// when a text is not UTF-8 or needs more distinct chain tokens than fit.
Result<TinyModel> make_scripted_model(const ScriptedReply& script, const TinyModelOptions& options);

/// A Qwen3.5-style hybrid (gated delta-net layer, gated attention layer, one MTP block) whose
/// MTP head drafts the same chain, so `--spec-type draft-mtp` accepts every draft.
Result<TinyModel> make_mtp_model(const ScriptedReply& script, const TinyModelOptions& options);

/// The llama shape with every weight random; replies are gibberish unless a grammar steers.
Result<TinyModel> make_random_model(const TinyModelOptions& options);

/// A GBNF grammar admitting exactly `text` (UTF-8): root ::= "..." with `"`, `\`, newline,
/// carriage return, tab and other control characters escaped.
std::string one_string_grammar(std::string_view text);

/// The text llama.cpp renders for `ids` of a tiny model's vocab: U+2581 becomes a space,
/// byte tokens become their byte, control tokens render nothing.
Result<std::string> decode_tokens(const GgufModel& model, std::span<const uint32_t> ids);

} // namespace gpumod::gguf
