// The fast paths of the fold: json::Parser (buffers reused from text to text, parsed in place) and
// fold() sorting pointers instead of copies. Each is checked against the plain path it replaces.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "core/json.h"
#include "domain/case.h"
#include "domain/event.h"

using namespace cl;

namespace {

std::vector<std::string> tricky_texts() {
    std::string deep;
    for (int i = 0; i < 2000; ++i) deep += "[";
    for (int i = 0; i < 2000; ++i) deep += "]";
    std::string many = "{";
    for (int i = 0; i < 30; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    return {
        R"({"text":"short"})",
        "{\"text\":\"" + std::string(70000, 'x') + "\"}",  // more than the parser's own buffers
        R"({"a":1,"a":2})",
        R"({"b":1,"a":1,"b":2,"a":2})",                       // the smallest repeated name is reported
        R"({"x":{"q":1,"q":2},"y":[{"p":1,"p":2}]})",          // and the first object in walk order
        many + "\"k7\":0}",                                    // > 16 members, repeated
        many + "\"end\":0}",                                   // > 16 members, all distinct
        R"({"t\u0065xt":"x","text":"y"})",                     // repeated once unescaped
        R"({"":1})",
        "",
        "{",
        "[1,2",
        R"({"text":"x"} trailing)",
        std::string("{\"text\":\"x\"}\0junk", 17),            // a NUL ends the text for both
        std::string("{\"text\":\"a\0b\"}", 14),
        "{\"text\":\"\xff\"}",                                 // invalid UTF-8
        "{\"text\":\"\xC3",                                    // truncated sequence at the end
        "{\"text\":\"\xC3\xA9 \\u00e9 \\n \\\"q\\\" \\u0000\"}",
        R"({"text":"\ud800"})",
        "\xEF\xBB\xBF{\"text\":\"after a byte-order mark\"}",
        "\xEF\xBB\xBF{\"text\":\"\xff\"}",                     // error offsets count the mark
        "\xEF{\"text\":\"partial mark\"}",
        "\xBB\xBF{}",
        "\xEF\xBB\xBF",
        R"({"n":-0,"m":1.0e2,"big":18446744073709551615,"neg":-9223372036854775808,"d":1e400})",
        R"({"n":1.5,"arr":[true,false,null,{"k":"v"}],"o":{"client":{"name":"N"}}})",
        "{\"x\":" + deep + "}",
        "  [ \"not an object\" ]  ",
        R"("just a string")",
    };
}

std::string describe(const Expected<const json::Value*>& r) {
    return r ? "ok " + json::to_string(**r) : "error " + r.error().code + ": " + r.error().message;
}
std::string describe(const Expected<json::Document>& r) {
    return r ? "ok " + json::to_string(r->root()) : "error " + r.error().code + ": " + r.error().message;
}

Event make(const std::string& dev, uint64_t n, int64_t t, const std::string& type, const std::string& body) {
    Event e;
    e.device = dev;
    e.counter = n;
    e.clock = Hlc{t, 0};
    e.case_id = "c-1";
    e.team = "north";
    e.author = "u-" + dev;
    e.type = type;
    e.body = body;
    return e;
}

// What fold() did before it sorted pointers: sort copies, drop repeated ids, fold in order.
CaseState reference_fold(std::vector<Event> events) {
    std::sort(events.begin(), events.end(), event_before);
    events.erase(std::unique(events.begin(), events.end(),
                             [](const Event& a, const Event& b) { return a.device == b.device && a.counter == b.counter; }),
                 events.end());
    return fold_sorted(events);
}

}  // namespace

TEST(JsonParser, GivesWhatParseGivesTextAfterText) {
    auto texts = tricky_texts();
    json::Parser p;
    // Twice over, forwards then backwards, so every text follows texts of other sizes and outcomes.
    for (int round = 0; round < 2; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
            const std::string& t = texts[round == 0 ? i : texts.size() - 1 - i];
            EXPECT_EQ(describe(p.parse(t)), describe(json::parse(t))) << "text #" << i << " round " << round;
        }
    }
    EXPECT_EQ(describe(p.parse(texts[0], 5)), describe(json::parse(texts[0], 5)));  // size limit
    EXPECT_EQ(p.parse(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})").ok(), true);
    EXPECT_EQ(p.parse(R"({"x":[{"b":1,"c":2,"b":3}]})").error().code, "bad_json");
}

// Texts that are valid UTF-8 skip rapidjson's per-character encoding check (json.cpp's
// valid_utf8 decides): both parsers must still accept and refuse exactly what rapidjson's
// validating reader does, with the same error offsets, for every kind of broken sequence.
TEST(JsonParser, EncodingChecksAgreeWithRapidjsonsValidatingReader) {
    auto reference = [](const std::string& t) {
        rapidjson::Document d;
        d.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(t.data(), t.size());
        return d.HasParseError() ? "error at " + std::to_string(d.GetErrorOffset()) : "ok " + json::to_string(d);
    };
    auto ours = [](const Expected<json::Document>& r) {
        if (r) return "ok " + json::to_string(r->root());
        const std::string& m = r.error().message;  // "malformed JSON at offset N: ..."
        auto at = m.find("offset ");
        return "error at " + (at == std::string::npos ? m : m.substr(at + 7, m.find(':', at) - at - 7));
    };
    std::vector<std::string> seqs = {
        "a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80",
        "\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xC2", "\xC2\x41", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xE0\xA0",
        "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
        "\xF8\x88\x80\x80\x80", "\xFE", "\xFF", "\xE2\x82", "\xF0\x9F\x98", "\xE2\x28\xA1", "\xC3\xA9\xC3",
        "\xF0", "\xF4", "\xF1\x80", "\xE0", "\xED",  // a lead byte last: its continuation bytes are read past the end
        "\x01", "\x09", "\x19", "\x1A", "\x1C", "\x1F", "\x7F",  // control bytes (rapidjson's SSE2 scan missed 0x1A-0x1F)
    };
    std::vector<std::string> texts;
    for (const auto& q : seqs) {
        texts.push_back("{\"text\":\"" + q + "\"}");
        texts.push_back("{\"text\":\"12345678" + q + "abcdefgh\"}");  // after and before whole ASCII words
        texts.push_back("{\"" + q + "\":1}");
        texts.push_back("{\"t\":1}" + q);  // outside any string
        texts.push_back("{\"text\":\"" + q);  // cut off
        texts.push_back("{\"text\":\"" + std::string(40, 'x') + q + "\"}");  // past a 16-byte block of a long string
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {  // random bytes, biased to the lead and continuation ranges
        std::string q;
        for (int n = static_cast<int>(rng() % 12); n > 0; --n) {
            const unsigned r = rng() % 4;
            q.push_back(static_cast<char>(r == 0 ? rng() % 0x80 : r == 1 ? 0x80 + rng() % 0x40 : 0xC0 + rng() % 0x40));
        }
        texts.push_back("{\"text\":\"" + std::string(rng() % 10, 'x') + q + "\"}");
    }
    json::Parser p;
    int refused = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        const std::string want = reference(texts[i]);
        refused += want.rfind("error", 0) == 0;
        ASSERT_EQ(ours(json::parse(texts[i])), want) << "text #" << i;
        auto r = p.parse(texts[i]);
        ASSERT_EQ(r ? "ok " + json::to_string(**r) : ours(Expected<json::Document>(r.error())), want) << "text #" << i;
    }
    EXPECT_GT(refused, 1000);  // the random texts hold both valid and broken sequences
    EXPECT_LT(refused, static_cast<int>(texts.size()) - 1000);
}

// json::parse parses a copy of the text in place: the document's strings point into that copy,
// which must travel with the document through moves and outlive the caller's text.
// Every control byte a text holds is written escaped, in short strings and in long ones
// (rapidjson's SSE2 string scan, in the version Debian ships, only escapes bytes up to 0x19: the
// server's hostile-input test caught an error message with a raw ESC in it), and reads back.
TEST(JsonParser, ControlBytesAreWrittenEscapedAndReadBack) {
    for (int c = 0; c < 0x20; ++c) {
        for (const std::string& pad : {std::string(), std::string(40, 'x')}) {
            const std::string text = pad + std::string(1, static_cast<char>(c)) + pad + "end";
            json::Writer w;
            w.begin_object().kv("t", text).end_object();
            const std::string out = w.take();
            for (char ch : out) EXPECT_GE(static_cast<unsigned char>(ch), 0x20u) << "byte " << c << " written raw";
            auto back = json::parse(out);
            ASSERT_TRUE(back.ok()) << "byte " << c << ": " << back.error().message;
            std::string got;
            ASSERT_TRUE(json::get(back->root(), "t", got));
            EXPECT_EQ(got, text) << "byte " << c;
            EXPECT_EQ(json::quote(text).find(static_cast<char>(c)), std::string::npos) << "byte " << c;
        }
    }
}

TEST(JsonParser, DocumentsKeepTheirStringsThroughMoves) {
    std::vector<json::Document> docs;
    for (int i = 0; i < 200; ++i) {  // the vector reallocates: every document is moved several times
        std::string text = "{\"name\":\"client number " + std::to_string(i) + " with a name longer than any inline string\","
                           "\"esc\":\"tab\\there \\u00e9\",\"k\":[\"" + std::string(static_cast<size_t>(i), 'x') + "\"]}";
        auto d = json::parse(text);
        ASSERT_TRUE(d.ok()) << i;
        text.assign(text.size(), '#');  // the caller's text is gone
        docs.push_back(std::move(*d));
    }
    for (int i = 0; i < 200; ++i) {
        std::string name, esc;
        ASSERT_TRUE(json::get(docs[i].root(), "name", name));
        EXPECT_EQ(name, "client number " + std::to_string(i) + " with a name longer than any inline string");
        ASSERT_TRUE(json::get(docs[i].root(), "esc", esc));
        EXPECT_EQ(esc, "tab\there \xC3\xA9");
        EXPECT_EQ(docs[i].root()["k"][0].GetStringLength(), static_cast<rapidjson::SizeType>(i));
    }
    json::Document moved = std::move(docs[7]);
    docs.clear();
    std::string name;
    ASSERT_TRUE(json::get(moved.root(), "name", name));
    EXPECT_EQ(name, "client number 7 with a name longer than any inline string");
}

// Document::member_text takes a value's text from the parsed text when it is already what
// to_string() writes, so events keep the same body text whatever way it is found.
TEST(JsonParser, MemberTextIsWhatToStringWrites) {
    const std::vector<std::string> bodies = {
        R"({})", R"([])", R"({"a":1})", R"({"text":"plain words"})", R"({"n":-12,"b":true,"f":false,"z":null})",
        R"({"deep":{"list":[1,[2,[3,{"x":"y"}]],{}],"e":[]}})", R"({"max":999999999999999999,"min":-999999999999999999})",
        R"({"u":"caf\u00e9"})", "{\"raw\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}", R"({"q":"a \"quote\""})",
        R"({"s":"back\\slash"})", R"({"t":"tab\there"})", R"({"slash":"a\/b"})", R"({ "a" : 1 })", "{\"a\":\n1}",
        R"({"f":1.5})", R"({"f":1.0})", R"({"e":1e3})", R"({"e":2E-2})", R"({"z":-0})", R"({"z":0,"m":-0.0})",
        R"({"big":1234567890123456789})", R"({"big":18446744073709551615})", R"({"big":-9223372036854775808})",
        R"({"k\u0065y":"escaped key"})", R"([1, 2])", R"({"list":[ ]})", R"({"a":"}{][,:"})",
    };
    // The body among other members: first, last, with spaces around it, under an escaped name,
    // after a byte-order mark.
    const std::vector<std::pair<std::string, std::string>> frames = {
        {R"({"body":)", "}"}, {R"({"id":"d:1","body":)", R"(,"v":1})"}, {"{ \"type\" : \"x\" ,\n \"body\" :\t", " }"},
        {R"({"bo\u0064y":)", "}"}, {"\xEF\xBB\xBF{\"body\":", "}"},
    };
    size_t checked = 0;
    for (const auto& body : bodies)
        for (const auto& [head, tail] : frames) {
            const std::string text = head + body + tail;
            auto doc = json::parse(text);
            ASSERT_TRUE(doc.ok()) << text;
            const json::Value* value = json::member(doc->root(), "body");
            ASSERT_NE(value, nullptr) << text;
            EXPECT_EQ(doc->member_text(doc->root(), "body", text), json::to_string(*value)) << text;
            ++checked;
        }
    EXPECT_EQ(checked, bodies.size() * frames.size());

    // Random bodies: nested objects and arrays, strings with and without escapes, integers and
    // other numbers, with and without whitespace between tokens.
    std::mt19937 rng(7);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    std::function<std::string(int)> value = [&](int depth) -> std::string {
        const int kind = depth > 3 ? pick(4) : pick(6);
        const std::string ws = pick(4) == 0 ? " " : "";
        switch (kind) {
            case 0: {
                static const char* words[] = {"a", "tap washer", "\\n", "\\\"", "x\\u0041y", "\xC3\xA9t\xC3\xA9", ""};
                return "\"" + std::string(words[pick(7)]) + "\"";
            }
            case 1: {
                static const char* nums[] = {"0", "7", "-3", "42", "123456789012345678", "1234567890123456789",
                                             "-0", "2.5", "1e9", "-1.25E-3"};
                return nums[pick(10)];
            }
            case 2: return pick(2) ? "true" : (pick(2) ? "false" : "null");
            case 3: return "\"s" + std::to_string(pick(100)) + "\"";
            case 4: {
                std::string o = "{" + ws;
                const int n = pick(4);
                for (int i = 0; i < n; ++i)
                    o += (i ? "," + ws : "") + "\"k" + std::to_string(i) + "\"" + ws + ":" + ws + value(depth + 1);
                return o + ws + "}";
            }
            default: {
                std::string a = "[" + ws;
                const int n = pick(4);
                for (int i = 0; i < n; ++i) a += (i ? "," + ws : "") + value(depth + 1);
                return a + ws + "]";
            }
        }
    };
    for (int round = 0; round < 3000; ++round) {
        std::string body = value(pick(2) ? 3 : 0);
        if (body[0] != '{' && body[0] != '[') body = "{\"v\":" + body + "}";
        const std::string text = R"({"id":"d:1","body":)" + body + R"(,"v":1})";
        auto doc = json::parse(text);
        ASSERT_TRUE(doc.ok()) << text;
        EXPECT_EQ(doc->member_text(doc->root(), "body", text), json::to_string(*json::member(doc->root(), "body"))) << text;
    }

    // The text is taken from `source` only where it is already in that form: a source that
    // differs from what was parsed shows which way each value went.
    auto from_source = [](const std::string& parsed, const std::string& other) {
        auto doc = json::parse(parsed);
        EXPECT_TRUE(doc.ok());
        return doc.ok() ? doc->member_text(doc->root(), "body", other) : std::string();
    };
    EXPECT_EQ(from_source(R"({"body":{"a":1,"t":"x"}})", R"({"body":{"a":2,"t":"y"}})"), R"({"a":2,"t":"y"})");
    EXPECT_EQ(from_source(R"({"bo\u0064y":[1,2]})", R"({"bo\u0064y":[3,4]})"), "[3,4]");
    EXPECT_EQ(from_source(R"({"body":{"a":1, "t":"x"}})", R"({"body":{"a":2, "t":"y"}})"), R"({"a":1,"t":"x"})");
    EXPECT_EQ(from_source(R"({"body":{"t":"\u0078"}})", R"({"body":{"t":"\u0079"}})"), R"({"t":"x"})");
    EXPECT_EQ(from_source(R"({"body":{"f":1.5}})", R"({"body":{"f":2.5}})"), R"({"f":1.5})");
    EXPECT_EQ(from_source(R"({"body":{"a":1}})", R"({"body":{"a":2},"x":1})"), R"({"a":1})");  // not the parsed text
    {  // a name with an escaped quote in it
        auto quoted = json::parse(R"({"a\"b":{"x":1}})");
        ASSERT_TRUE(quoted.ok());
        EXPECT_EQ(quoted->member_text(quoted->root(), "a\"b", R"({"a\"b":{"x":2}})"), R"({"x":2})");
    }
    // Not an object or array, or no such member.
    const std::string text = R"({"body":"text","n":5})";
    auto doc = json::parse(text);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->member_text(doc->root(), "body", text), R"("text")");
    EXPECT_EQ(doc->member_text(doc->root(), "missing", text), "");
}

TEST(JsonParser, RootStaysValidUntilTheNextParse) {
    json::Parser p;
    auto r = p.parse(R"({"name":"a string long enough not to be stored inline","n":7})");
    ASSERT_TRUE(r.ok());
    const json::Value& root = **r;
    std::string name;
    ASSERT_TRUE(json::get(root, "name", name));
    EXPECT_EQ(name, "a string long enough not to be stored inline");
    auto bad = p.parse("{oops");
    EXPECT_FALSE(bad.ok());
    auto again = p.parse(R"({"name":"b"})");
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE(json::get(**again, "name", name));
    EXPECT_EQ(name, "b");
}

TEST(Fold, SortsLikeSortingCopiesEvenWithRepeatedIds) {
    // Up to 41 events in shuffled orders, with repeated ids whose bodies differ: which copy stands
    // must not change.
    std::vector<Event> evs = {make("d1", 1, 1000, ev::kCaseCreated, R"({"kind":"feedback","title":"t0"})")};
    std::mt19937 rng(7);
    for (int i = 0; i < 40; ++i) {
        std::string dev = "d" + std::to_string(1 + i % 3);
        uint64_t n = 2 + static_cast<uint64_t>(i / 3) % 5;
        int64_t t = 1000 + 100 * static_cast<int64_t>(rng() % 6);
        std::string body = i % 4 == 0 ? R"({"field":"title","value":"v)" + std::to_string(i) + R"(","base":"d1:1"})"
                                       : R"({"text":"note )" + std::to_string(i) + R"("})";
        evs.push_back(make(dev, n, t, i % 4 == 0 ? ev::kFieldSet : ev::kNoteAdded, body));
    }
    for (size_t size : {5u, 8u, 17u, 25u, 33u, 41u}) {  // around the libraries' insertion-sort cut-offs
        for (int k = 0; k < 8; ++k) {
            std::shuffle(evs.begin(), evs.end(), rng);
            std::vector<Event> some(evs.begin(), evs.begin() + static_cast<std::ptrdiff_t>(size));
            EXPECT_EQ(case_to_json(fold(some)), case_to_json(reference_fold(some))) << size << " events";
            std::vector<const Event*> refs;  // the overload a merge of replicas uses
            for (const auto& e : some) refs.push_back(&e);
            EXPECT_EQ(case_to_json(fold(refs)), case_to_json(reference_fold(some))) << size << " events by pointer";
        }
    }
    std::sort(evs.begin(), evs.end(), event_before);  // already in order: not sorted again
    EXPECT_EQ(case_to_json(fold(evs)), case_to_json(reference_fold(evs)));
}

TEST(Fold, BodiesOfEverySizeAndValidityInOneFold) {
    std::vector<Event> evs = {make("d1", 1, 1000, ev::kCaseCreated, R"({"kind":"feedback","client":{"name":"C"}})")};
    std::vector<std::string> texts;
    uint64_t n = 2;
    for (size_t len : {1u, 40u, 9000u, 3u, 100000u, 17u, 5000u, 0u}) {
        std::string text(len, static_cast<char>('a' + n % 26));
        texts.push_back(text);
        evs.push_back(make("d1", n, 1000 + static_cast<int64_t>(n), ev::kNoteAdded, R"({"text":")" + text + "\"}"));
        ++n;
        evs.push_back(make("d1", n, 1000 + static_cast<int64_t>(n), ev::kNoteAdded, n % 2 ? "{\"text\":\"dup\",\"text\":\"x\"}" : "{broken"));
        ++n;
    }
    CaseState c = fold(evs);
    ASSERT_EQ(c.notes.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(c.notes[i].text, texts[i]);
    ASSERT_EQ(c.conflicts.size(), texts.size());  // every bad body reported, none lost
    for (const auto& k : c.conflicts) EXPECT_EQ(k.kind, "invalid");
    EXPECT_EQ(c.client.name, "C");
    EXPECT_EQ(case_to_json(c), case_to_json(reference_fold(evs)));

    CaseFolder one_by_one;  // the store's incremental path parses with the same buffers
    for (const auto& e : evs) ASSERT_TRUE(one_by_one.try_apply(e));
    EXPECT_EQ(case_to_json(one_by_one.state()), case_to_json(c));
}
