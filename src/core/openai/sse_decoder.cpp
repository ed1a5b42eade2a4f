#include "core/openai/sse_decoder.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace gpumod::openai {
namespace {

constexpr std::array<char, 3> k_bom = {'\xEF', '\xBB', '\xBF'};
constexpr std::string_view k_done_marker = "[DONE]";

/// Index of the first CR or LF, or npos. memchr rather than find_first_of, which tests each
/// byte against the set one at a time: a chunk's line is a few hundred bytes.
std::size_t find_line_end(std::string_view bytes)
{
    const char* begin = bytes.data();
    const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', bytes.size()));
    const std::size_t lf_at = lf == nullptr ? bytes.size() : static_cast<std::size_t>(lf - begin);
    const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', lf_at));
    if (cr != nullptr) {
        return static_cast<std::size_t>(cr - begin);
    }
    return lf == nullptr ? std::string_view::npos : lf_at;
}

} // namespace

std::vector<SseEvent> SseDecoder::feed(std::string_view bytes)
{
    std::vector<SseEvent> events;
    while (const SseEvent* event = next(bytes)) {
        events.push_back(*event);
    }
    return events;
}

const SseEvent* SseDecoder::next(std::string_view& bytes)
{
    // The BOM may itself arrive split across fragments. Bytes that turn out not to be a BOM
    // start the first line: they can only be its first bytes (no CR or LF among them).
    while (!m_started && !bytes.empty()) {
        if (bytes.front() == k_bom[m_bom_matched]) {
            bytes.remove_prefix(1);
            if (++m_bom_matched == k_bom.size()) {
                m_started = true;
            }
        } else {
            m_started = true;
            m_line.assign(k_bom.data(), m_bom_matched);
        }
    }

    while (!bytes.empty()) {
        if (m_after_cr) {
            m_after_cr = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1); // second half of a CRLF split across fragments
                continue;
            }
        }
        const std::size_t end = find_line_end(bytes);
        if (end == std::string_view::npos) {
            m_line.append(bytes);
            bytes = {};
            break;
        }
        m_after_cr = bytes[end] == '\r';
        const std::string_view line = bytes.substr(0, end);
        bytes.remove_prefix(end + 1);
        bool dispatched = false;
        if (m_line.empty()) {
            dispatched = process_line(line); // the usual case: the whole line is in this fragment
        } else {
            m_line.append(line);
            dispatched = process_line(m_line);
            m_line.clear();
        }
        if (dispatched) {
            return &m_out;
        }
    }
    return nullptr;
}

bool SseDecoder::has_pending() const
{
    return !m_line.empty() || !m_data.empty() || !m_event.empty() ||
           (!m_started && m_bom_matched > 0);
}

bool SseDecoder::process_line(std::string_view line)
{
    if (line.empty()) {
        // Blank line: dispatch. An event without data lines is dropped, as the spec says.
        bool dispatched = false;
        if (!m_data.empty()) {
            m_data.pop_back(); // the "\n" after the last data line
            m_out.done = m_data == k_done_marker;
            // Swapped, not moved: the buffers go back and forth between the decoder and m_out,
            // so their capacity is reused by the next event.
            m_out.data.swap(m_data);
            m_out.event.swap(m_event);
            m_out.id.assign(m_last_id);
            dispatched = true;
        }
        m_data.clear();
        m_event.clear();
        return dispatched;
    }
    if (line.front() == ':') {
        return false; // comment, used as keep-alive by some servers
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
    return false;
}

} // namespace gpumod::openai
