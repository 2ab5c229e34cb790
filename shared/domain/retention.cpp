#include "domain/retention.h"

#include "core/time.h"
#include "domain/vocab.h"

namespace cl {

namespace {

constexpr int kMinMonths = 12;
constexpr int kMaxMonths = 120;

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29u : kDays[m - 1];
}

Error bad(const std::string& what) { return make_error("bad_retention", what); }

}  // namespace

int64_t add_months_utc(int64_t t, int months) {
    int64_t days = t / kDayMs, ms = t % kDayMs;
    if (ms < 0) { ms += kDayMs; --days; }
    const CivilDate d = civil_from_days(days);
    const int64_t total = static_cast<int64_t>(d.year) * 12 + (d.month - 1) + months;
    const int64_t ny = total >= 0 ? total / 12 : -((-total + 11) / 12);
    const unsigned nm = static_cast<unsigned>(total - ny * 12) + 1;
    const unsigned day = d.day > days_in_month(ny, nm) ? days_in_month(ny, nm) : d.day;
    return days_from_civil(static_cast<int>(ny), nm, day) * kDayMs + ms;
}

// ---- policy ----

int RetentionPolicy::months_for(const std::string& kind) const {
    auto it = months_after_closure.find(kind);
    return it != months_after_closure.end() ? it->second : default_months;
}

Status RetentionPolicy::validate() const {
    auto in_range = [](int m) { return m >= kMinMonths && m <= kMaxMonths; };
    if (!in_range(default_months))
        return bad("default_months must be between 12 and 120 (got " + std::to_string(default_months) + ")");
    for (const auto& [kind, months] : months_after_closure) {
        if (!vocab::contains(vocab::kinds(), kind)) return bad("unknown case kind '" + kind + "'");
        if (!in_range(months))
            return bad("months for '" + kind + "' must be between 12 and 120 (got " + std::to_string(months) + ")");
    }
    // Anonymisation was accepted (and shown) once but never carried out: cases were purged whole.
    if (action == "anonymise") return bad("anonymise is not supported yet; use purge");
    if (action != "purge") return bad("action must be 'purge' (got '" + action + "')");
    return {};
}

// ---- per case ----

int64_t closure_time(const CaseState& c) {
    if (c.status == "closed") return c.closed_at ? c.closed_at : c.resolved_at;
    if (c.status == "resolved") return c.resolved_at;
    return 0;
}

int64_t retention_ends_at(const CaseState& c, const RetentionPolicy& p) {
    const int64_t closed = closure_time(c);
    if (closed <= 0) return 0;
    return add_months_utc(closed, p.months_for(c.kind));
}

bool due_for_purge(const CaseState& c, const RetentionPolicy& p, int64_t now) {
    if (c.legal_hold) return false;
    const int64_t ends = retention_ends_at(c, p);
    return ends != 0 && ends <= now;
}

Tombstone make_tombstone(const CaseState& c, int64_t now, const std::string& reason) {
    return make_tombstone(c.id, c.reference, c.kind, c.team, closure_time(c), now, reason);
}

Tombstone make_tombstone(std::string case_id, std::string reference, std::string kind, std::string team, int64_t closed_at,
                         int64_t now, const std::string& reason) {
    Tombstone t;
    t.case_id = std::move(case_id);
    t.reference = std::move(reference);
    t.kind = std::move(kind);
    t.team = std::move(team);
    t.reason = reason;
    t.closed_at = closed_at;
    t.purged_at = now;
    return t;
}

void write_tombstone(json::Writer& w, const Tombstone& t) {
    w.begin_object()
        .kv("case_id", t.case_id)
        .kv("reference", t.reference)
        .kv("kind", t.kind)
        .kv("team", t.team)
        .kv("reason", t.reason)
        .kv("closed_at", t.closed_at)
        .kv("purged_at", t.purged_at)
        .kv("seq", t.seq)
        .end_object();
}

Expected<Tombstone> tombstone_from_value(const json::Value& v) {
    auto err = [](const std::string& m) { return make_error("bad_tombstone", m); };
    if (!v.IsObject()) return err("tombstone is not a JSON object");
    std::string unknown =
        json::unknown_member(v, {"case_id", "reference", "kind", "team", "reason", "closed_at", "purged_at", "seq"});
    if (!unknown.empty()) return err("unknown tombstone field '" + unknown + "'");
    Tombstone t;
    if (!json::get(v, "case_id", t.case_id) || t.case_id.empty()) return err("tombstone needs a non-empty string case_id");
    struct S { const char* key; std::string* out; };
    for (S s : {S{"reference", &t.reference}, S{"kind", &t.kind}, S{"team", &t.team}, S{"reason", &t.reason}})
        if (json::has(v, s.key) && !json::get(v, s.key, *s.out)) return err(std::string("tombstone field '") + s.key + "' must be a string");
    struct I { const char* key; int64_t* out; };
    for (I i : {I{"closed_at", &t.closed_at}, I{"purged_at", &t.purged_at}, I{"seq", &t.seq}})
        if (json::has(v, i.key) && !json::get(v, i.key, *i.out)) return err(std::string("tombstone field '") + i.key + "' must be an integer");
    return t;
}

// ---- policy JSON ----

std::string retention_to_json(const RetentionPolicy& p) {
    json::Writer w;
    w.begin_object().key("months_after_closure").begin_object();
    for (const auto& [kind, months] : p.months_after_closure) w.kv(kind, months);
    w.end_object().kv("default_months", p.default_months).kv("action", p.action).end_object();
    return w.take();
}

// Strict: unknown members and wrong types are errors; missing members keep their defaults; a
// given months_after_closure replaces the default map. The result is validated.
Expected<RetentionPolicy> retention_from_json(std::string_view text) {
    auto doc = json::parse(text, 1u << 20);
    if (!doc) return doc.error();
    const json::Value& v = doc->root();
    if (!v.IsObject()) return bad("retention policy is not a JSON object");
    std::string unknown = json::unknown_member(v, {"months_after_closure", "default_months", "action"});
    if (!unknown.empty()) return bad("unknown retention field '" + unknown + "'");
    RetentionPolicy p;
    if (const json::Value* m = json::member(v, "months_after_closure")) {
        if (!m->IsObject()) return bad("months_after_closure must be an object");
        p.months_after_closure.clear();
        for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
            std::string kind(it->name.GetString(), it->name.GetStringLength());
            if (!it->value.IsInt()) return bad("months for '" + kind + "' must be an integer");
            p.months_after_closure[kind] = it->value.GetInt();
        }
    }
    if (json::has(v, "default_months") && !json::get(v, "default_months", p.default_months))
        return bad("default_months must be an integer");
    if (json::has(v, "action") && !json::get(v, "action", p.action)) return bad("action must be a string");
    if (Status s = p.validate(); !s) return s.error();
    return p;
}

}  // namespace cl
