#include "domain/case.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

#include "domain/vocab.h"

namespace cl {

int64_t CaseState::first_contact(const std::string& step) const {
    int64_t best = 0;
    for (const auto& c : contacts)
        if (c.step == step && (best == 0 || c.at < best)) best = c.at;
    return best;
}

bool CaseState::is_negative() const {
    if (category == "negative" || category == "complaint") return true;
    for (const auto& s : surveys)
        if ((s.csat > 0 && s.csat <= 2) || (s.nps >= 0 && s.nps <= 6)) return true;
    return false;
}

namespace detail {

struct Winner {  // the event whose value currently stands for a scalar field
    std::string event_id, author, value;
};

namespace {

using json::Value;

// Member lookups on an object (the body, or its "client"), with the same results as json::get /
// json::member, without measuring the key on every call.
template <size_t N>
const Value* mem(const Value& obj, const char (&key)[N]) {
    auto it = obj.FindMember(Value(rapidjson::StringRef(key, N - 1)));
    return it == obj.MemberEnd() ? nullptr : &it->value;
}
std::string_view text_of(const Value& v) { return std::string_view(v.GetString(), v.GetStringLength()); }
// The string member, or empty when it is missing or not a string (what json::get leaves in an
// empty std::string).
template <size_t N>
std::string_view str(const Value& obj, const char (&key)[N]) {
    const Value* v = mem(obj, key);
    return v && v->IsString() ? text_of(*v) : std::string_view();
}
template <size_t N>
bool get_str(const Value& obj, const char (&key)[N], std::string& out) {
    const Value* v = mem(obj, key);
    if (!v || !v->IsString()) return false;
    out.assign(v->GetString(), v->GetStringLength());
    return true;
}
// int, int64_t or bool: rapidjson's Is<T>() also refuses a number that does not fit.
template <typename T, size_t N>
bool get_num(const Value& obj, const char (&key)[N], T& out) {
    const Value* v = mem(obj, key);
    if (!v || !v->template Is<T>()) return false;
    out = v->template Get<T>();
    return true;
}

enum class Type : uint8_t {
    Created, FieldSet, Note, Status, Assigned, Contact, Survey, Escalated, Resolved, FollowUp, Attachment, Linked,
    LegalHold, Ref, Unknown
};

Type type_of(std::string_view t) {
    // A dozen names: a scan that compares lengths first is as fast as a hash here.
    static constexpr std::pair<std::string_view, Type> kTypes[] = {
        {ev::kCaseCreated, Type::Created},     {ev::kFieldSet, Type::FieldSet},        {ev::kNoteAdded, Type::Note},
        {ev::kStatusChanged, Type::Status},    {ev::kAssigned, Type::Assigned},        {ev::kContactLogged, Type::Contact},
        {ev::kSurveyRecorded, Type::Survey},   {ev::kEscalated, Type::Escalated},      {ev::kResolved, Type::Resolved},
        {ev::kFollowUpDone, Type::FollowUp},   {ev::kAttachmentAdded, Type::Attachment},
        {ev::kImprovementLinked, Type::Linked}, {ev::kLegalHold, Type::LegalHold},     {ev::kRefAssigned, Type::Ref},
    };
    for (const auto& [name, type] : kTypes)
        if (t == name) return type;
    return Type::Unknown;
}

// The text a scalar field's value is compared and reported as. Points into v, a literal or `buf`.
std::string_view value_text(const Value& v, std::string& buf) {
    if (v.IsString()) return text_of(v);
    if (v.IsBool()) return v.GetBool() ? "true" : "false";
    if (v.IsInt64()) return buf = std::to_string(v.GetInt64());
    if (v.IsNull()) return {};
    return buf = json::to_string(v);
}

// e.id(), written into `out` (whose buffer is reused from event to event).
void write_id(std::string& out, const Event& e) {
    char num[24];
    char* end = std::to_chars(num, num + sizeof num, e.counter).ptr;
    out.assign(e.device);
    out.push_back(':');
    out.append(num, end);
}

// One parser per thread, reused for every event body folded on it.
json::Parser& body_parser() {
    static thread_local json::Parser parser;
    return parser;
}

}  // namespace

class Folder {
public:
    CaseState c;

    void apply(const Event& e) {
        c.event_count++;
        write_id(c.last_event, e);
        const std::string& id = c.last_event;  // e.id() for the rest of this event
        if (c.id.empty()) c.id = e.case_id;
        if (c.team.empty()) c.team = e.team;
        if (e.clock.wall_ms > c.updated_at) c.updated_at = e.clock.wall_ms;
        auto doc = body_parser().parse(e.body);
        if (!doc || !(*doc)->IsObject()) {
            invalid(e, id, "body is not a JSON object");
            return;
        }
        const Value& b = **doc;
        const int64_t at = e.clock.wall_ms;
        // A new entry of one of the case's logs (notes, contacts, surveys, ...), stamped by e.
        auto entry = [&](auto& log) -> auto& {
            auto& x = log.emplace_back();
            x.event_id = id;
            x.author = e.author;
            x.at = at;
            return x;
        };
        switch (type_of(e.type)) {
            case Type::Created:
                created(e, id, b);
                break;
            case Type::FieldSet:
                field_set(e, id, b);
                break;
            case Type::Note: {
                Note& n = entry(c.notes);
                get_str(b, "text", n.text);
                break;
            }
            case Type::Status:
                change_status(e, id, str(b, "to"), str(b, "from"));
                break;
            case Type::Assigned:
                set_scalar(e, id, "assignee", str(b, "assignee"), str(b, "base"));
                break;
            case Type::Contact: {
                ContactLog& l = entry(c.contacts);
                get_str(b, "step", l.step);
                get_str(b, "channel", l.channel);
                get_str(b, "note", l.note);
                break;
            }
            case Type::Survey: {
                SurveyResponse& s = entry(c.surveys);
                get_num(b, "csat", s.csat);
                get_num(b, "nps", s.nps);
                get_str(b, "comment", s.comment);
                get_str(b, "suggestion", s.suggestion);
                get_str(b, "channel", s.channel);
                get_num(b, "incentive", s.incentive);
                if (const Value* tags = mem(b, "tags"); tags && tags->IsArray())
                    for (auto& tag : tags->GetArray())
                        if (tag.IsString()) s.tags.emplace_back(tag.GetString(), tag.GetStringLength());
                break;
            }
            case Type::Escalated: {
                Escalation& x = entry(c.escalations);
                get_str(b, "reason", x.reason);
                get_str(b, "to", x.to);
                break;
            }
            case Type::Resolved:
                c.resolution.assign(str(b, "resolution"));
                if (c.status != "resolved") change_status(e, id, "resolved", "");
                if (c.status == "resolved" && c.resolved_at == 0) c.resolved_at = at;
                break;
            case Type::FollowUp: {
                FollowUp& f = entry(c.follow_ups);
                get_num(b, "satisfied", f.satisfied);
                get_str(b, "note", f.note);
                get_str(b, "channel", f.channel);
                break;
            }
            case Type::Attachment: {
                Attachment& a = entry(c.attachments);
                get_str(b, "name", a.name);
                get_str(b, "type", a.type);
                get_str(b, "sha256", a.sha256);
                get_num(b, "size", a.size);
                break;
            }
            case Type::Linked: {
                std::string_view linked = str(b, "case");
                if (std::find(c.links.begin(), c.links.end(), linked) == c.links.end()) c.links.emplace_back(linked);
                break;
            }
            case Type::LegalHold:
                get_num(b, "hold", c.legal_hold);
                break;
            case Type::Ref:
                if (c.reference.empty() || c.reference == c.id) c.reference.assign(str(b, "ref"));  // first assignment stands
                break;
            case Type::Unknown:
                invalid(e, id, "unknown event type '" + e.type + "'");
                break;
        }
    }

    void finish() {
        if (c.reference.empty()) c.reference = c.id;
        if (!c.status_history.empty() && c.status_history.back().to == 0) { /* open span stays open */ }
    }

private:
    // The scalar fields' current winners: a dozen at most, so a flat list (lookups only, never
    // iterated: its order does not matter).
    struct Slot {
        std::string field;
        Winner w;
    };
    std::vector<Slot> winners_;

    Winner* find_winner(std::string_view field) {
        for (auto& s : winners_)
            if (s.field == field) return &s.w;
        return nullptr;
    }
    Winner& winner(std::string_view field) {  // inserts an empty one when missing (like map::operator[])
        if (Winner* w = find_winner(field)) return *w;
        if (winners_.empty()) winners_.reserve(16);
        winners_.push_back(Slot{std::string(field), Winner{}});
        return winners_.back().w;
    }
    void set_winner(std::string_view field, const std::string& id, const std::string& author, std::string_view value) {
        Winner& w = winner(field);
        w.event_id = id;
        w.author = author;
        w.value.assign(value);
    }

    void invalid(const Event& e, const std::string& id, const std::string& why) {
        Conflict& k = c.conflicts.emplace_back();
        k.kind = "invalid";
        k.field = e.type;
        k.other_event = id;
        k.other_author = e.author;
        k.other_value = why;
        k.at = e.clock.wall_ms;
    }

    void created(const Event& e, const std::string& id, const Value& b) {
        c.created_at = e.clock.wall_ms;
        c.created_by = e.author;
        get_str(b, "kind", c.kind);
        auto init = [&](const Value* v, std::string_view key, std::string& field) {
            if (v && v->IsString()) {
                field.assign(v->GetString(), v->GetStringLength());
                set_winner(key, id, e.author, field);
            }
        };
        init(mem(b, "title"), "title", c.title);
        init(mem(b, "description"), "description", c.description);
        init(mem(b, "category"), "category", c.category);
        init(mem(b, "priority"), "priority", c.priority);
        init(mem(b, "assignee"), "assignee", c.assignee);
        if (get_num(b, "urgent", c.urgent)) set_winner("urgent", id, e.author, c.urgent ? "true" : "false");
        if (get_num(b, "high_impact", c.high_impact)) set_winner("high_impact", id, e.author, c.high_impact ? "true" : "false");
        if (get_num(b, "service_completed_at", c.service_completed_at))
            set_winner("service_completed_at", id, e.author, std::to_string(c.service_completed_at));
        if (get_num(b, "due_at", c.due_at)) set_winner("due_at", id, e.author, std::to_string(c.due_at));
        if (const Value* cl = mem(b, "client"); cl && cl->IsObject()) {
            init(mem(*cl, "name"), "client_name", c.client.name);
            init(mem(*cl, "contact"), "client_contact", c.client.contact);
            init(mem(*cl, "channel"), "channel", c.client.channel);
        }
        if (c.status_history.empty()) c.status_history.push_back(StatusSpan{c.status, e.clock.wall_ms, 0});
    }

    void field_set(const Event& e, const std::string& id, const Value& b) {
        std::string_view field = str(b, "field"), base = str(b, "base");
        const Value* v = mem(b, "value");
        if (!v) { invalid(e, id, "field.set without value"); return; }
        std::string buf;
        std::string_view text = value_text(*v, buf);
        if (!set_scalar(e, id, field, text, base)) return;
        if (field == "title") c.title.assign(text);
        else if (field == "description") c.description.assign(text);
        else if (field == "category") c.category.assign(text);
        else if (field == "priority") c.priority.assign(text);
        else if (field == "urgent") c.urgent = v->IsBool() && v->GetBool();
        else if (field == "high_impact") c.high_impact = v->IsBool() && v->GetBool();
        else if (field == "client_name") c.client.name.assign(text);
        else if (field == "client_contact") c.client.contact.assign(text);
        else if (field == "channel") c.client.channel.assign(text);
        else if (field == "service_completed_at") c.service_completed_at = v->IsInt64() ? v->GetInt64() : 0;
        else if (field == "due_at") c.due_at = v->IsInt64() ? v->GetInt64() : 0;
    }

    // Last writer wins in fold order; a write whose base is not the current winner was made
    // without seeing it: record the concurrent pair. Returns true (the write always applies).
    // `field`, `value` and `base` never point into the winners or the case state.
    bool set_scalar(const Event& e, const std::string& id, std::string_view field, std::string_view value, std::string_view base) {
        Winner* w = find_winner(field);
        if (w && !base.empty() && base != w->event_id && w->value != value) {
            Conflict& k = c.conflicts.emplace_back();
            k.kind = "field";
            k.field.assign(field);
            k.kept_value.assign(value);
            k.kept_author = e.author;
            k.kept_event = id;
            k.other_value = w->value;
            k.other_author = w->author;
            k.other_event = w->event_id;
            k.at = e.clock.wall_ms;
        }
        set_winner(field, id, e.author, value);
        if (field == "assignee") c.assignee.assign(value);
        return true;
    }

    void change_status(const Event& e, const std::string& id, std::string_view to, std::string_view from) {
        if (to == c.status) return;  // already there (e.g. two devices resolved the same case)
        Winner& last = winner("status");
        if (!vocab::transition_allowed(c.status, to)) {
            Conflict& k = c.conflicts.emplace_back();
            k.kind = "status";
            k.field = "status";
            k.kept_value = c.status;
            k.kept_author = last.author;
            k.kept_event = last.event_id;
            k.other_value.assign(to);
            k.other_author = e.author;
            k.other_event = id;
            k.at = e.clock.wall_ms;
            return;
        }
        if (!from.empty() && from != c.status) {
            // Valid now, but made from a status that had changed concurrently: show it.
            Conflict& k = c.conflicts.emplace_back();
            k.kind = "status";
            k.field = "status";
            k.kept_value.assign(to);
            k.kept_author = e.author;
            k.kept_event = id;
            k.other_value = c.status;
            k.other_author = last.author;
            k.other_event = last.event_id;
            k.at = e.clock.wall_ms;
        }
        const int64_t at = e.clock.wall_ms;
        if (!c.status_history.empty() && c.status_history.back().to == 0) c.status_history.back().to = at;
        c.status_history.push_back(StatusSpan{std::string(to), at, 0});
        c.status.assign(to);
        last.event_id = id;
        last.author = e.author;
        last.value.assign(to);
        if (to == "resolved" && c.resolved_at == 0) c.resolved_at = at;
        if (to == "closed") c.closed_at = at;
        if (to == "in_progress" || to == "new" || to == "awaiting_client") { c.closed_at = 0; c.resolved_at = 0; }
    }
};

}  // namespace detail

using detail::Folder;

CaseFolder::CaseFolder() : f_(std::make_unique<Folder>()) {}
CaseFolder::~CaseFolder() = default;
CaseFolder::CaseFolder(CaseFolder&&) noexcept = default;
CaseFolder& CaseFolder::operator=(CaseFolder&&) noexcept = default;

namespace {
bool key_before(const Hlc& ac, const std::string& ad, uint64_t an, const Event& b) {
    if (!(ac == b.clock)) return ac < b.clock;
    if (ad != b.device) return ad < b.device;
    return an < b.counter;
}
}  // namespace

bool CaseFolder::commutes(const Event& e) const {
    // A reference assignment only sets `reference` (once: the first stands), the event count and
    // the newest time: the same wherever it sits in the order, as long as it is the only one.
    return e.type == ev::kRefAssigned && (f_->c.reference.empty() || f_->c.reference == f_->c.id);
}

bool CaseFolder::follows(const Event& e) const {
    return !ordered_ || key_before(last_.clock, last_.device, last_.counter, e);
}

bool CaseFolder::try_apply(const Event& e) {
    const bool order_free = commutes(e);
    if (!order_free && !follows(e)) return false;
    f_->apply(e);
    if (!order_free) {
        last_ = {e.clock, e.device, e.counter};
        ordered_ = true;
    }
    if (!any_ || key_before(newest_.clock, newest_.device, newest_.counter, e)) {
        newest_ = {e.clock, e.device, e.counter};
        newest_id_ = f_->c.last_event;  // e.id(), just written by apply()
        any_ = true;
    }
    f_->c.last_event = newest_id_;  // the last event in fold order, wherever it was applied
    return true;
}

const CaseState& CaseFolder::current() const { return f_->c; }

CaseState CaseFolder::state() const {
    CaseState c = f_->c;
    if (c.reference.empty()) c.reference = c.id;  // what Folder::finish does
    return c;
}

namespace {
// Asks for the start of an event's body ahead of its parse: the bodies of one case lie far apart
// in memory, and parsing waits for each one in turn otherwise. Only a hint: no effect on results.
inline void prefetch_body(const Event& e) {
#if defined(__GNUC__) || defined(__clang__)
    const char* p = e.body.data();
    const size_t n = std::min<size_t>(e.body.size(), 256);
    for (size_t off = 0; off < n; off += 64) __builtin_prefetch(p + off);
#else
    (void)e;
#endif
}
}  // namespace

CaseState fold_sorted(const std::vector<Event>& events) {
    for (const auto& e : events) prefetch_body(e);
    Folder f;
    for (const auto& e : events) f.apply(e);
    f.finish();
    return std::move(f.c);
}

namespace {
// A pointer to an event that std::sort handles like an Event: not trivially copyable, so the
// library takes the same path for it (libc++ picks its insertion-sort cut-off by that trait).
struct EventRef {
    const Event* e;
    explicit EventRef(const Event* p) : e(p) {}
    EventRef(const EventRef& o) : e(o.e) {}
    EventRef& operator=(const EventRef& o) {
        e = o.e;
        return *this;
    }
};
}  // namespace

namespace {
template <class Range, class Ptr>
CaseState fold_refs(const Range& events, Ptr ptr) {
    // Sorts references instead of the events: std::sort then makes the same comparisons and moves
    // as on copies of the events, so the order (of equal keys too: one id with two bodies) is the
    // one sorting copies gives. Input already in strictly increasing order has only that order
    // and is not sorted again.
    std::vector<EventRef> order;
    order.reserve(events.size());
    bool ascending = true;
    for (const auto& x : events) {
        const Event& e = *ptr(x);
        if (ascending && !order.empty() && !event_before(*order.back().e, e)) ascending = false;
        order.emplace_back(&e);
        prefetch_body(e);
    }
    if (!ascending)
        std::sort(order.begin(), order.end(), [](const EventRef& a, const EventRef& b) { return event_before(*a.e, *b.e); });
    order.erase(std::unique(order.begin(), order.end(),
                            [](const EventRef& a, const EventRef& b) {
                                return a.e->device == b.e->device && a.e->counter == b.e->counter;
                            }),
                order.end());
    Folder f;
    for (const EventRef& r : order) f.apply(*r.e);
    f.finish();
    return std::move(f.c);
}
}  // namespace

CaseState fold(const std::vector<Event>& events) {
    return fold_refs(events, [](const Event& e) { return &e; });
}

CaseState fold(const std::vector<const Event*>& events) {
    return fold_refs(events, [](const Event* e) { return e; });
}

void write_case(json::Writer& w, const CaseState& c) {
    w.begin_object()
        .kv("id", c.id)
        .kv("reference", c.reference)
        .kv("kind", c.kind)
        .kv("team", c.team)
        .kv("created_by", c.created_by)
        .kv("created_at", c.created_at)
        .kv("updated_at", c.updated_at)
        .key("client")
        .begin_object()
        .kv("name", c.client.name)
        .kv("contact", c.client.contact)
        .kv("channel", c.client.channel)
        .end_object()
        .kv("service_completed_at", c.service_completed_at)
        .kv("due_at", c.due_at)
        .kv("title", c.title)
        .kv("description", c.description)
        .kv("status", c.status)
        .kv("priority", c.priority)
        .kv("category", c.category)
        .kv("urgent", c.urgent)
        .kv("high_impact", c.high_impact)
        .kv("assignee", c.assignee)
        .kv("resolution", c.resolution)
        .kv("resolved_at", c.resolved_at)
        .kv("closed_at", c.closed_at)
        .kv("legal_hold", c.legal_hold);
    w.key("notes").begin_array();
    for (auto& n : c.notes) w.begin_object().kv("event", n.event_id).kv("author", n.author).kv("at", n.at).kv("text", n.text).end_object();
    w.end_array().key("attachments").begin_array();
    for (auto& a : c.attachments)
        w.begin_object().kv("event", a.event_id).kv("author", a.author).kv("at", a.at).kv("name", a.name).kv("type", a.type)
            .kv("size", a.size).kv("sha256", a.sha256).end_object();
    w.end_array().key("surveys").begin_array();
    for (auto& s : c.surveys) {
        w.begin_object().kv("event", s.event_id).kv("author", s.author).kv("at", s.at);
        if (s.csat > 0) w.kv("csat", s.csat);
        if (s.nps >= 0) w.kv("nps", s.nps);
        w.kv("comment", s.comment).kv("suggestion", s.suggestion).kv("channel", s.channel).kv("incentive", s.incentive);
        w.key("tags").begin_array();
        for (auto& t : s.tags) w.str(t);
        w.end_array().end_object();
    }
    w.end_array().key("contacts").begin_array();
    for (auto& x : c.contacts)
        w.begin_object().kv("event", x.event_id).kv("author", x.author).kv("at", x.at).kv("step", x.step).kv("channel", x.channel)
            .kv("note", x.note).end_object();
    w.end_array().key("escalations").begin_array();
    for (auto& x : c.escalations)
        w.begin_object().kv("event", x.event_id).kv("author", x.author).kv("at", x.at).kv("reason", x.reason).kv("to", x.to).end_object();
    w.end_array().key("follow_ups").begin_array();
    for (auto& x : c.follow_ups)
        w.begin_object().kv("event", x.event_id).kv("author", x.author).kv("at", x.at).kv("satisfied", x.satisfied)
            .kv("note", x.note).kv("channel", x.channel).end_object();
    w.end_array().key("status_history").begin_array();
    for (auto& x : c.status_history) w.begin_object().kv("status", x.status).kv("from", x.from).kv("to", x.to).end_object();
    w.end_array().key("links").begin_array();
    for (auto& l : c.links) w.str(l);
    w.end_array().key("conflicts").begin_array();
    for (auto& k : c.conflicts)
        w.begin_object().kv("kind", k.kind).kv("field", k.field).kv("at", k.at)
            .kv("kept_value", k.kept_value).kv("kept_author", k.kept_author).kv("kept_event", k.kept_event)
            .kv("other_value", k.other_value).kv("other_author", k.other_author).kv("other_event", k.other_event).end_object();
    w.end_array().kv("event_count", static_cast<uint64_t>(c.event_count)).kv("last_event", c.last_event).end_object();
}

std::string case_to_json(const CaseState& c) {
    json::Writer w;
    write_case(w, c);
    return w.take();
}

}  // namespace cl
