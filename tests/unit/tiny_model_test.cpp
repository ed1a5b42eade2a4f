#include "core/gguf/tiny_model.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {
namespace {

using ::testing::HasSubstr;

const TensorData* find_tensor(const GgufModel& m, std::string_view name)
{
    for (const auto& t : m.tensors) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

std::vector<float> floats(const TensorData& t)
{
    std::vector<float> v(t.data.size() / 4);
    for (size_t i = 0; i < v.size(); ++i) {
        uint32_t bits = 0;
        for (size_t b = 0; b < 4; ++b) {
            bits |= static_cast<uint32_t>(t.data[i * 4 + b]) << (8 * b);
        }
        v[i] = std::bit_cast<float>(bits);
    }
    return v;
}

std::vector<std::string> vocab_of(const GgufModel& m)
{
    std::vector<std::string> out;
    for (const auto& v : m.find("tokenizer.ggml.tokens")->as_array()->items) {
        out.push_back(*v.as_string());
    }
    return out;
}

uint32_t token_id(const GgufModel& m, std::string_view token)
{
    const auto vocab = vocab_of(m);
    for (size_t i = 0; i < vocab.size(); ++i) {
        if (vocab[i] == token) {
            return static_cast<uint32_t>(i);
        }
    }
    ADD_FAILURE() << "no token " << token;
    return 0;
}

// What the model predicts after `token` when the residual stream is the token's embedding
// (the chain construction's premise): argmax over output.weight · rmsnorm(embedding).
class Bigram
{
  public:
    explicit Bigram(const TinyModel& tiny)
        : m_embd(floats(*find_tensor(tiny.model, "token_embd.weight"))),
          m_out(floats(*find_tensor(tiny.model, "output.weight"))), m_e(tiny.n_embd),
          m_vocab(tiny.vocab_size)
    {
    }

    uint32_t successor(uint32_t token) const
    {
        const float* x = &m_embd[token * m_e];
        double mean_square = 0;
        for (size_t j = 0; j < m_e; ++j) {
            mean_square += double{x[j]} * x[j];
        }
        const double rms = std::sqrt(mean_square / static_cast<double>(m_e) + 1e-5);
        uint32_t best = 0;
        double best_logit = -1e30;
        double second = -1e30;
        for (uint32_t t = 0; t < m_vocab; ++t) {
            double logit = 0;
            for (size_t j = 0; j < m_e; ++j) {
                logit += double{m_out[t * m_e + j]} * x[j] / rms;
            }
            if (logit > best_logit) {
                second = best_logit;
                best_logit = logit;
                best = t;
            } else if (logit > second) {
                second = logit;
            }
        }
        EXPECT_GT(best_logit - second, 30.0) << "the winner must win by a wide margin";
        return best;
    }

  private:
    std::vector<float> m_embd;
    std::vector<float> m_out;
    size_t m_e;
    uint32_t m_vocab;
};

void expect_chain_runs(const TinyModel& tiny, const ScriptedReply& script)
{
    auto text = decode_tokens(tiny.model, tiny.chain);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "<think>" + script.reasoning + "</think>" + script.reply);
    EXPECT_EQ(tiny.chain.front(), token_id(tiny.model, "<think>"));
    EXPECT_EQ(tiny.chain.back(), token_id(tiny.model, "<|im_end|>"));
    EXPECT_EQ(std::set<uint32_t>(tiny.chain.begin(), tiny.chain.end()).size(), tiny.chain.size())
        << "every chain position needs its own token";
    // The generation prompt ends in the newline byte token: it must start the chain.
    const Bigram bigram(tiny);
    EXPECT_EQ(bigram.successor(token_id(tiny.model, "<0x0A>")), tiny.chain[0]);
    EXPECT_EQ(bigram.successor(token_id(tiny.model, "<|im_start|>")), tiny.chain[0]);
    for (size_t k = 0; k + 1 < tiny.chain.size(); ++k) {
        EXPECT_EQ(bigram.successor(tiny.chain[k]), tiny.chain[k + 1]) << "position " << k;
    }
}

TEST(TinyModel, ScriptedDefaultHasTheLlamaShapeAndMetadata)
{
    auto tiny = make_scripted_model({}, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    const GgufModel& m = tiny->model;
    EXPECT_EQ(*m.find("general.architecture")->as_string(), "llama");
    EXPECT_EQ(m.find("llama.context_length")->as_uint(), 32768U);
    EXPECT_EQ(m.find("llama.embedding_length")->as_uint(), 128U);
    EXPECT_EQ(m.find("llama.block_count")->as_uint(), 2U);
    EXPECT_EQ(m.find("llama.feed_forward_length")->as_uint(), 256U);
    EXPECT_EQ(m.find("llama.attention.head_count")->as_uint(), 4U);
    EXPECT_EQ(m.find("llama.attention.head_count_kv")->as_uint(), 2U);
    EXPECT_EQ(m.find("llama.rope.dimension_count")->as_uint(), 32U);
    EXPECT_EQ(*m.find("tokenizer.ggml.model")->as_string(), "llama");
    EXPECT_EQ(m.find("tokenizer.ggml.eos_token_id")->as_uint(), token_id(m, "<|im_end|>"));
    EXPECT_EQ(m.find("tokenizer.ggml.add_bos_token")->as_bool(), false);
    EXPECT_THAT(*m.find("tokenizer.chat_template")->as_string(), HasSubstr("enable_thinking"));
    EXPECT_EQ(*m.find("gpumod.tiny_model.reply")->as_string(), "Hello world!");

    const auto vocab = vocab_of(m);
    EXPECT_EQ(vocab.size(), tiny->vocab_size);
    EXPECT_EQ(m.find("llama.vocab_size")->as_uint(), vocab.size());
    EXPECT_EQ(std::set<std::string>(vocab.begin(), vocab.end()).size(), vocab.size())
        << "llama.cpp aborts on duplicate token strings";
    EXPECT_EQ(m.find("tokenizer.ggml.scores")->as_array()->items.size(), vocab.size());
    EXPECT_EQ(m.find("tokenizer.ggml.token_type")->as_array()->items.size(), vocab.size());

    const uint64_t v = vocab.size();
    const std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes = {
        {"token_embd.weight", {128, v}},
        {"output.weight", {128, v}},
        {"output_norm.weight", {128}},
        {"blk.0.attn_q.weight", {128, 128}},
        {"blk.0.attn_k.weight", {128, 64}},
        {"blk.1.attn_v.weight", {128, 64}},
        {"blk.1.attn_output.weight", {128, 128}},
        {"blk.0.ffn_gate.weight", {128, 256}},
        {"blk.1.ffn_down.weight", {256, 128}},
        {"blk.1.ffn_norm.weight", {128}},
    };
    for (const auto& [name, shape] : shapes) {
        const TensorData* t = find_tensor(m, name);
        ASSERT_NE(t, nullptr) << name;
        EXPECT_EQ(t->shape, shape) << name;
    }
    EXPECT_EQ(m.tensors.size(), 3U + 2U * 9U);
    // Chain mode: nothing writes into the residual stream.
    for (const char* name : {"blk.0.attn_output.weight", "blk.1.ffn_down.weight"}) {
        for (float x : floats(*find_tensor(m, name))) {
            ASSERT_EQ(x, 0.0F) << name;
        }
    }
}

TEST(TinyModel, ScriptedDefaultChainIsTheReferenceTenTokens)
{
    auto tiny = make_scripted_model({}, {});
    ASSERT_TRUE(tiny);
    EXPECT_EQ(tiny->chain.size(),
              10U); // <think> Let ▁me ▁think . </think> Hello ▁world ! <|im_end|>
    expect_chain_runs(*tiny, ScriptedReply{});
}

TEST(TinyModel, ScriptedRepeatedWordsNewlinesAndPunctuation)
{
    const ScriptedReply script{"I think, so I am; I think.", "The answer is 42.\nThe end."};
    auto tiny = make_scripted_model(script, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    expect_chain_runs(*tiny, script);
}

TEST(TinyModel, ScriptedUnicodeLiteralSpaceMarkAndTrailingNewlines)
{
    const ScriptedReply script{"Ünïcode \u2581 test 🎉 aaaa aaaa aaaa.", "Ok!!!!\n\n"};
    auto tiny = make_scripted_model(script, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    expect_chain_runs(*tiny, script);
}

TEST(TinyModel, NoVocabTokenCanCoverThePromptsFinalNewline)
{
    const ScriptedReply script{"t\nnt\nassistant\n", "x\n\n\n"};
    auto tiny = make_scripted_model(script, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    const std::string tail = "assistant\n";
    for (const auto& token : vocab_of(tiny->model)) {
        EXPECT_FALSE(token.ends_with('\n') && tail.ends_with(token)) << "token '" << token << "'";
    }
    expect_chain_runs(*tiny, script);
}

TEST(TinyModel, TextsEndingInNewlinesAfterPromptLikeText)
{
    for (const ScriptedReply& script :
         {ScriptedReply{"Best\n", "an assistant\n"}, ScriptedReply{"at\n", "\n\n"},
          ScriptedReply{"a\n\n\n", "x\n\n\n\n"}}) {
        auto tiny = make_scripted_model(script, {});
        ASSERT_TRUE(tiny) << tiny.error().message;
        expect_chain_runs(*tiny, script);
    }
    // Whatever carries the final newline of these would be a token the prompt's own
    // "assistant\n" could end in, so they cannot be scripted.
    for (const char* reply : {"\n", "t\n", "assistant\n"}) {
        auto impossible = make_scripted_model({"ok", reply}, {});
        ASSERT_FALSE(impossible) << reply;
        EXPECT_THAT(impossible.error().message,
                    HasSubstr("the reply ends in a newline that no unused piece"));
    }
}

// `count` distinct CJK characters: every one needs a chain token of its own.
std::string distinct_characters(int count)
{
    std::string out;
    for (int i = 0; i < count; ++i) {
        const auto cp = static_cast<uint32_t>(0x4E00 + i);
        out += static_cast<char>(0xE0 | (cp >> 12U));
        out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80 | (cp & 0x3FU));
    }
    return out;
}

TEST(TinyModel, LongerTextWidensTheModelKeepingHeadDimAMultipleOf32)
{
    const ScriptedReply script{"Thinking hard.", distinct_characters(200)};
    auto tiny = make_scripted_model(script, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    EXPECT_GT(tiny->chain.size(), 200U);
    EXPECT_EQ(tiny->n_embd, 256U);
    EXPECT_EQ(tiny->model.find("llama.embedding_length")->as_uint(), 256U);
    EXPECT_EQ(tiny->model.find("llama.rope.dimension_count")->as_uint(), 64U);
    EXPECT_EQ(find_tensor(tiny->model, "blk.0.attn_k.weight")->shape,
              (std::vector<uint64_t>{256, 128}));
    expect_chain_runs(*tiny, script);
}

TEST(TinyModel, TooLongTextIsAClearError)
{
    auto tiny = make_scripted_model({"ok", distinct_characters(600)}, {});
    ASSERT_FALSE(tiny);
    EXPECT_THAT(tiny.error().message,
                HasSubstr("needs 605 distinct chain tokens but a tiny model holds at most 511"));
    EXPECT_THAT(tiny.error().message, HasSubstr("one-string grammar"));
    // The limit is 511 chain tokens: 3 structural ones plus the text's pieces.
    EXPECT_TRUE(make_scripted_model({"", distinct_characters(508)}, {}));
    EXPECT_FALSE(make_scripted_model({"", distinct_characters(509)}, {}));
}

TEST(TinyModel, RepetitiveTextThatRunsOutOfPiecesIsAClearError)
{
    auto tiny = make_scripted_model({"ok", std::string(400, 'a')}, {});
    ASSERT_FALSE(tiny);
    EXPECT_THAT(tiny.error().message, HasSubstr("the reply needs more distinct tokens"));
}

TEST(TinyModel, InvalidUtf8IsRejected)
{
    auto tiny = make_scripted_model({"fine", "bad \xC3\x28 byte"}, {});
    ASSERT_FALSE(tiny);
    EXPECT_EQ(tiny.error().message, "the reply is not valid UTF-8 (at byte 4)");
}

TEST(TinyModel, EmptyTextsGiveTheShortestChain)
{
    auto tiny = make_scripted_model({"", ""}, {});
    ASSERT_TRUE(tiny);
    EXPECT_EQ(tiny->chain.size(), 3U);
    expect_chain_runs(*tiny, ScriptedReply{"", ""});
}

TEST(TinyModel, SameSeedSameBytesOtherSeedOtherBytes)
{
    auto a = write_gguf(make_scripted_model({}, {32768, 7})->model);
    auto b = write_gguf(make_scripted_model({}, {32768, 7})->model);
    auto c = write_gguf(make_scripted_model({}, {32768, 8})->model);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, *b);
    EXPECT_NE(*a, *c);
}

TEST(TinyModel, ContextLengthIsConfigurable)
{
    auto tiny = make_random_model({512, 1});
    ASSERT_TRUE(tiny);
    EXPECT_EQ(tiny->model.find("llama.context_length")->as_uint(), 512U);
    EXPECT_FALSE(make_random_model({0, 1}));
}

TEST(TinyModel, MtpModelIsAQwen35HybridWithOneNextnBlock)
{
    const ScriptedReply script{"I think, so I am; I think.", "The answer is 42.\nThe end."};
    auto tiny = make_mtp_model(script, {});
    ASSERT_TRUE(tiny) << tiny.error().message;
    const GgufModel& m = tiny->model;
    EXPECT_EQ(*m.find("general.architecture")->as_string(), "qwen35");
    EXPECT_EQ(m.find("qwen35.block_count")->as_uint(), 3U);
    EXPECT_EQ(m.find("qwen35.nextn_predict_layers")->as_uint(), 1U);
    EXPECT_EQ(m.find("qwen35.full_attention_interval")->as_uint(), 2U);
    EXPECT_EQ(m.find("qwen35.rope.dimension_sections")->as_array()->items.size(), 4U);
    ASSERT_NE(find_tensor(m, "blk.0.ssm_conv1d.weight"), nullptr); // recurrent layer
    EXPECT_EQ(find_tensor(m, "blk.0.attn_k.weight"), nullptr);
    EXPECT_EQ(find_tensor(m, "blk.1.attn_q.weight")->shape, (std::vector<uint64_t>{128, 256}));
    const TensorData* eh = find_tensor(m, "blk.2.nextn.eh_proj.weight");
    ASSERT_NE(eh, nullptr);
    EXPECT_EQ(eh->shape, (std::vector<uint64_t>{256, 128}));
    // [I | 0]: output j reads input j (the token embedding half), nothing else.
    const auto w = floats(*eh);
    for (size_t row = 0; row < 128; ++row) {
        for (size_t col = 0; col < 256; ++col) {
            ASSERT_EQ(w[row * 256 + col], row == col ? 1.0F : 0.0F) << row << "," << col;
        }
    }
    for (float x : floats(*find_tensor(m, "blk.0.ssm_out.weight"))) {
        ASSERT_EQ(x, 0.0F);
    }
    expect_chain_runs(*tiny, script);
}

TEST(TinyModel, RandomModelHasRandomWeightsAndNoScript)
{
    auto tiny = make_random_model({});
    ASSERT_TRUE(tiny);
    EXPECT_TRUE(tiny->chain.empty());
    EXPECT_EQ(tiny->model.find("gpumod.tiny_model.reply"), nullptr);
    EXPECT_EQ(*tiny->model.find("gpumod.tiny_model.kind")->as_string(), "random");
    const auto down = floats(*find_tensor(tiny->model, "blk.0.ffn_down.weight"));
    EXPECT_TRUE(std::any_of(down.begin(), down.end(), [](float x) { return x != 0.0F; }));
    for (float x : down) {
        ASSERT_LE(std::abs(x), 0.02F * 1.7321F);
    }
}

TEST(TinyModel, EveryKindRoundTripsThroughTheReader)
{
    for (const auto& tiny :
         {make_scripted_model({}, {}), make_mtp_model({}, {}), make_random_model({})}) {
        ASSERT_TRUE(tiny);
        auto bytes = write_gguf(tiny->model);
        ASSERT_TRUE(bytes) << bytes.error().message;
        auto header = read_gguf(*bytes);
        ASSERT_TRUE(header) << header.error().message;
        EXPECT_EQ(header->metadata, tiny->model.metadata);
        EXPECT_EQ(header->tensors.size(), tiny->model.tensors.size());
    }
}

TEST(TinyModel, OneStringGrammarEscapes)
{
    EXPECT_EQ(one_string_grammar("plain"), "root ::= \"plain\"\n");
    EXPECT_EQ(one_string_grammar("a\"b\\c\nd\te\rf"), "root ::= \"a\\\"b\\\\c\\nd\\te\\rf\"\n");
    EXPECT_EQ(one_string_grammar(std::string("\x01\x1f\x7f", 3)), "root ::= \"\\x01\\x1F\\x7F\"\n");
    EXPECT_EQ(one_string_grammar(std::string("nul\0end", 7)), "root ::= \"nul\\x00end\"\n");
    EXPECT_EQ(one_string_grammar("ünï 🎉 [x]"), "root ::= \"ünï 🎉 [x]\"\n");
    EXPECT_EQ(one_string_grammar(""), "root ::= \"\"\n");
}

TEST(TinyModel, DecodeTokensChecksIds)
{
    auto tiny = make_random_model({});
    ASSERT_TRUE(tiny);
    const std::vector<uint32_t> bad = {tiny->vocab_size};
    EXPECT_FALSE(decode_tokens(tiny->model, bad));
    const std::vector<uint32_t> ids = {
        token_id(tiny->model, "Hello"), token_id(tiny->model, "\u2581world"),
        token_id(tiny->model, "<0x21>"), token_id(tiny->model, "<|im_end|>")};
    EXPECT_EQ(decode_tokens(tiny->model, ids), "Hello world!");
}

} // namespace
} // namespace gpumod::gguf
