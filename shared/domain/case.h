// Case state: the deterministic fold of a case's events (R1, R2, R4).
//
// fold() sorts events by (clock, device, counter) and applies them one by one. Scalars are
// last-writer-wins in that order; notes, attachments, surveys, contacts, escalations and
// follow-ups accumulate; a status change that is invalid at its place in the merged order is kept
// in the log, does not change the status, and is reported in `conflicts`. A field edit made
// without knowledge of the edit it overrides (its `base` is not the current winner) is reported
// as a conflict too, with both values and both authors, while LWW still decides the value.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "domain/event.h"

namespace cl {

struct Client {
    std::string name;
    std::string contact;
    std::string channel;  // preferred channel (R5)
};

struct Note {
    std::string event_id, author, text;
    int64_t at = 0;
};

struct Attachment {
    std::string event_id, author, name, type, sha256;
    int64_t size = 0, at = 0;
};

struct SurveyResponse {
    std::string event_id, author, comment, suggestion, channel;
    std::vector<std::string> tags;
    int csat = 0;  // 1..5, 0 = not given
    int nps = -1;  // 0..10, -1 = not given
    bool incentive = false;
    int64_t at = 0;
};

struct ContactLog {  // thank-you sent, survey sent, acknowledged, responded, follow-up contact
    std::string event_id, author, step, channel, note;
    int64_t at = 0;
};

struct Escalation {
    std::string event_id, author, reason, to;
    int64_t at = 0;
};

struct FollowUp {  // confirmation of satisfaction after resolution (R10)
    std::string event_id, author, note, channel;
    bool satisfied = false;
    int64_t at = 0;
};

struct StatusSpan {  // one stretch of time in one status, for SLA pauses ("awaiting client")
    std::string status;
    int64_t from = 0;
    int64_t to = 0;  // 0 = still in it
};

struct Conflict {
    std::string kind;   // "field" or "status"
    std::string field;  // field name, or "status"
    std::string kept_value, kept_author, kept_event;          // value that stands
    std::string other_value, other_author, other_event;       // the concurrent / refused one
    int64_t at = 0;
};

struct CaseState {
    std::string id;
    std::string reference;  // canonical FF-YYYY-NNNN once the server assigned it (ref.assigned), else the case id
    std::string kind, team;
    std::string created_by;
    int64_t created_at = 0, updated_at = 0;
    Client client;
    int64_t service_completed_at = 0;  // 0 = not given
    int64_t due_at = 0;                // improvement deadline; 0 = none
    std::string title, description, status = "new", priority = "normal", category;
    bool urgent = false, high_impact = false;
    std::string assignee, resolution;
    int64_t resolved_at = 0, closed_at = 0;
    bool legal_hold = false;
    std::vector<Note> notes;
    std::vector<Attachment> attachments;
    std::vector<SurveyResponse> surveys;
    std::vector<ContactLog> contacts;
    std::vector<Escalation> escalations;
    std::vector<FollowUp> follow_ups;
    std::vector<StatusSpan> status_history;
    std::vector<std::string> links;  // improvement.linked: case ids this improvement action covers
    std::vector<Conflict> conflicts;
    size_t event_count = 0;
    std::string last_event;  // id of the last event in fold order

    // First time a contact step was logged, or 0.
    int64_t first_contact(const std::string& step) const;
    bool is_negative() const;  // negative/complaint category or a low score
};

// Folds events (any order, duplicates allowed) into the case they describe. Events must all carry
// the same case id; the first in fold order should be case.created (a case whose creation has not
// arrived yet still folds, with kind empty). Events that fail to parse are skipped and reported as
// conflicts of kind "invalid" so nothing disappears silently. The events are not copied.
CaseState fold(const std::vector<Event>& events);
// The same for events held elsewhere (a merge of replicas folds without copying events).
CaseState fold(const std::vector<const Event*>& events);

// Same, for events already sorted and de-duplicated.
CaseState fold_sorted(const std::vector<Event>& events);

namespace detail { class Folder; }

// The fold, one event at a time: applying events in fold order gives the state fold_sorted()
// gives for all of them. The store keeps one per recently changed case so a new event costs one
// apply instead of re-reading and re-folding the case's whole history. try_apply(e) applies e
// when that gives the same state as a full fold: e sorts after every order-sensitive event
// applied so far, or e commutes with all of them (the server's one reference assignment, which
// is stamped when the case reaches the server and so often sorts after a device's later
// uploads). Otherwise it returns false and changes nothing: fold the case again from scratch.
class CaseFolder {
public:
    CaseFolder();
    ~CaseFolder();
    CaseFolder(CaseFolder&&) noexcept;
    CaseFolder& operator=(CaseFolder&&) noexcept;
    bool try_apply(const Event& e);
    CaseState state() const;             // what fold_sorted() returns
    const CaseState& current() const;    // the same without copying; `reference` may still be empty

private:
    struct Key { Hlc clock; std::string device; uint64_t counter = 0; };
    bool follows(const Event& e) const;
    bool commutes(const Event& e) const;
    std::unique_ptr<detail::Folder> f_;
    Key last_;    // newest order-sensitive event applied
    Key newest_;  // newest event applied
    std::string newest_id_;
    bool ordered_ = false, any_ = false;
};

// Canonical JSON of a case (stable field order): replicas with the same events produce identical
// bytes. Used on the wire, in the store, and by the convergence tests.
std::string case_to_json(const CaseState& c);
void write_case(json::Writer& w, const CaseState& c);

}  // namespace cl
