#include "app/plan_oracle.hpp"

#include <chrono>

#include <fmt/format.h>

#include "adapters/llama/llama_fit_params.hpp"
#include "adapters/llama/llama_server_locator.hpp"
#include "core/config/render_argv.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::app {
namespace {

using nlohmann::json;

constexpr auto k_run_timeout = std::chrono::seconds(60);
constexpr auto k_version_timeout = std::chrono::seconds(10);
constexpr double k_mib = 1024.0 * 1024.0;

std::string describe_failure(const posix::CommandOutput& run, std::chrono::seconds timeout)
{
    if (run.timed_out) {
        return fmt::format("it did not finish within {} s", timeout.count());
    }
    return fmt::format("it {}: {}", run.status.describe(),
                       plan::summarize_fit_params_failure(run.err));
}

std::string mib_text(uint64_t bytes)
{
    return fmt::format("{:.1f}", static_cast<double>(bytes) / k_mib);
}

std::string difference_text(uint64_t ours_bytes, uint64_t oracle_mib)
{
    return fmt::format("{:+.1f}",
                       static_cast<double>(ours_bytes) / k_mib - static_cast<double>(oracle_mib));
}

std::string ngl_text(int64_t ngl, uint32_t n_layer)
{
    const bool all = ngl < 0 || (n_layer > 0 && ngl == static_cast<int64_t>(n_layer) + 1);
    return fmt::format("{}{}", ngl, all ? " (all)" : "");
}

std::string our_fit_args(const plan::ResolvedConfig& c, uint32_t n_layer)
{
    return fmt::format("-c {} -ngl {}{}", c.n_ctx, ngl_text(c.n_gpu_layers, n_layer),
                       c.n_cpu_moe > 0 ? fmt::format(" --n-cpu-moe {}", c.n_cpu_moe) : "");
}

json nullable(const std::string& s)
{
    return s.empty() ? json(nullptr) : json(s);
}

} // namespace

OracleReport ask_fit_params_oracle(const plan::OracleQuery& query)
{
    OracleReport report;
    const auto invocation = plan::fit_params_invocation(query);
    report.not_passed = invocation.not_passed;
    auto found = llama::find_llama_fit_params(llama::fit_params_search_from_environment());
    if (!found) {
        report.error = found.error().message;
        return report;
    }
    report.available = true;
    report.path = found->path.string();
    report.found_by = found->found_by;
    // It prints llama-server's version lines; cheap (it loads nothing), and worth recording.
    if (auto version = llama::query_llama_server_version(found->path, k_version_timeout)) {
        report.version = version->version_line.substr(version->version_line.find(':') + 1);
        report.version.erase(0, report.version.find_first_not_of(' '));
    }

    report.estimate_argv = {report.path};
    report.estimate_argv.insert(report.estimate_argv.end(), invocation.estimate_args.begin(),
                                invocation.estimate_args.end());
    if (auto run =
            llama::run_llama_fit_params(found->path, invocation.estimate_args, k_run_timeout);
        !run) {
        report.estimate_error = run.error().message;
    } else if (run->timed_out || !run->status.success()) {
        report.estimate_error = describe_failure(*run, k_run_timeout);
    } else if (auto parsed = plan::parse_fit_params_estimate(run->out); !parsed) {
        report.estimate_error = parsed.error().message;
    } else {
        report.estimate = std::move(*parsed);
    }

    if (invocation.fit_args.empty()) {
        return report;
    }
    report.fit_argv = {report.path};
    report.fit_argv.insert(report.fit_argv.end(), invocation.fit_args.begin(),
                           invocation.fit_args.end());
    if (auto run = llama::run_llama_fit_params(found->path, invocation.fit_args, k_run_timeout);
        !run) {
        report.fit_error = run.error().message;
    } else if (run->timed_out || !run->status.success()) {
        // Exit 1 with "failed to fit" is an answer: nothing it may change fits.
        report.cannot_fit = !run->timed_out && run->status.exited && run->status.code == 1 &&
                            run->err.find("failed to fit") != std::string::npos;
        report.fit_error = describe_failure(*run, k_run_timeout);
    } else if (auto parsed = plan::parse_fit_params_answer(run->out); !parsed) {
        report.fit_error = parsed.error().message;
    } else {
        report.fitted = std::move(*parsed);
    }
    return report;
}

json oracle_json(const OracleReport& report, const OurSide& ours)
{
    json j{{"available", report.available},       {"error", nullable(report.error)},
           {"path", nullable(report.path)},       {"found_by", nullable(report.found_by)},
           {"version", nullable(report.version)}, {"not_passed", report.not_passed}};
    if (!report.available) {
        j["estimate"] = nullptr;
        j["fit"] = nullptr;
        return j;
    }
    json devices = json::array();
    if (report.estimate && ours.plan != nullptr) {
        for (const auto& row :
             plan::compare_oracle_estimate(*report.estimate, *ours.plan, ours.projector_bytes)) {
            json d;
            d["device"] = row.oracle ? json(row.oracle->device) : json(nullptr);
            d["model_mib"] = row.oracle ? json(row.oracle->model_mib) : json(nullptr);
            d["context_mib"] = row.oracle ? json(row.oracle->context_mib) : json(nullptr);
            d["compute_mib"] = row.oracle ? json(row.oracle->compute_mib) : json(nullptr);
            d["ours"] = row.ours ? json{{"device", row.ours->device},
                                        {"weights", row.ours->weights},
                                        {"context", row.ours->context},
                                        {"compute", row.ours->compute}}
                                 : json(nullptr);
            devices.push_back(std::move(d));
        }
    }
    j["estimate"] = {{"argv", report.estimate_argv},
                     {"devices", report.estimate ? devices : json(nullptr)},
                     {"error", nullable(report.estimate_error)}};
    if (report.fit_argv.empty()) {
        j["fit"] = nullptr;
        return j;
    }
    json fit{{"argv", report.fit_argv},
             {"fitted", report.fitted.has_value()},
             {"cannot_fit", report.cannot_fit},
             {"error", nullable(report.fit_error)}};
    if (report.fitted) {
        const auto& f = *report.fitted;
        json overrides = json::array();
        for (const auto& o : f.overrides) {
            overrides.push_back({{"pattern", o.pattern}, {"buffer_type", o.buffer_type}});
        }
        fit["args"] = f.line;
        fit["n_ctx"] = f.n_ctx;
        fit["n_gpu_layers"] = f.n_gpu_layers;
        fit["tensor_split"] = f.tensor_split;
        fit["overrides"] = std::move(overrides);
    }
    fit["ours"] = ours.fit ? json{{"n_ctx", ours.fit->n_ctx},
                                  {"n_gpu_layers", ours.fit->n_gpu_layers},
                                  {"n_cpu_moe", ours.fit->n_cpu_moe}}
                           : json(nullptr);
    j["fit"] = std::move(fit);
    return j;
}

void render_oracle(std::ostream& out, const OracleReport& report, const OurSide& ours)
{
    if (!report.available) {
        out << "\noracle (llama-fit-params): not available: " << report.error << "\n";
        return;
    }
    out << fmt::format("\noracle (llama-fit-params{}): {} ({})\n",
                       report.version.empty() ? "" : " " + report.version, report.path,
                       report.found_by);
    out << "  asked: " << config::format_command_line(report.estimate_argv) << "\n";
    if (!report.estimate) {
        out << "  its estimate failed: " << report.estimate_error << "\n";
    } else if (ours.plan != nullptr) {
        // Three rows per device (its model/context/compute beside our weights/KV + recurrent/
        // compute), then the sums over devices, which compare even where the split differs.
        struct Side
        {
            std::optional<uint64_t> oracle_mib[3];
            std::optional<uint64_t> ours_bytes[3];
        };
        std::vector<std::pair<std::string, Side>> groups;
        Side total;
        bool gpu_missing = false;
        for (const auto& row :
             plan::compare_oracle_estimate(*report.estimate, *ours.plan, ours.projector_bytes)) {
            gpu_missing = gpu_missing || !row.oracle;
            Side side;
            if (row.oracle) {
                side.oracle_mib[0] = row.oracle->model_mib;
                side.oracle_mib[1] = row.oracle->context_mib;
                side.oracle_mib[2] = row.oracle->compute_mib;
            }
            if (row.ours) {
                side.ours_bytes[0] = row.ours->weights;
                side.ours_bytes[1] = row.ours->context;
                side.ours_bytes[2] = row.ours->compute;
            }
            for (int k = 0; k < 3; ++k) {
                total.oracle_mib[k] =
                    total.oracle_mib[k].value_or(0) + side.oracle_mib[k].value_or(0);
                total.ours_bytes[k] =
                    total.ours_bytes[k].value_or(0) + side.ours_bytes[k].value_or(0);
            }
            groups.emplace_back(fmt::format("{} / {}", row.oracle ? row.oracle->device : "-",
                                            row.ours ? row.ours->device : "-"),
                                side);
        }
        if (groups.size() > 1) {
            groups.emplace_back("all devices", total);
        }
        TextTable table;
        table.add_column("device (oracle / ours)");
        table.add_column("component (oracle / ours)");
        table.add_column("oracle MiB", Align::right);
        table.add_column("ours MiB", Align::right);
        table.add_column("ours - oracle", Align::right);
        static const char* const k_components[3] = {"model / weights", "context / KV + recurrent",
                                                    "compute / compute buffer"};
        for (const auto& [device, side] : groups) {
            for (int k = 0; k < 3; ++k) {
                const auto& o = side.oracle_mib[k];
                const auto& b = side.ours_bytes[k];
                table.add_row({k == 0 ? device : "", k_components[k], o ? std::to_string(*o) : "-",
                               b ? mib_text(*b) : "-", o && b ? difference_text(*b, *o) : ""});
            }
        }
        out << table.render();
        out << "  (the oracle rounds down to whole MiB, so ours reads up to 1 MiB above it where "
               "both agree;\n  neither side counts the runtime overhead and output buffer here)\n";
        if (gpu_missing) {
            out << "  the oracle sees no GPU where ours plans one: its ggml has no GPU backend for "
                   "this machine\n  (scripts/setup-llama-server provides only the CPU backends), "
                   "so its Host line holds what ours puts on the GPU\n";
        }
    }
    if (!report.fit_argv.empty()) {
        out << "  asked: " << config::format_command_line(report.fit_argv) << "\n";
        const std::string ours_text =
            ours.fit ? "; ours: " + our_fit_args(*ours.fit, ours.n_layer) : "";
        if (report.fitted) {
            std::string theirs = fmt::format("-c {} -ngl {}", report.fitted->n_ctx,
                                             ngl_text(report.fitted->n_gpu_layers, ours.n_layer));
            if (!report.fitted->tensor_split.empty()) {
                theirs += " -ts ";
                for (std::size_t i = 0; i < report.fitted->tensor_split.size(); ++i) {
                    theirs += (i > 0 ? "," : "") + std::to_string(report.fitted->tensor_split[i]);
                }
            }
            if (!report.fitted->overrides.empty()) {
                theirs +=
                    fmt::format(" and {} tensor override{} (-ot)", report.fitted->overrides.size(),
                                report.fitted->overrides.size() == 1 ? "" : "s");
            }
            out << "  its --fit answer: " << theirs << ours_text << "\n";
            for (const auto& o : report.fitted->overrides) {
                out << "    -ot " << o.pattern << "=" << o.buffer_type << "\n";
            }
        } else if (report.cannot_fit) {
            out << "  its --fit answer: nothing it may change fits the free memory" << ours_text
                << "\n";
        } else {
            out << "  its --fit run failed: " << report.fit_error << "\n";
        }
    }
    if (!report.not_passed.empty()) {
        out << "  not passed to it:\n";
        for (const auto& n : report.not_passed) {
            out << "    - " << n << "\n";
        }
    }
}

} // namespace gpumod::app
