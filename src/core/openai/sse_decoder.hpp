#pragma once

// Incremental decoder for Server-Sent Events (the WHATWG "text/event-stream" format), as
// llama-server and vLLM use for streamed completions. HTTP clients hand the body over in
// arbitrary byte fragments, so the decoder keeps partial lines between calls. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::openai {

/// One dispatched event.
struct SseEvent
{
    std::string event; ///< the `event:` field; empty when the event had none (SSE's "message")
    std::string data;  ///< the `data:` lines, joined with "\n"
    std::string id;    ///< the last `id:` seen on the stream so far (it persists across events)
    bool done = false; ///< data is exactly "[DONE]", the OpenAI end-of-stream marker

    bool operator==(const SseEvent&) const = default;
};

/// Splits a byte stream into SSE events. Lines may end in CRLF, LF or CR (also when a CRLF
/// pair is split across two fragments); `:` lines are comments; unknown fields are ignored;
/// a leading UTF-8 BOM is skipped. One decoder per stream; not thread-safe.
class SseDecoder
{
  public:
    /// Consumes `bytes` and returns the events they complete, in order (often none).
    std::vector<SseEvent> feed(std::string_view bytes);

    /// Consumes bytes from the front of `bytes` up to the end of the next complete event and
    /// returns that event, or nullptr once `bytes` is used up without completing one. Call it
    /// until nullptr to consume a fragment (same events as feed()). The event is the decoder's
    /// and valid until the next call; its buffers are reused, so a stream costs no allocation
    /// per event.
    const SseEvent* next(std::string_view& bytes);

    /// True when bytes of an unfinished line or event are held: at end of stream this means
    /// the stream was cut mid-event (the spec discards such an event, and so do we).
    [[nodiscard]] bool has_pending() const;

    /// The last `retry:` value in milliseconds, if the stream sent one.
    [[nodiscard]] std::optional<std::uint64_t> retry_ms() const { return m_retry_ms; }

  private:
    /// Applies one line; true when it was the blank line that dispatched an event into m_out.
    bool process_line(std::string_view line);

    SseEvent m_out;                ///< the event next() returned last
    std::string m_line;            ///< bytes of the current, unterminated line
    std::string m_data;            ///< data buffer: each data line plus "\n"
    std::string m_event;           ///< event type buffer
    std::string m_last_id;         ///< last event id buffer
    bool m_after_cr = false;       ///< the last byte was CR, so a following LF is part of it
    std::size_t m_bom_matched = 0; ///< BOM bytes matched so far at the start of the stream
    bool m_started = false;        ///< past the optional BOM
    std::optional<std::uint64_t> m_retry_ms;
};

} // namespace gpumod::openai
