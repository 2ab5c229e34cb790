#include <gtest/gtest.h>

#include "core/time.h"
#include "domain/case.h"
#include "domain/event.h"
#include "domain/retention.h"

using namespace cl;

namespace {

int64_t T(const char* iso) {
    int64_t ms = 0;
    EXPECT_TRUE(parse_utc(iso, ms)) << iso;
    return ms;
}

// Builds one case from real events, folded like a replica would.
class CaseEvents {
public:
    explicit CaseEvents(std::string dev = "d1") : dev_(std::move(dev)) {}
    CaseEvents& add(int64_t t, const std::string& type, const std::string& body) {
        Event e;
        e.device = dev_;
        e.counter = ++n_;
        e.clock = Hlc{t, 0};
        e.case_id = "c-" + dev_ + "-1";
        e.team = "north";
        e.author = "alice";
        e.type = type;
        e.body = body;
        evs_.push_back(e);
        return *this;
    }
    CaseState fold() const { return cl::fold(evs_); }

private:
    std::string dev_;
    uint64_t n_ = 0;
    std::vector<Event> evs_;
};

CaseState closed_case(const std::string& kind, int64_t created, int64_t resolved, int64_t closed) {
    CaseEvents b;
    b.add(created, ev::kCaseCreated,
          R"({"kind":")" + kind + R"(","description":"Broken heater","client":{"name":"Client A","contact":"a@example.com","channel":"email"}})");
    b.add(created + 1, ev::kNoteAdded, R"({"text":"Called Client A at home"})");
    if (resolved) b.add(resolved, ev::kResolved, R"({"resolution":"Replaced the heater"})");
    if (closed) b.add(closed, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})");
    return b.fold();
}

}  // namespace

TEST(Retention, AddMonthsClampsToMonthEnd) {
    EXPECT_EQ(add_months_utc(T("2023-01-31T10:15:00Z"), 1), T("2023-02-28T10:15:00Z"));
    EXPECT_EQ(add_months_utc(T("2024-01-31T10:15:00Z"), 1), T("2024-02-29T10:15:00Z"));  // leap year
    EXPECT_EQ(add_months_utc(T("2024-02-29T00:00:00Z"), 12), T("2025-02-28T00:00:00Z"));
    EXPECT_EQ(add_months_utc(T("2024-02-29T00:00:00Z"), 48), T("2028-02-29T00:00:00Z"));
    EXPECT_EQ(add_months_utc(T("2100-01-31"), 1), T("2100-02-28"));  // not a leap year
    EXPECT_EQ(add_months_utc(T("2000-01-31"), 1), T("2000-02-29"));  // is one
    EXPECT_EQ(add_months_utc(T("2024-12-15T23:59:59Z"), 1), T("2025-01-15T23:59:59Z"));
    EXPECT_EQ(add_months_utc(T("2024-08-31"), 120), T("2034-08-31"));
    EXPECT_EQ(add_months_utc(T("2024-03-31"), -1), T("2024-02-29"));
    EXPECT_EQ(add_months_utc(T("2024-01-15"), -1), T("2023-12-15"));
    EXPECT_EQ(add_months_utc(T("2024-05-05"), 0), T("2024-05-05"));
    EXPECT_EQ(add_months_utc(T("1969-12-31T12:00:00Z"), 1), T("1970-01-31T12:00:00Z"));  // before the epoch
}

TEST(Retention, PolicyValidatesMonthsActionAndKinds) {
    RetentionPolicy p;
    EXPECT_TRUE(p.validate().ok());
    EXPECT_EQ(p.months_for("feedback"), 12);

    p.months_after_closure["improvement"] = 36;
    p.default_months = 24;
    EXPECT_TRUE(p.validate().ok());
    EXPECT_EQ(p.months_for("improvement"), 36);
    p.months_after_closure.erase("aftercare");
    EXPECT_EQ(p.months_for("aftercare"), 24);  // falls back to the default

    RetentionPolicy q;
    q.months_after_closure["feedback"] = 11;
    EXPECT_EQ(q.validate().error().code, "bad_retention");
    q.months_after_closure["feedback"] = 121;
    EXPECT_FALSE(q.validate().ok());
    q.months_after_closure["feedback"] = 120;
    EXPECT_TRUE(q.validate().ok());
    q.default_months = 6;
    EXPECT_FALSE(q.validate().ok());
    q.default_months = 12;
    q.months_after_closure["invoices"] = 24;
    EXPECT_FALSE(q.validate().ok());
    q.months_after_closure.erase("invoices");
    q.action = "anonymise";  // never implemented (cases were purged whole while it said so)
    EXPECT_EQ(q.validate().error().message, "anonymise is not supported yet; use purge");
    q.action = "delete";
    EXPECT_EQ(q.validate().error().message, "action must be 'purge' (got 'delete')");
    q.action = "purge";
    EXPECT_TRUE(q.validate().ok());
}

TEST(Retention, EndsAtOnlyForClosedOrResolvedCases) {
    RetentionPolicy p;
    const int64_t created = T("2024-01-10T09:00:00Z");

    CaseState open = closed_case("feedback", created, 0, 0);
    EXPECT_EQ(open.status, "new");
    EXPECT_EQ(retention_ends_at(open, p), 0);
    EXPECT_FALSE(due_for_purge(open, p, T("2099-01-01")));

    CaseState resolved = closed_case("feedback", created, T("2024-01-31T12:00:00Z"), 0);
    EXPECT_EQ(resolved.status, "resolved");
    EXPECT_EQ(retention_ends_at(resolved, p), T("2025-01-31T12:00:00Z"));

    CaseState closed = closed_case("feedback", created, T("2024-01-20T12:00:00Z"), T("2024-02-29T08:00:00Z"));
    EXPECT_EQ(closed.status, "closed");
    EXPECT_EQ(retention_ends_at(closed, p), T("2025-02-28T08:00:00Z"));  // leap day clamps

    // Reopened after resolution: the clock no longer runs.
    CaseEvents b;
    b.add(created, ev::kCaseCreated, R"({"kind":"feedback"})")
        .add(created + 1000, ev::kResolved, R"({"resolution":"done"})")
        .add(created + 2000, ev::kStatusChanged, R"({"to":"in_progress","from":"resolved"})");
    CaseState reopened = b.fold();
    EXPECT_EQ(reopened.status, "in_progress");
    EXPECT_EQ(retention_ends_at(reopened, p), 0);
}

TEST(Retention, PerKindMonths) {
    RetentionPolicy p;
    p.months_after_closure["improvement"] = 60;
    const int64_t closed_at = T("2024-03-01T00:00:00Z");
    CaseState imp = closed_case("improvement", T("2024-01-01"), T("2024-02-01"), closed_at);
    CaseState fb = closed_case("feedback", T("2024-01-01"), T("2024-02-01"), closed_at);
    EXPECT_EQ(retention_ends_at(imp, p), T("2029-03-01"));
    EXPECT_EQ(retention_ends_at(fb, p), T("2025-03-01"));
    EXPECT_TRUE(due_for_purge(fb, p, T("2026-01-01")));
    EXPECT_FALSE(due_for_purge(imp, p, T("2026-01-01")));
}

TEST(Retention, DueExactlyAtBoundaryAndLegalHoldExempts) {
    RetentionPolicy p;
    const int64_t closed_at = T("2024-06-17T10:00:00Z");
    CaseState c = closed_case("aftercare", T("2024-06-01"), T("2024-06-10"), closed_at);
    const int64_t ends = T("2025-06-17T10:00:00Z");
    ASSERT_EQ(retention_ends_at(c, p), ends);
    EXPECT_FALSE(due_for_purge(c, p, ends - 1));
    EXPECT_TRUE(due_for_purge(c, p, ends));
    EXPECT_TRUE(due_for_purge(c, p, ends + 1));

    CaseEvents b;
    b.add(T("2024-06-01"), ev::kCaseCreated, R"({"kind":"aftercare"})")
        .add(T("2024-06-10"), ev::kResolved, R"({"resolution":"ok"})")
        .add(closed_at, ev::kStatusChanged, R"({"to":"closed","from":"resolved"})")
        .add(closed_at + 1000, ev::kLegalHold, R"({"hold":true})");
    CaseState held = b.fold();
    ASSERT_TRUE(held.legal_hold);
    EXPECT_EQ(retention_ends_at(held, p), ends);
    EXPECT_FALSE(due_for_purge(held, p, ends + 1));

    b.add(closed_at + 2000, ev::kLegalHold, R"({"hold":false})");
    EXPECT_TRUE(due_for_purge(b.fold(), p, ends));
}

TEST(Retention, TombstoneCarriesNoPersonalDataAndRoundTrips) {
    CaseEvents b;
    b.add(T("2024-06-01"), ev::kCaseCreated,
          R"({"kind":"feedback","description":"Secret text","client":{"name":"Jane Doe","contact":"jane@example.com","channel":"email"}})")
        .add(T("2024-06-02"), ev::kRefAssigned, R"({"ref":"FF-2024-0007"})")
        .add(T("2024-06-03"), ev::kResolved, R"({"resolution":"Refund to Jane"})")
        .add(T("2024-06-04"), ev::kStatusChanged, R"({"to":"closed","from":"resolved"})");
    CaseState c = b.fold();
    Tombstone t = make_tombstone(c, T("2025-06-05"), "retention");
    EXPECT_EQ(t.case_id, c.id);
    EXPECT_EQ(t.reference, "FF-2024-0007");
    EXPECT_EQ(t.kind, "feedback");
    EXPECT_EQ(t.team, "north");
    EXPECT_EQ(t.reason, "retention");
    EXPECT_EQ(t.closed_at, T("2024-06-04"));
    EXPECT_EQ(t.purged_at, T("2025-06-05"));

    json::Writer w;
    t.seq = 42;
    write_tombstone(w, t);
    const std::string text = w.take();
    EXPECT_EQ(text.find("Jane"), std::string::npos);
    EXPECT_EQ(text.find("example.com"), std::string::npos);
    EXPECT_EQ(text.find("Secret"), std::string::npos);

    auto doc = json::parse(text);
    ASSERT_TRUE(doc.ok());
    auto back = tombstone_from_value(doc->root());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->case_id, t.case_id);
    EXPECT_EQ(back->reference, t.reference);
    EXPECT_EQ(back->closed_at, t.closed_at);
    EXPECT_EQ(back->purged_at, t.purged_at);
    EXPECT_EQ(back->seq, 42);
    EXPECT_EQ(back->reason, "retention");
}

TEST(Retention, TombstoneParsingIsStrict) {
    auto parse = [](const char* text) {
        auto doc = json::parse(text);
        EXPECT_TRUE(doc.ok()) << text;
        return tombstone_from_value(doc->root());
    };
    EXPECT_TRUE(parse(R"({"case_id":"c-d1-1"})").ok());
    EXPECT_EQ(parse(R"([1,2])").error().code, "bad_tombstone");
    EXPECT_FALSE(parse(R"({"reference":"FF-2024-0001"})").ok());              // no case id
    EXPECT_FALSE(parse(R"({"case_id":""})").ok());
    EXPECT_FALSE(parse(R"({"case_id":"c","client":"Jane"})").ok());           // unknown field
    EXPECT_FALSE(parse(R"({"case_id":"c","seq":"5"})").ok());                 // wrong type
    EXPECT_FALSE(parse(R"({"case_id":"c","purged_at":1.5})").ok());
    EXPECT_FALSE(parse(R"({"case_id":"c","kind":3})").ok());
}

TEST(Retention, PolicyJsonRoundTripsAndIsStrict) {
    RetentionPolicy p;
    p.months_after_closure["improvement"] = 36;
    p.default_months = 18;
    auto back = retention_from_json(retention_to_json(p));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->months_after_closure, p.months_after_closure);
    EXPECT_EQ(back->default_months, 18);
    EXPECT_EQ(back->action, "purge");
    EXPECT_EQ(retention_to_json(*back), retention_to_json(p));  // stable

    auto partial = retention_from_json(R"({"action":"purge"})");
    ASSERT_TRUE(partial.ok());
    EXPECT_EQ(partial->default_months, 12);
    EXPECT_EQ(partial->months_for("feedback"), 12);

    auto only = retention_from_json(R"({"months_after_closure":{"feedback":24}})");
    ASSERT_TRUE(only.ok());
    EXPECT_EQ(only->months_for("feedback"), 24);
    EXPECT_EQ(only->months_for("aftercare"), 12);

    EXPECT_EQ(retention_from_json("{not json").error().code, "bad_json");
    EXPECT_EQ(retention_from_json("[]").error().code, "bad_retention");
    EXPECT_EQ(retention_from_json(R"({"default_months":12,"extra":true})").error().code, "bad_retention");
    EXPECT_FALSE(retention_from_json(R"({"default_months":"12"})").ok());
    EXPECT_FALSE(retention_from_json(R"({"default_months":12.5})").ok());
    EXPECT_FALSE(retention_from_json(R"({"action":1})").ok());
    EXPECT_FALSE(retention_from_json(R"({"months_after_closure":[12]})").ok());
    EXPECT_FALSE(retention_from_json(R"({"months_after_closure":{"feedback":"12"}})").ok());
    EXPECT_FALSE(retention_from_json(R"({"months_after_closure":{"feedback":6}})").ok());     // < 12
    EXPECT_FALSE(retention_from_json(R"({"months_after_closure":{"spam":24}})").ok());       // unknown kind
    EXPECT_FALSE(retention_from_json(R"({"default_months":121})").ok());
    EXPECT_FALSE(retention_from_json(R"({"action":"shred"})").ok());
    auto anonymise = retention_from_json(R"({"action":"anonymise"})");
    ASSERT_FALSE(anonymise.ok());
    EXPECT_EQ(anonymise.error().code, "bad_retention");
    EXPECT_EQ(anonymise.error().message, "anonymise is not supported yet; use purge");
}
