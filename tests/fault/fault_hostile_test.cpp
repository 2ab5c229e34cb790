// Hostile but well-formed input at the core (no HTTP): things a modified device could push.
#include <gtest/gtest.h>

#include <set>

#include "fault_common.h"
#include "sync_harness.h"

using namespace cl;
using namespace cl::test;

// A device chooses its case ids. One that looks like a canonical reference ("FF-2024-0001")
// must not become that case's reference (the server would then skip assigning a real one), and
// must not shadow the real FF-2024-0001 of another case in lookups by reference.
TEST(FaultHostile, CaseIdShapedLikeAReferenceCannotForgeOne) {
    FakeClock clock;
    ServerPeer server(clock);
    ClientPeer mallory(clock, "mallory", "north"), alice(clock, "alice", "north");
    const std::string body = R"({"kind":"feedback","description":"x"})";
    auto forged = mallory.record("FF-2024-0001", ev::kCaseCreated, body);
    ASSERT_TRUE(forged.ok()) << forged.error().message;
    synchronize(server, {&mallory});
    std::string real = alice.create_case(body);
    synchronize(server, {&alice, &mallory});

    auto real_case = server.store->load_case(real);
    ASSERT_TRUE(real_case);
    auto by_ref = server.store->load_case(real_case->reference);
    ASSERT_TRUE(by_ref);
    EXPECT_EQ(by_ref->id, real) << "looking up " << real_case->reference << " finds another case";

    std::set<std::string> refs;
    auto all = server.store->all_cases();
    ASSERT_TRUE(all);
    for (const auto& c : *all) {
        EXPECT_TRUE(refs.insert(c.reference).second) << "reference " << c.reference << " is used twice";
        if (c.id == "FF-2024-0001") {  // if the server kept the case, it must carry a reference it issued
            EXPECT_NE(c.reference, c.id) << "the device-chosen case id stands as the canonical reference";
        }
    }
}

// Importing another device's export file is all or nothing: a file holding one event the store
// refuses (here a second copy of an event id with a different body) imports nothing, so the
// user who sees the error can fix the file and import again without half of it already in.
TEST(FaultHostile, ImportOfAFileWithARefusedEventImportsNothing) {
    FakeClock clock;
    ClientPeer a(clock, "alice", "north"), b(clock, "bob", "north");
    std::string id = a.create_case(R"({"kind":"feedback","description":"x"})");
    ASSERT_TRUE(a.record(id, ev::kNoteAdded, R"({"text":"first"})"));
    auto pending = a.store->pending_events();
    ASSERT_TRUE(pending);
    Event forged = pending->back();
    forged.body = R"({"text":"second, same id"})";
    json::Writer w;
    w.begin_object().kv("format", "closeloop-pending").kv("version", 1).kv("device", "x").key("events").begin_array();
    for (const auto& e : *pending) write_event(w, e);
    write_event(w, forged);
    w.end_array().end_object();
    auto r = b.sync->import_events(w.take());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "conflict");
    EXPECT_EQ(b.store->event_count(), 0) << "a refused import left events behind";
    EXPECT_EQ(b.store->case_count(), 0);
}
