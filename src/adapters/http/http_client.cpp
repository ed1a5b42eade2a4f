#include "adapters/http/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

namespace gpumod::http {
namespace {

constexpr std::string_view k_scheme = "http://";
constexpr int k_default_port = 80;
constexpr const char* k_json = "application/json";

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

struct ParsedUrl
{
    std::string host; ///< without IPv6 brackets, as the resolver wants it
    int port = k_default_port;
    std::string normalized;
};

Result<ParsedUrl> parse_base_url(const std::string& url)
{
    const auto bad = [&](std::string_view why) {
        return fail(fmt::format("invalid server URL '{}': {}", url, why));
    };
    const std::string scheme_end = "://";
    const auto scheme_length = url.find(scheme_end);
    if (scheme_length == std::string::npos) {
        return bad("expected http://HOST[:PORT], e.g. http://127.0.0.1:8080");
    }
    const std::string scheme = lower(std::string_view(url).substr(0, scheme_length));
    if (scheme == "https") {
        return bad(
            "https is not supported; gpumod talks plain http to local servers (use http://)");
    }
    if (scheme != "http") {
        return bad(fmt::format("unsupported scheme '{}', expected http://HOST[:PORT]", scheme));
    }

    std::string_view rest = std::string_view(url).substr(scheme_length + scheme_end.size());
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/") {
        return bad(
            fmt::format("a path, query or fragment ('{}') is not supported; give the server root, "
                        "gpumod adds /v1/... itself",
                        rest.substr(authority_end)));
    }
    if (authority.find('@') != std::string_view::npos) {
        return bad("user info ('user@') is not supported");
    }

    ParsedUrl parsed;
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return bad("unterminated '[' in IPv6 host");
        }
        parsed.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return bad("expected ':PORT' after ']'");
            }
            port_text = after.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = authority.find(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            has_port = true;
        }
    }
    if (parsed.host.empty()) {
        return bad("missing host");
    }
    if (has_port) {
        int port = 0;
        const auto* last = port_text.data() + port_text.size();
        const auto [ptr, ec] = std::from_chars(port_text.data(), last, port);
        if (port_text.empty() || ec != std::errc() || ptr != last || port < 1 || port > 65535) {
            return bad(fmt::format("port '{}' is not a number from 1 to 65535", port_text));
        }
        parsed.port = port;
    }
    const bool ipv6 = parsed.host.find(':') != std::string::npos;
    parsed.normalized = fmt::format("{}{}{}{}:{}", k_scheme, ipv6 ? "[" : "", lower(parsed.host),
                                    ipv6 ? "]" : "", parsed.port);
    return parsed;
}

/// Words for what went wrong; the httplib name is kept so a bug report can be matched to
/// httplib's code.
std::string describe(httplib::Error error, const Timeouts& timeouts)
{
    std::string what;
    switch (error) {
    case httplib::Error::Connection:
        what = "connection refused or host unreachable";
        break;
    case httplib::Error::ConnectionTimeout:
        what = fmt::format("connect timed out after {} ms", timeouts.connect.count());
        break;
    case httplib::Error::Read:
        // httplib reports a read timeout and a connection closed mid-response the same way.
        what = fmt::format("read failed: no data for {} ms or the connection was closed",
                           timeouts.read.count());
        break;
    case httplib::Error::Write:
        what = fmt::format(
            "sending the request failed (timed out after {} ms or the connection was closed)",
            timeouts.write.count());
        break;
    case httplib::Error::Canceled:
        what = "aborted by caller";
        break;
    default:
        what = "transport error";
        break;
    }
    return fmt::format("{} (httplib: {})", what, httplib::to_string(error));
}

std::map<std::string, std::string> lower_case_headers(const httplib::Headers& headers)
{
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : headers) {
        auto [it, inserted] = out.emplace(lower(name), value);
        if (!inserted) {
            // Repeated headers combine as a comma-separated list (RFC 9110 §5.3).
            it->second += ", " + value;
        }
    }
    return out;
}

} // namespace

struct HttpClient::Impl
{
    Impl(ParsedUrl url, Timeouts limits)
        : base_url(std::move(url.normalized)), timeouts(limits), client(url.host, url.port)
    {
        client.set_connection_timeout(timeouts.connect);
        client.set_read_timeout(timeouts.read);
        client.set_write_timeout(timeouts.write);
    }

    /// The Result of a call that ended without a response.
    tl::unexpected<Error> transport_error(std::string_view method, std::string_view path,
                                          httplib::Error error) const
    {
        return fail(fmt::format("{} {}{}: {}", method, base_url, path, describe(error, timeouts)));
    }

    std::string base_url;
    Timeouts timeouts;
    httplib::Client client;
};

Result<HttpClient> HttpClient::create(const std::string& base_url, Timeouts timeouts)
{
    auto url = parse_base_url(base_url);
    if (!url) {
        return tl::unexpected(url.error());
    }
    return HttpClient(std::make_unique<Impl>(std::move(*url), timeouts));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

const std::string& HttpClient::base_url() const
{
    return m_impl->base_url;
}

Result<Response> HttpClient::get(const std::string& path)
{
    const httplib::Result result = m_impl->client.Get(path);
    if (!result) {
        return m_impl->transport_error("GET", path, result.error());
    }
    return Response{result->status, result->body, lower_case_headers(result->headers)};
}

Result<Response> HttpClient::post_json(const std::string& path, const std::string& json_body)
{
    const httplib::Result result = m_impl->client.Post(path, json_body, k_json);
    if (!result) {
        return m_impl->transport_error("POST", path, result.error());
    }
    return Response{result->status, result->body, lower_case_headers(result->headers)};
}

Result<Response> HttpClient::post_json_streaming(const std::string& path,
                                                 const std::string& json_body,
                                                 const ChunkSink& sink)
{
    // cpp-httplib 0.11 has no Post overload with a content receiver; a hand-built Request
    // sent with send() gets one (the maintainer's workaround, yhirose/cpp-httplib#850).
    httplib::Request request;
    request.method = "POST";
    request.path = path;
    request.body = json_body;
    request.set_header("Content-Type", k_json);
    request.set_header("Accept", "text/event-stream");

    int status = 0;
    std::string error_body;
    request.response_handler = [&](const httplib::Response& response) {
        status = response.status;
        return true;
    };
    request.content_receiver = [&](const char* data, std::size_t length, std::uint64_t /*offset*/,
                                   std::uint64_t /*total*/) {
        const std::string_view chunk(data, length);
        if (status < 200 || status >= 300) {
            error_body.append(chunk);
        }
        return sink(chunk);
    };

    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    if (!m_impl->client.send(request, response, error)) {
        return m_impl->transport_error("POST", path, error);
    }
    return Response{response.status, std::move(error_body), lower_case_headers(response.headers)};
}

} // namespace gpumod::http
