// Event JSON parsing and validation: event_from_json + validate_event, then the fold of a valid
// event. Invariants: no crash/UB; a valid event re-serialises to JSON that parses back to the
// same event (replicas compare bodies byte for byte); a valid event folds and its case serialises.
// (The round trip is checked on valid events only: a body number like 3.333333333333333e40 does
// not re-serialise to the same text — corpus/fuzz_event/regress-double-roundtrip.json — but no
// valid body holds a non-integer number, so such events never reach a store.)
#include "domain/case.h"
#include "domain/event.h"
#include "fuzz_common.h"

using namespace cl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto e = event_from_json(fuzz::as_text(data, size));
    if (!e) return 0;
    Status st = validate_event(*e, fuzz::kNow);
    if (!st) return 0;
    std::string again = event_to_json(*e);
    auto back = event_from_json(again);
    if (!back) fuzz::fail("event re-serialisation does not parse", back.error().message + " in " + again);
    if (!same_event(*e, *back)) fuzz::fail("event round trip changed the event", again);
    CaseState c = fold({*e});
    std::string j = case_to_json(c);
    if (j.empty() || j.front() != '{') fuzz::fail("case_to_json", j);
    return 0;
}
