#include "domain/case.h"

#include <algorithm>
#include <map>

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

namespace {

struct Winner {  // the event whose value currently stands for a scalar field
    std::string event_id, author, value;
};

std::string value_text(const json::Value& v) {
    if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
    if (v.IsBool()) return v.GetBool() ? "true" : "false";
    if (v.IsInt64()) return std::to_string(v.GetInt64());
    if (v.IsNull()) return "";
    return json::to_string(v);
}

class Folder {
public:
    CaseState c;

    void apply(const Event& e) {
        c.event_count++;
        c.last_event = e.id();
        if (c.id.empty()) c.id = e.case_id;
        if (c.team.empty()) c.team = e.team;
        if (e.clock.wall_ms > c.updated_at) c.updated_at = e.clock.wall_ms;
        auto doc = json::parse(e.body);
        if (!doc || !doc->root().IsObject()) {
            invalid(e, "body is not a JSON object");
            return;
        }
        const json::Value& b = doc->root();
        const std::string& t = e.type;
        const int64_t at = e.clock.wall_ms;
        if (t == ev::kCaseCreated) created(e, b);
        else if (t == ev::kFieldSet) field_set(e, b);
        else if (t == ev::kNoteAdded) {
            Note n{e.id(), e.author, "", at};
            json::get(b, "text", n.text);
            c.notes.push_back(std::move(n));
        } else if (t == ev::kStatusChanged) {
            std::string to, from;
            json::get(b, "to", to);
            json::get(b, "from", from);
            change_status(e, to, from);
        } else if (t == ev::kAssigned) {
            std::string a, base;
            json::get(b, "assignee", a);
            json::get(b, "base", base);
            set_scalar(e, "assignee", a, base);
        } else if (t == ev::kContactLogged) {
            ContactLog l{e.id(), e.author, "", "", "", at};
            json::get(b, "step", l.step);
            json::get(b, "channel", l.channel);
            json::get(b, "note", l.note);
            c.contacts.push_back(std::move(l));
        } else if (t == ev::kSurveyRecorded) {
            SurveyResponse s;
            s.event_id = e.id();
            s.author = e.author;
            s.at = at;
            json::get(b, "csat", s.csat);
            json::get(b, "nps", s.nps);
            json::get(b, "comment", s.comment);
            json::get(b, "suggestion", s.suggestion);
            json::get(b, "channel", s.channel);
            json::get(b, "incentive", s.incentive);
            if (const json::Value* tags = json::member(b, "tags"); tags && tags->IsArray())
                for (auto& tag : tags->GetArray())
                    if (tag.IsString()) s.tags.emplace_back(tag.GetString(), tag.GetStringLength());
            c.surveys.push_back(std::move(s));
        } else if (t == ev::kEscalated) {
            Escalation x{e.id(), e.author, "", "", at};
            json::get(b, "reason", x.reason);
            json::get(b, "to", x.to);
            c.escalations.push_back(std::move(x));
        } else if (t == ev::kResolved) {
            std::string res;
            json::get(b, "resolution", res);
            c.resolution = res;
            if (c.status != "resolved") change_status(e, "resolved", "");
            if (c.status == "resolved" && c.resolved_at == 0) c.resolved_at = at;
        } else if (t == ev::kFollowUpDone) {
            FollowUp f{e.id(), e.author, "", "", false, at};
            json::get(b, "satisfied", f.satisfied);
            json::get(b, "note", f.note);
            json::get(b, "channel", f.channel);
            c.follow_ups.push_back(std::move(f));
        } else if (t == ev::kAttachmentAdded) {
            Attachment a{e.id(), e.author, "", "", "", 0, at};
            json::get(b, "name", a.name);
            json::get(b, "type", a.type);
            json::get(b, "sha256", a.sha256);
            json::get(b, "size", a.size);
            c.attachments.push_back(std::move(a));
        } else if (t == ev::kImprovementLinked) {
            std::string linked;
            json::get(b, "case", linked);
            if (std::find(c.links.begin(), c.links.end(), linked) == c.links.end()) c.links.push_back(linked);
        } else if (t == ev::kLegalHold) {
            json::get(b, "hold", c.legal_hold);
        } else if (t == ev::kRefAssigned) {
            std::string ref;
            json::get(b, "ref", ref);
            if (c.reference.empty() || c.reference == c.id) c.reference = ref;  // first assignment stands
        } else {
            invalid(e, "unknown event type '" + t + "'");
        }
    }

    void finish() {
        if (c.reference.empty()) c.reference = c.id;
        if (!c.status_history.empty() && c.status_history.back().to == 0) { /* open span stays open */ }
    }

private:
    std::map<std::string, Winner> winners_;

    void invalid(const Event& e, const std::string& why) {
        Conflict k;
        k.kind = "invalid";
        k.field = e.type;
        k.other_event = e.id();
        k.other_author = e.author;
        k.other_value = why;
        k.at = e.clock.wall_ms;
        c.conflicts.push_back(std::move(k));
    }

    void created(const Event& e, const json::Value& b) {
        c.created_at = e.clock.wall_ms;
        c.created_by = e.author;
        json::get(b, "kind", c.kind);
        std::string s;
        auto init = [&](const char* key, std::string& field) {
            if (json::get(b, key, s)) { field = s; winners_[key] = Winner{e.id(), e.author, s}; }
        };
        init("title", c.title);
        init("description", c.description);
        init("category", c.category);
        init("priority", c.priority);
        init("assignee", c.assignee);
        if (json::get(b, "urgent", c.urgent)) winners_["urgent"] = Winner{e.id(), e.author, c.urgent ? "true" : "false"};
        if (json::get(b, "high_impact", c.high_impact))
            winners_["high_impact"] = Winner{e.id(), e.author, c.high_impact ? "true" : "false"};
        if (json::get(b, "service_completed_at", c.service_completed_at))
            winners_["service_completed_at"] = Winner{e.id(), e.author, std::to_string(c.service_completed_at)};
        if (json::get(b, "due_at", c.due_at)) winners_["due_at"] = Winner{e.id(), e.author, std::to_string(c.due_at)};
        if (const json::Value* cl = json::member(b, "client"); cl && cl->IsObject()) {
            if (json::get(*cl, "name", c.client.name)) winners_["client_name"] = Winner{e.id(), e.author, c.client.name};
            if (json::get(*cl, "contact", c.client.contact))
                winners_["client_contact"] = Winner{e.id(), e.author, c.client.contact};
            if (json::get(*cl, "channel", c.client.channel)) winners_["channel"] = Winner{e.id(), e.author, c.client.channel};
        }
        if (c.status_history.empty()) c.status_history.push_back(StatusSpan{c.status, e.clock.wall_ms, 0});
    }

    void field_set(const Event& e, const json::Value& b) {
        std::string field, base;
        json::get(b, "field", field);
        json::get(b, "base", base);
        const json::Value* v = json::member(b, "value");
        if (!v) { invalid(e, "field.set without value"); return; }
        std::string text = value_text(*v);
        if (!set_scalar(e, field, text, base)) return;
        if (field == "title") c.title = text;
        else if (field == "description") c.description = text;
        else if (field == "category") c.category = text;
        else if (field == "priority") c.priority = text;
        else if (field == "urgent") c.urgent = v->IsBool() && v->GetBool();
        else if (field == "high_impact") c.high_impact = v->IsBool() && v->GetBool();
        else if (field == "client_name") c.client.name = text;
        else if (field == "client_contact") c.client.contact = text;
        else if (field == "channel") c.client.channel = text;
        else if (field == "service_completed_at") c.service_completed_at = v->IsInt64() ? v->GetInt64() : 0;
        else if (field == "due_at") c.due_at = v->IsInt64() ? v->GetInt64() : 0;
    }

    // Last writer wins in fold order; a write whose base is not the current winner was made
    // without seeing it: record the concurrent pair. Returns true (the write always applies).
    bool set_scalar(const Event& e, const std::string& field, const std::string& value, const std::string& base) {
        auto it = winners_.find(field);
        if (it != winners_.end() && !base.empty() && base != it->second.event_id && it->second.value != value) {
            Conflict k;
            k.kind = "field";
            k.field = field;
            k.kept_value = value;
            k.kept_author = e.author;
            k.kept_event = e.id();
            k.other_value = it->second.value;
            k.other_author = it->second.author;
            k.other_event = it->second.event_id;
            k.at = e.clock.wall_ms;
            c.conflicts.push_back(std::move(k));
        }
        winners_[field] = Winner{e.id(), e.author, value};
        if (field == "assignee") c.assignee = value;
        return true;
    }

    void change_status(const Event& e, const std::string& to, const std::string& from) {
        if (to == c.status) return;  // already there (e.g. two devices resolved the same case)
        Winner& last = winners_["status"];
        if (!vocab::transition_allowed(c.status, to)) {
            Conflict k;
            k.kind = "status";
            k.field = "status";
            k.kept_value = c.status;
            k.kept_author = last.author;
            k.kept_event = last.event_id;
            k.other_value = to;
            k.other_author = e.author;
            k.other_event = e.id();
            k.at = e.clock.wall_ms;
            c.conflicts.push_back(std::move(k));
            return;
        }
        if (!from.empty() && from != c.status) {
            // Valid now, but made from a status that had changed concurrently: show it.
            Conflict k;
            k.kind = "status";
            k.field = "status";
            k.kept_value = to;
            k.kept_author = e.author;
            k.kept_event = e.id();
            k.other_value = c.status;
            k.other_author = last.author;
            k.other_event = last.event_id;
            k.at = e.clock.wall_ms;
            c.conflicts.push_back(std::move(k));
        }
        const int64_t at = e.clock.wall_ms;
        if (!c.status_history.empty() && c.status_history.back().to == 0) c.status_history.back().to = at;
        c.status_history.push_back(StatusSpan{to, at, 0});
        c.status = to;
        last = Winner{e.id(), e.author, to};
        if (to == "resolved" && c.resolved_at == 0) c.resolved_at = at;
        if (to == "closed") c.closed_at = at;
        if (to == "in_progress" || to == "new" || to == "awaiting_client") { c.closed_at = 0; c.resolved_at = 0; }
    }
};

}  // namespace

CaseState fold_sorted(const std::vector<Event>& events) {
    Folder f;
    for (const auto& e : events) f.apply(e);
    f.finish();
    return std::move(f.c);
}

CaseState fold(std::vector<Event> events) {
    std::sort(events.begin(), events.end(), event_before);
    events.erase(std::unique(events.begin(), events.end(),
                             [](const Event& a, const Event& b) { return a.device == b.device && a.counter == b.counter; }),
                 events.end());
    return fold_sorted(events);
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
