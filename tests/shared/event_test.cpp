#include <gtest/gtest.h>

#include "domain/case.h"
#include "domain/event.h"

using namespace cl;

namespace {
Event make(const std::string& dev, uint64_t n, int64_t t, const std::string& type, const std::string& body,
           const std::string& author = "alice") {
    Event e;
    e.device = dev;
    e.counter = n;
    e.clock = Hlc{t, 0};
    e.case_id = "c-" + dev + "-1";
    e.team = "north";
    e.author = author;
    e.type = type;
    e.body = body;
    return e;
}
}  // namespace

TEST(Event, RoundTripsThroughJson) {
    Event e = make("d1", 7, 1700000000000, ev::kNoteAdded, R"({"text":"Called the client é"})");
    e.clock.logical = 3;
    auto back = event_from_json(event_to_json(e));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(same_event(e, *back));
    EXPECT_EQ(back->id(), "d1:7");
}

TEST(Event, RejectsMalformedAndUnknown) {
    EXPECT_EQ(event_from_json("{not json").error().code, "bad_json");
    EXPECT_EQ(event_from_json(R"({"device":"d","counter":1})").error().code, "bad_event");
    Event e = make("d1", 1, 1000, "case.exploded", "{}");
    EXPECT_EQ(validate_event(e, 2000).error().code, "unknown_type");
    e = make("d1", 1, 1000, ev::kNoteAdded, R"({"text":"x"})");
    e.schema = 99;
    EXPECT_EQ(validate_event(e, 2000).error().code, "unknown_version");
    e = make("d1", 1, 10LL * 24 * 3600 * 1000, ev::kNoteAdded, R"({"text":"x"})");
    EXPECT_EQ(validate_event(e, 0).error().code, "clock_skew");
    e = make("d1", 1, 1000, ev::kNoteAdded, R"({"text":"x","extra":1})");
    EXPECT_EQ(validate_event(e, 2000).error().code, "bad_body");
    e = make("d1", 1, 1000, ev::kSurveyRecorded, R"({"csat":6})");
    EXPECT_EQ(validate_event(e, 2000).error().code, "bad_body");
    e = make("d1", 1, 1000, ev::kSurveyRecorded, R"({"csat":5,"nps":10,"comment":"great"})");
    EXPECT_TRUE(validate_event(e, 2000).ok());
}

// An event's envelope is read in one pass over its members; what it accepts and the first error
// it reports (in the order device, counter, hlc, lc, case, team, author, type, v, body, id) are
// fixed by this table.
TEST(Event, EnvelopeErrorsNameTheFirstBadFieldInAFixedOrder) {
    const std::string ok = R"("device":"d1","counter":3,"hlc":1000,"lc":0,"case":"c-1","team":"north","author":"alice","type":"note.added","v":1,"body":{"text":"x"})";
    std::vector<std::string> texts = {
            "{" + ok + "}",
            "{\"id\":\"d1:3\"," + ok + "}",
            "{\"id\":\"d1:4\"," + ok + "}",
            "{\"id\":7," + ok + "}",
            "{" + ok + ",\"extra\":1}",
            "{\"\":1," + ok + "}",
            "{\"zzz\":1,\"device\":5}",
            "[]", "5", "{}",
            R"({"device":5})",
            R"({"device":"d1"})",
            R"({"device":"d1","counter":0})",
            R"({"device":"d1","counter":-2})",
            R"({"device":"d1","counter":"3"})",
            R"({"device":"d1","counter":1.5})",
            R"({"device":"d1","counter":3})",
            R"({"device":"d1","counter":3,"hlc":-1})",
            R"({"device":"d1","counter":3,"hlc":1.0})",
            R"({"device":"d1","counter":3,"hlc":10})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":-1})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":4294967296})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":4294967295})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":1})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c"})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t"})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a"})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x"})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":"1"})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":3000000000})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1,"body":[]})",
            R"({"device":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1,"body":null})",
            R"({"body":{},"v":1,"type":"x","author":"a","team":"t","case":"c","lc":0,"hlc":10,"counter":3,"device":"d1"})",
            R"({"body":{},"v":1,"type":"x","author":"a","team":"t","case":"c","lc":0,"hlc":10,"counter":3,"device":"d1","id":"d1:3"})",
            R"({"d\u0065vice":"d1","counter":3,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1,"body":{}})",
            R"({"device":"d1","counter":9223372036854775807,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1,"body":{}})",
            R"({"device":"d1","counter":18446744073709551615,"hlc":10,"lc":0,"case":"c","team":"t","author":"a","type":"x","v":1,"body":{}})",
        };
    const std::vector<std::string> expected = {
        "ok d1:3 d1 1000 0 c-1 north alice note.added 1 {\"text\":\"x\"}",
        "ok d1:3 d1 1000 0 c-1 north alice note.added 1 {\"text\":\"x\"}",
        "bad_event: event.id 'd1:4' does not match device:counter 'd1:3'",
        "ok d1:3 d1 1000 0 c-1 north alice note.added 1 {\"text\":\"x\"}",
        "bad_event: unknown event field 'extra'",
        "bad_event: unknown event field '(empty name)'",
        "bad_event: unknown event field 'zzz'",
        "bad_event: an event must be a JSON object",
        "bad_event: an event must be a JSON object",
        "bad_event: event.device must be a string",
        "bad_event: event.device must be a string",
        "bad_event: event.counter must be a positive integer",
        "bad_event: event.counter must be a positive integer",
        "bad_event: event.counter must be a positive integer",
        "bad_event: event.counter must be a positive integer",
        "bad_event: event.counter must be a positive integer",
        "bad_event: event.hlc must be a non-negative integer",
        "bad_event: event.hlc must be a non-negative integer",
        "bad_event: event.hlc must be a non-negative integer",
        "bad_event: event.lc must be a 32-bit non-negative integer",
        "bad_event: event.lc must be a 32-bit non-negative integer",
        "bad_event: event.lc must be a 32-bit non-negative integer",
        "bad_event: event.case must be a string",
        "bad_event: event.case must be a string",
        "bad_event: event.team must be a string",
        "bad_event: event.author must be a string",
        "bad_event: event.type must be a string",
        "bad_event: event.v (schema version) must be an integer",
        "bad_event: event.v (schema version) must be an integer",
        "bad_event: event.v (schema version) must be an integer",
        "bad_event: event.body must be an object",
        "bad_event: event.body must be an object",
        "bad_event: event.body must be an object",
        "ok d1:3 d1 10 0 c t a x 1 {}",
        "ok d1:3 d1 10 0 c t a x 1 {}",
        "ok d1:3 d1 10 0 c t a x 1 {}",
        "ok d1:9223372036854775807 d1 10 0 c t a x 1 {}",
        "bad_event: event.counter must be a positive integer",
    };
    ASSERT_EQ(texts.size(), expected.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        auto e = event_from_json(texts[i]);
        const std::string got = e ? "ok " + e->id() + " " + e->device + " " + std::to_string(e->clock.wall_ms) + " " +
                                        std::to_string(e->clock.logical) + " " + e->case_id + " " + e->team + " " + e->author +
                                        " " + e->type + " " + std::to_string(e->schema) + " " + e->body
                                  : e.error().code + ": " + e.error().message;
        EXPECT_EQ(got, expected[i]) << texts[i];
    }
}

TEST(Hlc, IsMonotonicWhenWallClockStepsBack) {
    HlcClock c;
    Hlc a = c.now(1000);
    Hlc b = c.now(900);
    EXPECT_TRUE(a < b);
    c.observe(Hlc{5000, 2});
    Hlc d = c.now(1000);
    EXPECT_TRUE((Hlc{5000, 2}) < d);
}

TEST(Fold, AppliesCreationFieldsNotesAndStatus) {
    std::vector<Event> evs = {
        make("d1", 1, 1000, ev::kCaseCreated,
             R"({"kind":"feedback","description":"Late delivery","category":"complaint","client":{"name":"Client A","channel":"email"}})"),
        make("d1", 2, 2000, ev::kNoteAdded, R"({"text":"Called"})"),
        make("d1", 3, 3000, ev::kStatusChanged, R"({"to":"in_progress","from":"new"})"),
        make("d1", 4, 4000, ev::kResolved, R"({"resolution":"Refund issued"})"),
    };
    CaseState c = fold(evs);
    EXPECT_EQ(c.kind, "feedback");
    EXPECT_EQ(c.client.name, "Client A");
    EXPECT_EQ(c.status, "resolved");
    EXPECT_EQ(c.resolution, "Refund issued");
    EXPECT_EQ(c.resolved_at, 4000);
    ASSERT_EQ(c.notes.size(), 1u);
    EXPECT_TRUE(c.conflicts.empty());
    EXPECT_TRUE(c.is_negative());
}

TEST(Fold, ConcurrentFieldEditsAreLwwAndSurfaced) {
    std::vector<Event> evs = {
        make("d1", 1, 1000, ev::kCaseCreated, R"({"kind":"feedback","description":"v0"})"),
        make("d1", 2, 2000, ev::kFieldSet, R"({"field":"description","value":"alice's","base":"d1:1"})", "alice"),
        make("d2", 1, 2500, ev::kFieldSet, R"({"field":"description","value":"bob's","base":"d1:1"})", "bob"),
    };
    CaseState c = fold(evs);
    EXPECT_EQ(c.description, "bob's");
    ASSERT_EQ(c.conflicts.size(), 1u);
    EXPECT_EQ(c.conflicts[0].other_value, "alice's");
    EXPECT_EQ(c.conflicts[0].other_author, "alice");
    EXPECT_EQ(c.conflicts[0].kept_author, "bob");
}

TEST(Fold, InvalidTransitionIsKeptAsConflict) {
    std::vector<Event> evs = {
        make("d1", 1, 1000, ev::kCaseCreated, R"({"kind":"feedback"})"),
        make("d1", 2, 2000, ev::kStatusChanged, R"({"to":"closed","from":"new"})"),
        make("d2", 1, 2500, ev::kStatusChanged, R"({"to":"awaiting_client","from":"new"})", "bob"),
    };
    CaseState c = fold(evs);
    EXPECT_EQ(c.status, "closed");
    ASSERT_EQ(c.conflicts.size(), 1u);
    EXPECT_EQ(c.conflicts[0].kind, "status");
    EXPECT_EQ(c.conflicts[0].other_value, "awaiting_client");
    EXPECT_EQ(c.event_count, 3u);
}

TEST(Json, RefusesDuplicateKeysAtAnyDepth) {
    EXPECT_EQ(json::parse(R"({"a":1,"a":2})").error().code, "bad_json");
    EXPECT_EQ(json::parse(R"({"x":[{"b":1,"c":2,"b":3}]})").error().code, "bad_json");
    EXPECT_TRUE(json::parse(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})").ok());
    std::string deep(100000, '[');
    EXPECT_EQ(json::parse(deep).error().code, "bad_json");  // unterminated, and no stack overflow
}

TEST(Event, RefusesAnEmptyFieldName) {
    Event e = make("d1", 1, 1000, ev::kCaseCreated, R"({"kind":"improvement","":3.3e40})");
    EXPECT_EQ(validate_event(e, 2000).error().code, "bad_body");
    EXPECT_EQ(event_from_json(R"({"device":"d1","counter":1,"hlc":1,"lc":0,"case":"c","team":"t","author":"a","type":"note.added","v":1,"body":{},"":1})").error().code,
              "bad_event");
}
