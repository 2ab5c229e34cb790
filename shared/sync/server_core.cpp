#include "sync/server_core.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "core/time.h"
#include "store/sqlite_util.h"

namespace cl {

bool Caller::in_team(const std::string& team) const {
    return std::find(teams.begin(), teams.end(), team) != teams.end();
}

SyncServer::SyncServer(Store& store, Clock clock) : store_(store), clock_(std::move(clock)) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    // Events the server writes itself (canonical references, legal holds) come from device "server".
    if (!store_.meta("device_id")) store_.set_meta("device_id", kServerDevice);
}

std::string SyncServer::assign_reference(int64_t now) {
    int year = civil_from_days(now / kDayMs).year;
    std::string key = "ref_counter_" + std::to_string(year);
    auto v = store_.meta(key);
    int64_t n = (v ? std::stoll(*v) : 0) + 1;
    store_.set_meta(key, std::to_string(n));
    char buf[40];
    std::snprintf(buf, sizeof buf, "FF-%04d-%04lld", year, static_cast<long long>(n));
    return buf;
}

namespace {

// Team of an existing case, or "" (a case's team never changes).
std::string case_team(Store& store, const std::string& case_id) { return store.case_facts(case_id).team; }

}  // namespace

PushResponse SyncServer::push(const Caller& caller, const PushRequest& request) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    PushResponse resp;
    const int64_t now = clock_();
    std::vector<Event> valid;
    valid.reserve(request.events.size());

    // One transaction for the checks and the writes: outside one, every read of a case's facts
    // took and dropped the file's locks (a tenth of a push's time). Pushes are serialised (mu_).
    Status st = store_.transact([&]() -> Status {
        std::unordered_map<std::string, std::string> batch_team;  // case -> team as created in this batch
        std::unordered_map<std::string, size_t> seen_ids;  // id -> its event in valid
        // Devices: the caller's own, or nobody's yet (claimed below); never another user's.
        std::unordered_map<std::string, bool> device_ok;
        std::unordered_set<std::string> unclaimed;
        std::string last_device;
        bool last_device_ok = false;
        // Per case, once per batch (a batch holds many events of the same cases).
        std::unordered_map<std::string, std::pair<bool, std::string>> known;  // case -> (purged, stored team)
        // The bodies' checks come with a parsed request (PushRequest::body_checks).
        const bool bodies_checked = request.body_checks.size() == request.events.size();
        for (size_t i = 0; i < request.events.size(); ++i) {
            const Event& e = request.events[i];
            std::string id = e.id();
            auto refuse = [&](const std::string& code, const std::string& reason) {
                resp.rejected.push_back(Rejection{id, code, reason});
            };
            Status v = bodies_checked ? validate_envelope(e, now) : validate_event(e, now);
            if (v && bodies_checked) v = request.body_checks[i];
            if (!v) { refuse(v.error().code, v.error().message); continue; }
            if (e.author != caller.user_id) { refuse("forbidden", "event author '" + e.author + "' is not the signed-in user"); continue; }
            if (e.device == kServerDevice) { refuse("forbidden", "device id 'server' is reserved"); continue; }
            if (e.device != last_device) {  // a batch comes from one device, as a rule
                auto d = device_ok.find(e.device);
                if (d == device_ok.end()) {
                    const std::string owner = store_.device_owner(e.device);
                    if (owner.empty()) unclaimed.insert(e.device);
                    d = device_ok.emplace(e.device, owner.empty() || owner == caller.user_id).first;
                }
                last_device_ok = d->second;
                last_device = e.device;
            }
            if (!last_device_ok) { refuse("forbidden", "device '" + e.device + "' belongs to another user"); continue; }
            if (e.case_id.rfind("FF-", 0) == 0) { refuse("bad_event", "case ids starting with 'FF-' are reserved for references"); continue; }
            if (e.type == ev::kRefAssigned || e.type == ev::kLegalHold) {
                refuse("forbidden", e.type + " events are written by the server only");
                continue;
            }
            if (!caller.can_write_team(e.team)) { refuse("forbidden", "no write access to team '" + e.team + "'"); continue; }
            auto kit = known.find(e.case_id);
            if (kit == known.end()) {
                Store::CaseFacts f = store_.case_facts(e.case_id);
                kit = known.emplace(e.case_id, std::make_pair(f.purged, f.team)).first;
            }
            if (kit->second.first) {
                refuse("purged", "case " + e.case_id + " was removed from the server (retention or erasure); this change cannot be kept");
                continue;
            }
            std::string team = kit->second.second;
            if (team.empty()) {
                auto it = batch_team.find(e.case_id);
                if (it != batch_team.end()) team = it->second;
            }
            if (!team.empty() && team != e.team) {
                refuse("forbidden", "case " + e.case_id + " belongs to another team");
                continue;
            }
            if (e.type == ev::kCaseCreated) batch_team.emplace(e.case_id, e.team);
            // Repeated inside one batch: the same event again is a duplicate, another with its id a
            // conflict (as against a stored event), never dropped unsaid.
            if (auto [at, fresh] = seen_ids.try_emplace(id, valid.size()); !fresh) {
                if (same_event(valid[at->second], e)) resp.duplicates++;
                else refuse("conflict", "event " + id + " was sent twice in this request with different content");
                continue;
            }
            valid.push_back(e);
        }

        // A new device becomes the caller's with its first stored event (only the caller's own
        // events get this far: authors are checked above).
        for (const auto& device : unclaimed)
            if (std::any_of(valid.begin(), valid.end(), [&](const Event& v) { return v.device == device; }))
                if (Status c = store_.claim_device(device, caller.user_id); !c) return c;
        // The server store writes case rows behind the events (Store::materialize): nothing is
        // folded here; the next reader of case rows folds every touched case once.
        auto applied = store_.apply_events(valid, {}, Store::Rows::behind);
        if (!applied) return applied.error();
        resp.accepted = applied->inserted;
        resp.duplicates += applied->duplicates;
        for (auto& r : applied->rejected) resp.rejected.push_back(Rejection{r.id, r.error.code, r.error.message});
        resp.acks = applied->acks;
        // Canonical references for newly created cases, written as server events in the same
        // transaction: numbered gap-free in case-id order, stamped and applied as one batch, the
        // reference counter written once.
        std::vector<std::string> touched;
        touched.reserve(valid.size());
        for (const auto& e : valid) touched.push_back(e.case_id);
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        std::vector<Store::LocalEvent> ref_events;
        const int year = civil_from_days(now / kDayMs).year;
        const std::string counter_key = "ref_counter_" + std::to_string(year);
        int64_t ref_counter = -1;
        for (const auto& case_id : touched) {
            Store::CaseFacts facts = store_.case_facts(case_id);
            std::string ref = facts.ref;
            if (ref.empty()) {
                if (!facts.created) continue;  // creation not here yet; reference comes with it
                if (ref_counter < 0) {
                    auto v = store_.meta(counter_key);
                    ref_counter = v ? std::stoll(*v) : 0;
                }
                char buf[40];
                std::snprintf(buf, sizeof buf, "FF-%04d-%04lld", year, static_cast<long long>(++ref_counter));
                ref = buf;
                json::Writer w;
                w.begin_object().kv("ref", ref).end_object();
                ref_events.push_back(Store::LocalEvent{case_id, facts.team, kServerAuthor, ev::kRefAssigned, w.take()});
            }
            resp.refs[case_id] = ref;
        }
        if (ref_counter >= 0)
            if (Status s = store_.set_meta(counter_key, std::to_string(ref_counter)); !s) return s;
        if (!ref_events.empty()) {
            auto written = store_.record_local_batch(ref_events, now, Store::Rows::behind);
            if (!written) return written.error();
        }
        return Status{};
    });
    if (!st) {
        // Nothing was committed: every event not refused for good is reported as not accepted,
        // so the device retries it (the checks may not have reached all of them).
        PushResponse failed;
        std::unordered_set<std::string> refused;
        for (auto& r : resp.rejected) refused.insert(r.id);
        for (const auto& e : request.events)
            if (std::string id = e.id(); !refused.count(id)) failed.rejected.push_back(Rejection{id, "unavailable", st.error().message});
        for (auto& r : resp.rejected) failed.rejected.push_back(r);
        failed.cursor = store_.max_seq();
        return failed;
    }
    resp.cursor = store_.max_seq();
    return resp;
}

PullResponse SyncServer::pull(const Caller& caller, int64_t after, int limit) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    limit = std::clamp(limit, 1, kMaxPullLimit);
    PullResponse resp;
    resp.cursor = after;
    auto evs = store_.events_after(after, limit);
    auto ts = store_.tombstones_after(after, limit);
    if (!evs || !ts) return resp;
    size_t i = 0, j = 0;
    int taken = 0;
    while (taken < limit && (i < evs->size() || j < ts->size())) {
        bool take_event = j >= ts->size() || (i < evs->size() && (*evs)[i].seq < (*ts)[j].seq);
        if (take_event) {
            StoredEvent& se = (*evs)[i++];
            resp.cursor = se.seq;
            if (caller.can_read_team(se.event.team)) resp.events.push_back(std::move(se));
        } else {
            Tombstone& t = (*ts)[j++];
            resp.cursor = t.seq;
            if (caller.can_read_team(t.team)) resp.tombstones.push_back(std::move(t));
        }
        ++taken;
    }
    resp.more = i < evs->size() || j < ts->size() || static_cast<int>(evs->size()) == limit ||
                static_cast<int>(ts->size()) == limit;
    if (resp.more && resp.cursor >= store_.max_seq()) resp.more = false;
    return resp;
}

RetentionOutcome SyncServer::run_retention(const RetentionPolicy& policy, bool dry_run, const std::string& reason) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    RetentionOutcome out;
    out.dry_run = dry_run;
    const int64_t now = clock_();
    // Candidates by index: closed before the shortest retention period ended (plus slack for
    // month-length differences); the exact rule is applied per case below.
    int min_months = policy.default_months;
    for (const auto& [kind, m] : policy.months_after_closure) min_months = std::min(min_months, m);
    const int64_t cutoff = add_months_utc(now, -min_months) + 4 * kDayMs;
    // A case row holds everything the rule reads (kind, closure time, legal hold) and the
    // tombstone's fields, so a sweep decides without folding the case (a fifth of its time at 1M
    // events). Rows from before schema 7 (retention_from -1: closure time unknown) are folded.
    struct Candidate {
        std::string id, reference, kind, team;
        int64_t closed_at = 0;  // closure_time(); -1: unknown, fold the case
        bool legal_hold = false;
    };
    std::vector<Candidate> candidates;
    if (Status st = store_.materialize(); !st) return out;  // rows must match the events first
    {
        sql::Stmt& s = store_.stmt("SELECT id, reference, kind, team, retention_from, legal_hold FROM cases"
                                   " WHERE retention_from > 0 AND retention_from <= ?1"
                                   " OR retention_from < 0 AND closed_at > 0 AND closed_at <= ?1"
                                   " ORDER BY closed_at, id");
        s.bind(1, cutoff);
        while (s.step()) candidates.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4), s.i64(5) != 0});
    }
    // Purges are committed in chunks: one fsync per chunk, not per case. A chunk that fails to
    // commit is rolled back whole and its cases stay for the next sweep. A chunk ends after about
    // a second of work: pushes wait for the write lock at most that long, and each commit rewrites
    // every page it touched, so smaller chunks rewrite the same event pages over and over (bench,
    // 1M events: 500 cases per chunk 42k events/s, one chunk a second 74k+, one transaction 85k).
    constexpr size_t kChunkMaxCases = 20000;
    constexpr auto kChunkTime = std::chrono::milliseconds(1000);
    auto chunk_started = std::chrono::steady_clock::now();
    std::vector<RetentionOutcome::Item> chunk;
    auto flush = [&]() {
        if (dry_run) return;
        Status st = store_.commit();
        if (st) for (auto& item : chunk) out.purged.push_back(std::move(item));
        chunk.clear();
    };
    if (!dry_run && !store_.begin()) return out;
    for (const auto& cand : candidates) {
        RetentionOutcome::Item item;
        Tombstone tombstone;
        bool due = false;
        if (cand.closed_at > 0) {
            if (add_months_utc(cand.closed_at, policy.months_for(cand.kind)) > now) continue;
            item = {cand.id, cand.reference, cand.kind, cand.team, cand.closed_at, {}};  // files: from the purge below
            due = !cand.legal_hold;
            if (due) tombstone = make_tombstone(cand.id, cand.reference, cand.kind, cand.team, cand.closed_at, now, reason);
        } else {
            auto c = store_.fold_case(cand.id);
            if (!c || c->id.empty()) continue;
            const int64_t ends = retention_ends_at(*c, policy);
            if (ends == 0 || ends > now) continue;
            item = {c->id, c->reference, c->kind, c->team, closure_time(*c), {}};
            due = due_for_purge(*c, policy, now);
            if (due) tombstone = make_tombstone(*c, now, reason);
        }
        if (!due) {
            out.held.push_back(std::move(item));
            continue;
        }
        if (dry_run) {
            out.purged.push_back(std::move(item));
            continue;
        }
        if (!store_.purge_case(cand.id, std::move(tombstone), &item.attachments)) continue;  // rolls the chunk back at commit
        chunk.push_back(std::move(item));
        if (chunk.size() >= kChunkMaxCases || std::chrono::steady_clock::now() - chunk_started >= kChunkTime) {
            flush();
            if (!store_.begin()) return out;
            chunk_started = std::chrono::steady_clock::now();
        }
    }
    flush();
    return out;
}

Expected<Event> SyncServer::write_server_event(const std::string& case_id, const std::string& type, const std::string& body,
                                               const std::string& author) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (store_.is_purged(case_id)) return make_error("purged", "case " + case_id + " was purged");
    std::string team = case_team(store_, case_id);
    if (team.empty()) return make_error("not_found", "no case " + case_id);
    return store_.record_local(case_id, team, author.empty() ? std::string(kServerAuthor) : author, type, body, clock_());
}

}  // namespace cl
