#include "support/llama_fixture.hpp"

#include <fstream>

#include "adapters/posix/environment.hpp"
#include "core/gguf/tiny_model.hpp"
#include "support/run_gpumod.hpp"

namespace gpumod::testing {

std::optional<std::filesystem::path> llama_server_for_tests()
{
    auto env = posix::get_env("GPUMOD_LLAMA_SERVER");
    if (env && !env->empty() && std::filesystem::exists(*env)) {
        return std::filesystem::path(*env);
    }
    return std::nullopt;
}

Result<std::filesystem::path> make_model(const std::filesystem::path& dir, const std::string& name,
                                         const std::vector<std::string>& extra_args)
{
    const auto path = dir / name;
    std::vector<std::string> args{"dev", "make-model", path.string(), "--force"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto r = run_gpumod(args);
    if (r.exit_code != 0) {
        return fail("gpumod dev make-model failed (exit " + std::to_string(r.exit_code) +
                    "): " + r.err);
    }
    return path;
}

Result<app::RunningLlamaServer> start_server(const std::filesystem::path& dir,
                                             const std::filesystem::path& model,
                                             std::vector<std::string> args)
{
    auto server = llama_server_for_tests();
    if (!server) {
        return fail("no llama-server (GPUMOD_LLAMA_SERVER is unset)");
    }
    app::LlamaLaunchSpec spec;
    spec.server = *server;
    spec.model = model;
    spec.extra_args = {"-t", "1"};
    spec.extra_args.insert(spec.extra_args.end(), args.begin(), args.end());
    spec.log_path = dir / (model.stem().string() + ".server.log");
    spec.startup_timeout = std::chrono::seconds(120);
    return app::start_llama_server(spec);
}

Result<app::RunningLlamaServer> start_scripted_by_grammar(const std::filesystem::path& dir,
                                                          const std::string& reasoning,
                                                          const std::string& reply,
                                                          std::vector<std::string> args)
{
    auto model = make_model(dir, "random.gguf", {"--kind", "random"});
    if (!model) {
        return tl::unexpected(model.error());
    }
    const auto grammar_path = dir / "reply.gbnf";
    {
        std::ofstream grammar(grammar_path, std::ios::binary);
        grammar << gguf::one_string_grammar("<think>" + reasoning + "</think>" + reply);
        if (!grammar) {
            return fail("cannot write " + grammar_path.string());
        }
    }
    args.insert(args.begin(), {"--grammar-file", grammar_path.string(), "-np", "1"});
    return start_server(dir, *model, std::move(args));
}

} // namespace gpumod::testing
