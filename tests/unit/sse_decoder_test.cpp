#include "core/openai/sse_decoder.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace gpumod::openai {

/// Readable counterexamples from gtest and RapidCheck.
std::ostream& operator<<(std::ostream& out, const SseEvent& event)
{
    return out << "{event=" << ::testing::PrintToString(event.event)
               << " data=" << ::testing::PrintToString(event.data)
               << " id=" << ::testing::PrintToString(event.id) << " done=" << event.done << "}";
}

namespace {

std::vector<SseEvent> feed_all(SseDecoder& decoder, const std::vector<std::string>& fragments)
{
    std::vector<SseEvent> events;
    for (const std::string& fragment : fragments) {
        auto more = decoder.feed(fragment);
        std::move(more.begin(), more.end(), std::back_inserter(events));
    }
    return events;
}

/// The same through next(), which returns the decoder's own, reused event.
std::vector<SseEvent> next_all(SseDecoder& decoder, const std::vector<std::string>& fragments)
{
    std::vector<SseEvent> events;
    for (const std::string& fragment : fragments) {
        std::string_view rest = fragment;
        while (const SseEvent* event = decoder.next(rest)) {
            events.push_back(*event);
        }
        EXPECT_TRUE(rest.empty());
    }
    return events;
}

std::vector<SseEvent> decode(const std::vector<std::string>& fragments)
{
    SseDecoder decoder;
    return feed_all(decoder, fragments);
}

std::string read_fixture(const std::string& name)
{
    std::ifstream in(std::string(GPUMOD_FIXTURES_DIR) + "/llama-server/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(SseDecoder, DecodesTheRecordedLlamaServerStream)
{
    const std::string stream = read_fixture("chat-stream.txt");
    ASSERT_FALSE(stream.empty());
    SseDecoder decoder;
    const auto events = decoder.feed(stream);
    ASSERT_EQ(events.size(),
              11U); // 10 chunks (role, 4 reasoning, 3 content, finish, usage) + [DONE]
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        EXPECT_FALSE(events[i].done) << i;
        EXPECT_EQ(events[i].data.front(), '{') << i;
        EXPECT_EQ(events[i].event, "");
    }
    EXPECT_TRUE(events.back().done);
    EXPECT_EQ(events.back().data, "[DONE]");
    EXPECT_FALSE(decoder.has_pending());
}

TEST(SseDecoder, JoinsDataLinesAndReadsEventAndIdFields)
{
    const auto events =
        decode({"event: update\nid: 7\ndata: first\ndata:second\ndata:  indented\n\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].event, "update");
    EXPECT_EQ(events[0].id, "7");
    EXPECT_EQ(events[0].data, "first\nsecond\n indented");
}

TEST(SseDecoder, IdPersistsAndEventTypeResetsBetweenEvents)
{
    const auto events = decode({"event: a\nid: 1\ndata: x\n\ndata: y\n\n"});
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[1].event, "");
    EXPECT_EQ(events[1].id, "1");
}

TEST(SseDecoder, IgnoresCommentsUnknownFieldsAndEventsWithoutData)
{
    const auto events = decode({": keep-alive\n\nevent: ping\n\nfoo: bar\ndata: real\n\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "real");
    EXPECT_EQ(events[0].event, "");
}

TEST(SseDecoder, FieldWithoutColonIsAnEmptyDataLine)
{
    const auto events = decode({"data\n\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "");
}

TEST(SseDecoder, AcceptsCrLfAndCrLineEndings)
{
    EXPECT_EQ(decode({"data: a\r\ndata: b\r\n\r\n"}).at(0).data, "a\nb");
    EXPECT_EQ(decode({"data: a\rdata: b\r\r"}).at(0).data, "a\nb");
}

TEST(SseDecoder, CrLfSplitAcrossFragmentsIsOneLineEnding)
{
    // Read as two endings, the LF would be a blank line and dispatch "a" alone.
    const auto events = decode({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "a\nb");
}

TEST(SseDecoder, EventsArriveAsSoonAsTheirBlankLineDoes)
{
    SseDecoder decoder;
    EXPECT_TRUE(decoder.feed("data: {\"a\"").empty());
    EXPECT_TRUE(decoder.has_pending());
    EXPECT_TRUE(decoder.feed(":1}\n").empty());
    const auto events = decoder.feed("\ndata: [DO");
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_TRUE(decoder.has_pending());
    const auto last = decoder.feed("NE]\n\n");
    ASSERT_EQ(last.size(), 1U);
    EXPECT_TRUE(last[0].done);
    EXPECT_FALSE(decoder.has_pending());
}

TEST(SseDecoder, UnterminatedEventIsHeldNotDispatched)
{
    SseDecoder decoder;
    EXPECT_TRUE(decoder.feed("data: cut\n").empty());
    EXPECT_TRUE(decoder.has_pending());
}

TEST(SseDecoder, DoneOnlyForExactMarker)
{
    EXPECT_FALSE(decode({"data: [DONE] \n\n"}).at(0).done);
    EXPECT_FALSE(decode({"data: [DONE]\ndata: x\n\n"}).at(0).done);
    EXPECT_TRUE(decode({"data:[DONE]\n\n"}).at(0).done);
}

TEST(SseDecoder, SkipsALeadingBomEvenWhenSplit)
{
    const auto events = decode({"\xEF", "\xBB",
                                "\xBF"
                                "data: x\n\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "x");
    // Only at the start: later the same bytes are data.
    EXPECT_EQ(decode({"data: \xEF\xBB\xBFy\n\n"}).at(0).data, "\xEF\xBB\xBFy");
}

TEST(SseDecoder, BytesThatStartLikeABomButAreNotOneBelongToTheFirstLine)
{
    SseDecoder decoder;
    EXPECT_TRUE(decoder.feed("\xEF\xBB").empty());
    EXPECT_TRUE(decoder.has_pending());
    // "\xEF\xBBx: 1" is an unknown field; the next event is unaffected.
    const auto events = feed_all(decoder, {"x: 1\n", "data: y\n\n"});
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].data, "y");
    EXPECT_FALSE(decoder.has_pending());
    // The same bytes glued to "data" make a field name of their own: no event.
    EXPECT_EQ(decode({"\xEF", "data: z\n\n"}).size(), 0U);
}

TEST(SseDecoder, NextReturnsOneEventAtATimeAndLeavesTheRest)
{
    SseDecoder decoder;
    std::string_view bytes = "data: a\n\n: comment\nevent: e\ndata: b\r\n\r\ndata: c";
    const SseEvent* first = decoder.next(bytes);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->data, "a");
    EXPECT_EQ(bytes, ": comment\nevent: e\ndata: b\r\n\r\ndata: c");
    const SseEvent* second = decoder.next(bytes);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->data, "b");
    EXPECT_EQ(second->event, "e");
    EXPECT_EQ(decoder.next(bytes), nullptr);
    EXPECT_TRUE(bytes.empty());
    EXPECT_TRUE(decoder.has_pending());
    std::string_view end = "\n\n";
    const SseEvent* third = decoder.next(end);
    ASSERT_NE(third, nullptr);
    EXPECT_EQ(third->data, "c");
    EXPECT_EQ(third->event, ""); // the event type does not carry over
    EXPECT_FALSE(decoder.has_pending());
}

TEST(SseDecoder, ReadsRetryOnlyWhenAllDigits)
{
    SseDecoder decoder;
    decoder.feed("retry: 1500\n\n");
    EXPECT_EQ(decoder.retry_ms(), 1500U);
    decoder.feed("retry: 15x\n\nretry: -1\n\n");
    EXPECT_EQ(decoder.retry_ms(), 1500U);
}

// --- property: any split of a valid stream decodes to the same events as the whole ---

/// An event as a generator describes it, plus how to write it.
struct ModelEvent
{
    std::string event;
    std::vector<std::string> data_lines;
    std::optional<std::string> id;
    bool comment_before = false;
    bool compact = false; ///< "data:x" instead of "data: x"
};

std::string without(std::string text, std::string_view banned)
{
    std::erase_if(text, [&](char c) { return banned.find(c) != std::string_view::npos; });
    return text;
}

rc::Gen<std::string> field_value()
{
    return rc::gen::map(rc::gen::string<std::string>(),
                        [](std::string s) { return without(std::move(s), "\r\n"); });
}

rc::Gen<ModelEvent> model_event()
{
    return rc::gen::exec([] {
        ModelEvent e;
        e.event = *field_value();
        e.data_lines = *rc::gen::resize(
            4, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
                   rc::gen::oneOf(field_value(), rc::gen::just(std::string("[DONE]"))))));
        if (*rc::gen::arbitrary<bool>()) {
            e.id = without(*field_value(), std::string_view("\0", 1));
        }
        e.comment_before = *rc::gen::arbitrary<bool>();
        e.compact = *rc::gen::arbitrary<bool>();
        return e;
    });
}

std::string write_stream(const std::vector<ModelEvent>& events, const std::string& eol, bool bom)
{
    std::string out = bom ? "\xEF\xBB\xBF" : "";
    for (const ModelEvent& e : events) {
        if (e.comment_before) {
            out += ": comment" + eol;
        }
        if (!e.event.empty()) {
            out += "event: " + e.event + eol;
        }
        if (e.id) {
            out += "id: " + *e.id + eol;
        }
        for (const std::string& line : e.data_lines) {
            // "data:x" keeps a leading space of x only in the "data: " spelling.
            const bool compact = e.compact && (line.empty() || line.front() != ' ');
            out += (compact ? "data:" : "data: ") + line + eol;
        }
        out += eol;
    }
    return out;
}

std::vector<SseEvent> expected_events(const std::vector<ModelEvent>& events)
{
    std::vector<SseEvent> out;
    std::string last_id;
    for (const ModelEvent& e : events) {
        if (e.id) {
            last_id = *e.id;
        }
        SseEvent event;
        event.event = e.event;
        event.id = last_id;
        for (std::size_t i = 0; i < e.data_lines.size(); ++i) {
            event.data += (i == 0 ? "" : "\n") + e.data_lines[i];
        }
        event.done = event.data == "[DONE]";
        out.push_back(event);
    }
    return out;
}

RC_GTEST_PROP(SseDecoderProperty, AnySplitGivesTheSameEventsAsTheWholeStream, ())
{
    const auto model = *rc::gen::container<std::vector<ModelEvent>>(model_event());
    // One line-ending style per stream: a CR line followed by an empty LF line would read as
    // one CRLF, which is the format's own ambiguity, not the decoder's.
    const auto eol = *rc::gen::element(std::string("\n"), std::string("\r\n"), std::string("\r"));
    const bool bom = *rc::gen::arbitrary<bool>();
    const std::string stream = write_stream(model, eol, bom);

    auto cuts = *rc::gen::container<std::vector<std::size_t>>(
        rc::gen::inRange<std::size_t>(0, stream.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::string> fragments;
    std::size_t start = 0;
    for (std::size_t cut : cuts) {
        fragments.push_back(stream.substr(start, cut - start));
        start = cut;
    }
    fragments.push_back(stream.substr(start));

    RC_LOG() << "stream: " << ::testing::PrintToString(stream) << "\n";
    SseDecoder whole_decoder;
    const auto whole = whole_decoder.feed(stream);
    RC_ASSERT(whole == expected_events(model));
    RC_ASSERT(!whole_decoder.has_pending());

    SseDecoder split_decoder;
    RC_ASSERT(feed_all(split_decoder, fragments) == whole);
    RC_ASSERT(!split_decoder.has_pending());

    SseDecoder next_decoder;
    RC_ASSERT(next_all(next_decoder, fragments) == whole);
    RC_ASSERT(!next_decoder.has_pending());
}

} // namespace
} // namespace gpumod::openai
