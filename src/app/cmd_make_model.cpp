#include "app/commands.hpp"

#include "adapters/gguf/gguf_file.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "app/exit_codes.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <ostream>
#include <system_error>

namespace gpumod::app {

namespace {

std::string_view kind_name(TinyModelKind kind)
{
    switch (kind) {
    case TinyModelKind::scripted:
        return "scripted";
    case TinyModelKind::random:
        return "random";
    case TinyModelKind::mtp:
        return "mtp";
    }
    return "unknown";
}

Result<gguf::TinyModel> build(const MakeModelOptions& options)
{
    const gguf::TinyModelOptions settings{options.context_length, options.seed};
    const gguf::ScriptedReply script{options.reasoning, options.reply};
    switch (options.kind) {
    case TinyModelKind::scripted:
        return gguf::make_scripted_model(script, settings);
    case TinyModelKind::mtp:
        return gguf::make_mtp_model(script, settings);
    case TinyModelKind::random:
        return gguf::make_random_model(settings);
    }
    return fail("unknown model kind");
}

// Reads the written file back through the header reader and compares it with what was meant
// to be written, so a success message is only printed for a file that parses as intended.
Status verify_written(const std::filesystem::path& path, const gguf::GgufModel& model,
                      uint64_t size)
{
    auto header = gguf::read_gguf_file_header(path);
    if (!header) {
        return tl::unexpected(header.error());
    }
    if (header->file_size != size) {
        return fail(fmt::format("'{}' has {} bytes, {} were written", path.string(),
                                header->file_size, size));
    }
    if (header->metadata != model.metadata) {
        return fail(fmt::format("the metadata read back from '{}' differs from what was written",
                                path.string()));
    }
    if (header->tensors.size() != model.tensors.size()) {
        return fail(fmt::format("'{}' lists {} tensors, {} were written", path.string(),
                                header->tensors.size(), model.tensors.size()));
    }
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const auto& read = header->tensors[i];
        const auto& written = model.tensors[i];
        if (read.name != written.name || read.shape != written.shape || read.type != written.type ||
            read.byte_size != written.data.size()) {
            return fail(
                fmt::format("tensor #{} '{}' read back from '{}' differs from what was written", i,
                            written.name, path.string()));
        }
    }
    return {};
}

} // namespace

int cmd_make_model(const GlobalOptions& global, const MakeModelOptions& options, std::ostream& out,
                   std::ostream& err)
{
    const std::filesystem::path& path = options.output;
    std::error_code ec;
    if (!options.force && std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
        err << fmt::format("gpumod dev make-model: '{}' already exists\n"
                           "next step: pass --force to overwrite it, or choose another path\n",
                           path.string());
        return k_exit_usage;
    }

    MakeModelOptions resolved = options;
    if (options.reply_file) {
        std::ifstream in(*options.reply_file, std::ios::binary);
        if (!in) {
            err << fmt::format("gpumod dev make-model: cannot read --reply-file '{}'\n",
                               options.reply_file->string());
            return k_exit_usage;
        }
        std::ostringstream text;
        text << in.rdbuf();
        resolved.reply = text.str();
    }
    if (options.grammar_out && options.kind != TinyModelKind::random) {
        err << "gpumod dev make-model: --grammar-out goes with --kind random (scripted and mtp "
               "models reply by themselves)\n";
        return k_exit_usage;
    }
    auto model = build(resolved);
    if (!model) {
        err << fmt::format("gpumod dev make-model: {}\n"
                           "next step: pass a shorter or more varied --reasoning/--reply (UTF-8); "
                           "for long replies write a --kind random model and serve it with "
                           "llama-server --grammar-file\n",
                           model.error().message);
        return k_exit_usage;
    }
    auto bytes = gguf::write_gguf(model->model);
    if (!bytes) {
        err << "gpumod dev make-model: " << bytes.error().message << '\n';
        return k_exit_internal;
    }

    const auto existing =
        options.force ? posix::ExistingFile::replace : posix::ExistingFile::refuse;
    if (auto written = posix::write_file_atomically(path, *bytes, existing); !written) {
        err << fmt::format("gpumod dev make-model: {}\n"
                           "next step: check that the directory exists and is writable and that "
                           "the disk has room for {} bytes\n",
                           written.error().message, bytes->size());
        return k_exit_environment;
    }
    if (auto verified = verify_written(path, model->model, bytes->size()); !verified) {
        err << fmt::format("gpumod dev make-model: wrote '{}' but reading it back failed: {}\n"
                           "next step: this is a bug in gpumod's GGUF writer or reader; please "
                           "report it with the command line\n",
                           path.string(), verified.error().message);
        return k_exit_failure;
    }

    if (options.grammar_out) {
        const std::string grammar = gguf::one_string_grammar("<think>" + resolved.reasoning +
                                                             "</think>" + resolved.reply);
        const std::span<const uint8_t> grammar_bytes(
            reinterpret_cast<const uint8_t*>(grammar.data()), grammar.size());
        if (auto written = posix::write_file_atomically(*options.grammar_out, grammar_bytes,
                                                        existing);
            !written) {
            err << "gpumod dev make-model: " << written.error().message
                << "\nnext step: pass --force to overwrite the grammar, or another path\n";
            return k_exit_environment;
        }
    }

    const bool scripted = options.kind != TinyModelKind::random;
    if (global.json) {
        nlohmann::json j{{"path", path.string()},
                         {"kind", kind_name(options.kind)},
                         {"architecture", model->architecture},
                         {"bytes", bytes->size()},
                         {"tensors", model->model.tensors.size()},
                         {"vocab_size", model->vocab_size},
                         {"n_embd", model->n_embd},
                         {"context_length", options.context_length},
                         {"seed", options.seed}};
        if (scripted) {
            j["reasoning"] = resolved.reasoning;
            j["reply"] = resolved.reply;
            j["chain_tokens"] = model->chain.size();
        }
        if (options.grammar_out) {
            j["grammar"] = options.grammar_out->string();
        }
        out << j.dump(2) << '\n';
    } else {
        out << fmt::format("wrote {}: {} model ({}), {} bytes, {} tensors, vocab {}, context {}\n",
                           path.string(), kind_name(options.kind), model->architecture,
                           bytes->size(), model->model.tensors.size(), model->vocab_size,
                           options.context_length);
        if (options.grammar_out) {
            out << fmt::format("wrote {}: grammar for a {}-byte reply (llama-server --grammar-file)\n",
                               options.grammar_out->string(), resolved.reply.size());
        }
    }
    return k_exit_ok;
}

} // namespace gpumod::app
