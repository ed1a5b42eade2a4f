// `gpumod dev smoke`: the whole foundation in one command. A generated model, the real
// llama-server as a supervised child, a chat through gpumod's client, a clean stop.

#include <stdlib.h>

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/http/openai_client.hpp"
#include "adapters/llama/llama_server_locator.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/sqlite/database.hpp"
#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "app/llama_launch.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"

namespace gpumod::app {
namespace {

Result<std::filesystem::path> make_work_dir(const SmokeOptions& options)
{
    if (options.work_dir) {
        std::error_code ec;
        std::filesystem::create_directories(*options.work_dir, ec);
        if (ec) {
            return fail(fmt::format("cannot create --work-dir '{}': {}",
                                    options.work_dir->string(), ec.message()));
        }
        return *options.work_dir;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "gpumod-smoke-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        return fail(fmt::format("cannot create a temporary directory under {}",
                                std::filesystem::temp_directory_path().string()));
    }
    return std::filesystem::path(tmpl);
}

Result<std::filesystem::path> write_scripted_model(const std::filesystem::path& dir)
{
    auto tiny = gguf::make_scripted_model(gguf::ScriptedReply{}, gguf::TinyModelOptions{});
    if (!tiny) {
        return tl::unexpected(tiny.error());
    }
    auto bytes = gguf::write_gguf(tiny->model);
    if (!bytes) {
        return tl::unexpected(bytes.error());
    }
    const auto path = dir / "tiny-scripted.gguf";
    if (auto written = posix::write_file_atomically(path, *bytes, posix::ExistingFile::replace);
        !written) {
        return tl::unexpected(written.error());
    }
    return path;
}

double ms(std::chrono::microseconds us)
{
    return static_cast<double>(us.count()) / 1000.0;
}

nlohmann::json timings_json(const openai::Timings& t)
{
    nlohmann::json j{{"cache_n", t.cache_n},         {"prompt_n", t.prompt_n},
                     {"prompt_ms", t.prompt_ms},     {"predicted_n", t.predicted_n},
                     {"predicted_ms", t.predicted_ms}};
    if (t.predicted_per_second) {
        j["predicted_per_second"] = *t.predicted_per_second;
    }
    if (t.draft_n) {
        j["draft_n"] = *t.draft_n;
        j["draft_n_accepted"] = t.draft_n_accepted.value_or(0);
    }
    return j;
}

} // namespace

int cmd_smoke(const GlobalOptions& global, const SmokeOptions& options, std::ostream& out,
              std::ostream& err)
{
    auto report_error = [&](const Error& e, int code) {
        err << "gpumod dev smoke: " << e.message << '\n';
        return code;
    };

    auto found = llama::find_llama_server(llama::llama_server_search_from_environment());
    if (!found) {
        return report_error(found.error(), k_exit_environment);
    }
    const auto server_path = found->first;
    auto version = llama::query_llama_server_version(server_path);
    if (!version) {
        return report_error(version.error().with_context("while asking llama-server its version"),
                            k_exit_environment);
    }

    auto dir = make_work_dir(options);
    if (!dir) {
        return report_error(dir.error(), k_exit_environment);
    }
    std::filesystem::path model_path;
    if (options.model) {
        model_path = *options.model;
    } else {
        auto written = write_scripted_model(*dir);
        if (!written) {
            return report_error(written.error().with_context("while writing the tiny model"),
                                k_exit_failure);
        }
        model_path = *written;
    }

    LlamaLaunchSpec spec;
    spec.server = server_path;
    spec.model = model_path;
    spec.extra_args = {"-np", "1", "-c", "4096", "-t", "2"};
    spec.log_path = *dir / "llama-server.log";
    spec.startup_timeout = std::chrono::seconds(options.startup_timeout_s);
    if (!global.json) {
        err << fmt::format("starting {} ({}) on {} ...\n", server_path.string(),
                           version->version_line, model_path.filename().string());
    }
    auto server = start_llama_server(spec);
    if (!server) {
        return report_error(server.error(), k_exit_failure);
    }

    openai::ChatRequest request;
    request.messages.push_back({"user", options.prompt, std::nullopt});
    request.max_tokens = 256;
    auto exchange = http::chat_streaming(server->client(), request);
    const int pgid = server->pid();
    const auto stop_status = server->stop();
    const bool group_gone = !posix::process_group_alive(pgid);
    if (!exchange) {
        return report_error(exchange.error(), k_exit_failure);
    }
    const auto& reply = exchange->completion;

    // A record of what ran, so `status` and later reports can show the last smoke test.
    nlohmann::json record{
        {"server", {{"path", server_path.string()},
                    {"version", version->version_line},
                    {"argv", server->argv()},
                    {"port", server->port()},
                    {"pid", pgid},
                    {"startup_ms", server->startup_time().count()}}},
        {"model", model_path.string()},
        {"prompt", options.prompt},
        {"reply", {{"content", reply.content},
                   {"reasoning_content", reply.reasoning_content.value_or("")},
                   {"finish_reason", reply.finish_reason}}},
        {"client", {{"total_ms", ms(exchange->total_time)},
                    {"time_to_first_token_ms",
                     exchange->time_to_first_token ? ms(*exchange->time_to_first_token) : -1.0},
                    {"chunks", exchange->chunks}}},
        {"stopped", {{"how", stop_status.describe()}, {"process_group_gone", group_gone}}},
        {"log", spec.log_path.string()}};
    if (reply.timings) {
        record["timings"] = timings_json(*reply.timings);
    }

    std::string db_note;
    auto db_path = resolve_database_path(global.db_path, posix::path_environment());
    if (db_path) {
        auto db = sqlite::Database::open(db_path->path);
        if (db) {
            auto recorded = db->record_event(posix::unix_now_ms(), "dev.smoke", record.dump());
            db_note = recorded ? fmt::format("recorded in {}", db_path->path.string())
                               : recorded.error().message;
        } else {
            db_note = db.error().message;
        }
    } else {
        db_note = db_path.error().message;
    }
    record["database"] = db_note;

    // A temporary directory is ours to clean up once the run succeeded; on failure it stays,
    // with the server log, for the user to read.
    std::string files_note = dir->string();
    if (!options.work_dir && group_gone) {
        std::error_code ec;
        std::filesystem::remove_all(*dir, ec);
        files_note = ec ? fmt::format("{} (could not remove: {})", dir->string(), ec.message())
                        : "removed (pass --work-dir DIR to keep the model and server log)";
    }
    record["files"] = files_note;

    if (global.json) {
        out << record.dump(2) << '\n';
    } else {
        out << fmt::format("llama-server   {} (pid {}, port {}, healthy after {} ms)\n",
                           version->version_line, pgid, server->port(),
                           server->startup_time().count());
        out << fmt::format("prompt         {}\n", options.prompt);
        out << fmt::format("reasoning      {}\n", reply.reasoning_content.value_or("(none)"));
        out << fmt::format("reply          {}\n", reply.content);
        out << fmt::format("finish         {}\n", reply.finish_reason);
        if (reply.timings) {
            out << fmt::format("server timing  prompt {} tokens in {:.2f} ms, generated {} tokens "
                               "in {:.2f} ms\n",
                               reply.timings->prompt_n, reply.timings->prompt_ms,
                               reply.timings->predicted_n, reply.timings->predicted_ms);
        }
        if (exchange->time_to_first_token) {
            out << fmt::format("client timing  first token after {:.2f} ms, whole reply {:.2f} ms\n",
                               ms(*exchange->time_to_first_token), ms(exchange->total_time));
        }
        out << fmt::format("stopped        {}; process group {}\n", stop_status.describe(),
                           group_gone ? "gone" : "STILL ALIVE");
        out << fmt::format("files          {}\n", files_note);
        out << fmt::format("database       {}\n", db_note);
    }
    return group_gone ? k_exit_ok : k_exit_failure;
}

} // namespace gpumod::app
