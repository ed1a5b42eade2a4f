#include "core/openai/sse_decoder.hpp"

#include <array>
#include <charconv>

namespace gpumod::openai {
namespace {

constexpr std::array<char, 3> k_bom = {'\xEF', '\xBB', '\xBF'};
constexpr std::string_view k_done_marker = "[DONE]";

} // namespace

std::vector<SseEvent> SseDecoder::feed(std::string_view bytes)
{
    std::vector<SseEvent> events;

    // The BOM may itself arrive split across fragments; bytes that turn out not to be a BOM
    // are replayed as ordinary input.
    std::string replay;
    while (!m_started && !bytes.empty()) {
        if (bytes.front() == k_bom[m_bom_matched]) {
            bytes.remove_prefix(1);
            if (++m_bom_matched == k_bom.size()) {
                m_started = true;
            }
        } else {
            m_started = true;
            replay.assign(k_bom.data(), m_bom_matched);
        }
    }

    auto consume = [&](std::string_view input) {
        while (!input.empty()) {
            if (m_after_cr && input.front() == '\n') {
                input.remove_prefix(1); // second half of a CRLF split across fragments
            }
            m_after_cr = false;
            const auto end = input.find_first_of("\r\n");
            if (end == std::string_view::npos) {
                m_line.append(input);
                return;
            }
            m_line.append(input.substr(0, end));
            m_after_cr = input[end] == '\r';
            input.remove_prefix(end + 1);
            process_line(m_line, events);
            m_line.clear();
        }
    };
    consume(replay);
    consume(bytes);
    return events;
}

bool SseDecoder::has_pending() const
{
    return !m_line.empty() || !m_data.empty() || !m_event.empty() ||
           (!m_started && m_bom_matched > 0);
}

void SseDecoder::process_line(std::string_view line, std::vector<SseEvent>& out)
{
    if (line.empty()) {
        // Blank line: dispatch. An event without data lines is dropped, as the spec says.
        if (!m_data.empty()) {
            m_data.pop_back(); // the "\n" after the last data line
            SseEvent event;
            event.done = m_data == k_done_marker;
            event.data = std::move(m_data);
            event.event = std::move(m_event);
            event.id = m_last_id;
            out.push_back(std::move(event));
        }
        m_data.clear();
        m_event.clear();
        return;
    }
    if (line.front() == ':') {
        return; // comment, used as keep-alive by some servers
    }

    std::string_view field = line;
    std::string_view value;
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
    }

    if (field == "data") {
        m_data.append(value);
        m_data.push_back('\n');
    } else if (field == "event") {
        m_event.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) {
            m_last_id.assign(value);
        }
    } else if (field == "retry") {
        std::uint64_t ms = 0;
        const auto* first = value.data();
        const auto* last = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(first, last, ms);
        if (!value.empty() && ec == std::errc() && ptr == last) {
            m_retry_ms = ms;
        }
    }
}

} // namespace gpumod::openai
