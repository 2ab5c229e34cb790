#include "domain/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>

#include "core/time.h"
#include "domain/vocab.h"

namespace cl {

// ---------------------------------------------------------------- surveys

SurveyStats survey_stats(const std::vector<const SurveyResponse*>& responses) {
    SurveyStats s;
    int64_t csat_sum = 0;
    for (const SurveyResponse* r : responses) {
        if (!r) continue;
        if (r->csat >= 1 && r->csat <= 5) {
            s.csat_responses++;
            csat_sum += r->csat;
            if (r->csat >= 4) s.csat_satisfied++;
        }
        if (r->nps >= 0 && r->nps <= 10) {
            s.nps_responses++;
            if (r->nps >= 9) s.promoters++;
            else if (r->nps >= 7) s.passives++;
            else s.detractors++;
        }
    }
    if (s.csat_responses > 0) {
        s.csat_percent = 100.0 * s.csat_satisfied / s.csat_responses;
        s.csat_mean = static_cast<double>(csat_sum) / s.csat_responses;
    }
    if (s.nps_responses > 0) s.nps = 100.0 * (s.promoters - s.detractors) / s.nps_responses;
    return s;
}

std::string immediate_escalation_reason(const CaseState& c) {
    if (c.urgent) return "flagged urgent";
    if (c.high_impact) return "flagged high impact";
    if (c.priority == "urgent") return "priority urgent";
    if (c.category == "negative" || c.category == "complaint") {
        for (const auto& s : c.surveys) {
            if (s.csat > 0 && s.csat <= 2) return c.category + " with low CSAT (" + std::to_string(s.csat) + ")";
            if (s.nps >= 0 && s.nps <= 6) return c.category + " with low NPS (" + std::to_string(s.nps) + ")";
        }
    }
    return "";
}

std::string status_label(const std::string& status) {
    if (status == "new") return "Pending";
    if (status == "in_progress") return "In Progress";
    if (status == "awaiting_client") return "Awaiting Client";
    if (status == "resolved") return "Resolved";
    if (status == "closed") return "Completed";
    return status;
}

// ---------------------------------------------------------------- periods

namespace {

int64_t floor_days(int64_t ms) { return ms / kDayMs - ((ms % kDayMs) < 0 ? 1 : 0); }

// Monday 00:00 UTC of the week containing `ms`.
int64_t week_start(int64_t ms) {
    const int64_t days = floor_days(ms);
    const int wd = weekday_from_days(days);  // 0 = Sunday
    return (days - (wd + 6) % 7) * kDayMs;
}

int64_t month_start(int year, unsigned month) {  // month may be 13.. (rolls over)
    while (month > 12) { month -= 12; ++year; }
    return days_from_civil(year, month, 1) * kDayMs;
}

}  // namespace

ReportQuery PeriodFromName::make(const std::string& period, int64_t at, const BusinessCalendar& /*cal*/) {
    ReportQuery q;
    const CivilDate d = civil_from_days(floor_days(at));
    if (period == "week") {
        q.from = week_start(at);
        q.to = q.from + 7 * kDayMs;
    } else if (period == "month") {
        q.from = month_start(d.year, d.month);
        q.to = month_start(d.year, d.month + 1);
    } else if (period == "quarter") {
        const unsigned first = (d.month - 1) / 3 * 3 + 1;
        q.from = month_start(d.year, first);
        q.to = month_start(d.year, first + 3);
    } else if (period == "year") {
        q.from = month_start(d.year, 1);
        q.to = month_start(d.year + 1, 1);
    } else if (period == "day") {
        q.from = floor_days(at) * kDayMs;
        q.to = q.from + kDayMs;
    }
    return q;
}

// ---------------------------------------------------------------- report building

namespace {

bool in_range(int64_t t, int64_t from, int64_t to) { return t >= from && t < to; }

bool matches(const CaseState& c, const ReportQuery& q) {
    if (!q.team.empty() && c.team != q.team) return false;
    if (!q.category.empty() && c.category != q.category) return false;
    if (!q.channel.empty() && c.client.channel != q.channel) return false;
    return true;
}

std::string key_or_none(const std::string& s) { return s.empty() ? "none" : s; }

Percentiles percentiles(std::vector<double> v) {
    Percentiles p;
    p.count = static_cast<int>(v.size());
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    auto rank = [&](double pct) {  // nearest rank: ceil(p/100 * n), 1-based
        size_t r = static_cast<size_t>(std::ceil(pct / 100.0 * static_cast<double>(v.size()) - 1e-9));
        if (r < 1) r = 1;
        if (r > v.size()) r = v.size();
        return v[r - 1];
    };
    p.p50 = rank(50);
    p.p90 = rank(90);
    p.p99 = rank(99);
    return p;
}

double hours(int64_t ms) { return static_cast<double>(ms) / static_cast<double>(kHourMs); }

CaseLine line_for(const CaseState& c) {
    CaseLine l;
    l.id = c.id;
    l.reference = c.reference.empty() ? c.id : c.reference;
    l.date = c.created_at ? format_date(c.created_at) : "";
    l.stakeholder = c.client.name;
    l.description = c.description.empty() ? c.title : c.description;
    l.status = c.status;
    l.assignee = c.assignee;
    l.resolution = c.resolution;
    l.category = c.category;
    l.team = c.team;
    l.kind = c.kind;
    return l;
}

bool line_order(const CaseLine& a, const CaseLine& b) {
    const int64_t ad = a.due ? a.due : INT64_MAX, bd = b.due ? b.due : INT64_MAX;
    if (ad != bd) return ad < bd;
    if (a.date != b.date) return a.date < b.date;
    return a.reference < b.reference;
}

const std::vector<std::string>& step_order() {
    static const std::vector<std::string> v = {"thank_you", "survey", "follow_up_contact", "acknowledge", "respond",
                                               "escalate", "confirm_satisfaction", "improvement"};
    return v;
}

// ---- themes ----

const std::set<std::string>& stopwords() {
    static const std::set<std::string> s = {
        "a", "about", "above", "after", "again", "against", "all", "also", "although", "always", "am", "among", "an",
        "and", "any", "are", "aren", "around", "as", "at", "be", "because", "been", "before", "being", "below",
        "between", "both", "but", "by", "can", "cannot", "could", "couldnt", "did", "didnt", "do", "does", "doesnt",
        "doing", "done", "dont", "down", "during", "each", "even", "ever", "every", "few", "for", "from", "further",
        "get", "got", "had", "hadnt", "has", "hasnt", "have", "havent", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "however", "i", "if", "im", "in", "into", "is", "isnt", "it",
        "its", "itself", "ive", "just", "let", "lets", "like", "made", "make", "many", "may", "me", "might", "more",
        "most", "much", "must", "my", "myself", "never", "no", "nor", "not", "now", "of", "off", "on", "once",
        "one", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "per", "please",
        "quite", "rather", "really", "same", "says", "shall", "she", "should", "shouldnt", "since", "so", "some",
        "still", "such", "than", "that", "thats", "the", "their", "theirs", "them", "themselves", "then", "there",
        "theres", "these", "they", "theyre", "this", "those", "though", "through", "thus", "to", "too", "under",
        "until", "up", "upon", "us", "very", "via", "was", "wasnt", "we", "well", "were", "werent", "weve", "what",
        "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
        "without", "wont", "would", "wouldnt", "yes", "yet", "you", "youd", "youll", "your", "youre", "yours",
        "yourself", "yourselves", "youve"};
    return s;
}

}  // namespace

std::vector<std::string> theme_terms(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&]() {
        if (cur.size() >= 3 && !stopwords().count(cur)) out.push_back(cur);
        cur.clear();
    };
    for (unsigned char ch : text) {
        if (ch >= 'A' && ch <= 'Z') cur += static_cast<char>(ch - 'A' + 'a');
        else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80) cur += static_cast<char>(ch);
        else if (ch == '\'') continue;  // "don't" -> "dont"
        else flush();
    }
    flush();
    return out;
}

namespace {

void count_terms(const CaseState& c, int64_t from, int64_t to, std::map<std::string, int>& counts) {
    auto add = [&](const std::string& text) {
        for (auto& t : theme_terms(text)) counts[t]++;
    };
    for (const auto& s : c.surveys) {
        if (!in_range(s.at, from, to)) continue;
        add(s.comment);
        add(s.suggestion);
        for (const auto& tag : s.tags) add(tag);
    }
    for (const auto& n : c.notes)
        if (in_range(n.at, from, to)) add(n.text);
}

bool active_in_period(const CaseState& c, int64_t from, int64_t to) {
    if (c.created_at >= to) return false;
    if (!vocab::is_closed_status(c.status)) return true;
    const int64_t ended = c.status == "closed" && c.closed_at ? c.closed_at : c.resolved_at;
    return ended == 0 || ended >= from;
}

}  // namespace

int64_t report_reads_since(const ReportQuery& q) {
    // Every time the report reads is an event's wall time (updated_at is the latest): surveys,
    // notes and tags back to the previous period; escalations and the cohort's creation within
    // the period. Improvement actions are listed by their state, whatever their age.
    const int64_t len = q.to > q.from ? q.to - q.from : 0;
    return q.from - len;
}

Report build_report(const std::vector<CaseState>& cases, const ReportQuery& q, const SlaPolicy& policy,
                    const BusinessCalendar& cal, int64_t now) {
    Report r;
    r.query = q;
    r.generated_at = now;
    const int64_t prev_from = report_reads_since(q), prev_to = q.from;

    std::vector<const SurveyResponse*> cur_surveys, prev_surveys;
    std::vector<double> response, resolution;
    std::map<std::string, StepCompliance> steps;
    std::map<std::string, int> terms, prev_terms;
    int cohort_escalated = 0;

    for (const CaseState& c : cases) {
        if (!matches(c, q)) continue;

        for (const auto& s : c.surveys) {
            if (in_range(s.at, q.from, q.to)) cur_surveys.push_back(&s);
            else if (in_range(s.at, prev_from, prev_to)) prev_surveys.push_back(&s);
        }
        count_terms(c, q.from, q.to, terms);
        count_terms(c, prev_from, prev_to, prev_terms);

        const bool cohort = in_range(c.created_at, q.from, q.to);
        const bool escalated_in_period =
            std::any_of(c.escalations.begin(), c.escalations.end(), [&](const Escalation& x) { return in_range(x.at, q.from, q.to); });

        if (!cohort) {
            if (escalated_in_period) {
                CaseLine l = line_for(c);
                for (const auto& x : c.escalations)
                    if (in_range(x.at, q.from, q.to)) { l.reason = x.reason; l.due = x.at; }
                r.escalated.push_back(std::move(l));
            }
            continue;
        }

        r.total++;
        if (vocab::is_closed_status(c.status)) r.resolved++;
        else r.opened++;
        r.by_status[c.status]++;
        r.by_category[key_or_none(c.category)]++;
        r.by_channel[key_or_none(c.client.channel)]++;
        r.by_kind[key_or_none(c.kind)]++;

        if (c.kind != "improvement") {
            int64_t first = 0;
            for (const auto& x : c.contacts)
                if ((x.step == "acknowledged" || x.step == "responded") && x.at >= c.created_at && (first == 0 || x.at < first))
                    first = x.at;
            if (first == 0 && c.resolved_at) first = c.resolved_at;
            if (first) response.push_back(hours(first - c.created_at));
            if (c.resolved_at) resolution.push_back(hours(c.resolved_at - c.created_at));
        }

        const SlaReport sla = evaluate_sla(c, policy, cal, now);
        int64_t first_overdue = 0;
        std::string overdue_steps;
        for (const auto& st : sla.steps) {
            if (st.state == StepState::NotApplicable) continue;
            StepCompliance& sc = steps[st.step];
            sc.step = st.step;
            switch (st.state) {
                case StepState::Done: sc.met++; break;
                case StepState::DoneLate: sc.missed++; break;
                case StepState::Overdue:
                    sc.missed++;
                    if (first_overdue == 0 || st.due < first_overdue) first_overdue = st.due;
                    overdue_steps += (overdue_steps.empty() ? "" : ", ") + st.step;
                    break;
                default: sc.open++; break;
            }
        }
        if (!overdue_steps.empty()) {
            CaseLine l = line_for(c);
            l.due = first_overdue;
            l.reason = "overdue: " + overdue_steps;
            r.overdue.push_back(std::move(l));
        }
        if (escalated_in_period || sla.needs_escalation) {
            CaseLine l = line_for(c);
            if (escalated_in_period) {
                for (const auto& x : c.escalations)
                    if (in_range(x.at, q.from, q.to)) { l.reason = x.reason; l.due = x.at; }
            } else {
                l.reason = sla.escalation_reason;
                if (l.reason.empty()) l.reason = immediate_escalation_reason(c);
                if (const StepStatus* e = sla.find("escalate")) l.due = e->due;
                l.reason = "needs escalation" + (l.reason.empty() ? std::string() : ": " + l.reason);
            }
            r.escalated.push_back(std::move(l));
            cohort_escalated++;
        }
    }

    r.surveys = survey_stats(cur_surveys);
    r.previous_surveys = survey_stats(prev_surveys);
    r.response_hours = percentiles(std::move(response));
    r.resolution_hours = percentiles(std::move(resolution));

    for (const auto& name : step_order()) {
        auto it = steps.find(name);
        if (it == steps.end()) continue;
        r.sla.push_back(it->second);
        steps.erase(it);
    }
    for (auto& [name, sc] : steps) r.sla.push_back(sc);
    for (auto& sc : r.sla)
        if (sc.met + sc.missed > 0) sc.percent = 100.0 * sc.met / (sc.met + sc.missed);

    std::sort(r.overdue.begin(), r.overdue.end(), line_order);
    std::sort(r.escalated.begin(), r.escalated.end(), line_order);
    r.escalation_count = static_cast<int>(r.escalated.size());
    r.escalation_rate = r.total > 0 ? 100.0 * cohort_escalated / r.total : 0;

    std::vector<std::pair<std::string, int>> sorted(terms.begin(), terms.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (size_t i = 0; i < sorted.size() && i < 10; ++i) {
        auto pit = prev_terms.find(sorted[i].first);
        r.themes.push_back(Theme{sorted[i].first, sorted[i].second, pit == prev_terms.end() ? 0 : pit->second});
    }

    // Improvement plan: improvement actions of the team active during the period (open now, or
    // finished within/after it). Category/channel filters do not apply to internal actions.
    for (const CaseState& c : cases) {
        if (c.kind != "improvement") continue;
        if (!q.team.empty() && c.team != q.team) continue;
        if (!active_in_period(c, q.from, q.to)) continue;
        CaseLine l = line_for(c);
        if (!c.title.empty()) {
            l.description = c.title;
            if (!c.description.empty()) l.description += ": " + c.description;
        }
        l.due = c.due_at;
        l.links = c.links;
        r.improvement_plan.push_back(std::move(l));
    }
    std::sort(r.improvement_plan.begin(), r.improvement_plan.end(), line_order);

    // Weekly trend (weeks start Monday 00:00 UTC), clipped to the period; at most the last 530
    // weeks (about ten years) of a longer period.
    if (q.to > q.from) {
        constexpr int kMaxWeeks = 530;
        int64_t ws = std::max(week_start(q.from), week_start(q.to - 1) - (kMaxWeeks - 1) * 7 * kDayMs);
        for (int i = 0; ws < q.to && i < kMaxWeeks; ++i, ws += 7 * kDayMs) {
            const int64_t a = std::max(ws, q.from), b = std::min(ws + 7 * kDayMs, q.to);
            std::vector<const SurveyResponse*> week;
            for (const SurveyResponse* s : cur_surveys)
                if (in_range(s->at, a, b)) week.push_back(s);
            SurveyStats st = survey_stats(week);
            r.trend.push_back(Report::TrendPoint{format_date(ws), st.nps, st.csat_percent, static_cast<int>(week.size())});
        }
    }
    return r;
}

// ---------------------------------------------------------------- JSON

namespace {

void write_stats(json::Writer& w, const SurveyStats& s) {
    w.begin_object()
        .kv("csat_responses", s.csat_responses)
        .kv("csat_satisfied", s.csat_satisfied)
        .kv_dbl("csat_percent", s.csat_percent)
        .kv_dbl("csat_mean", s.csat_mean)
        .kv("nps_responses", s.nps_responses)
        .kv("promoters", s.promoters)
        .kv("passives", s.passives)
        .kv("detractors", s.detractors)
        .kv_dbl("nps", s.nps)
        .end_object();
}

void write_pct(json::Writer& w, const Percentiles& p) {
    w.begin_object().kv_dbl("p50", p.p50).kv_dbl("p90", p.p90).kv_dbl("p99", p.p99).kv("count", p.count).end_object();
}

void write_counts(json::Writer& w, const std::map<std::string, int>& m) {
    w.begin_object();
    for (const auto& [k, v] : m) w.kv(k, v);
    w.end_object();
}

void write_lines(json::Writer& w, const std::vector<CaseLine>& lines) {
    w.begin_array();
    for (const auto& l : lines) {
        w.begin_object()
            .kv("id", l.id)
            .kv("reference", l.reference)
            .kv("date", l.date)
            .kv("stakeholder", l.stakeholder)
            .kv("description", l.description)
            .kv("status", l.status)
            .kv("assignee", l.assignee)
            .kv("resolution", l.resolution)
            .kv("category", l.category)
            .kv("team", l.team)
            .kv("kind", l.kind)
            .kv("due", l.due)
            .kv("reason", l.reason);
        w.key("links").begin_array();
        for (const auto& x : l.links) w.str(x);
        w.end_array().end_object();
    }
    w.end_array();
}

}  // namespace

std::string report_to_json(const Report& r) {
    json::Writer w;
    w.begin_object().key("query").begin_object()
        .kv("from", r.query.from)
        .kv("to", r.query.to)
        .kv("team", r.query.team)
        .kv("category", r.query.category)
        .kv("channel", r.query.channel)
        .end_object();
    w.kv("generated_at", r.generated_at).kv("total", r.total).kv("opened", r.opened).kv("resolved", r.resolved);
    w.key("by_status");
    write_counts(w, r.by_status);
    w.key("by_category");
    write_counts(w, r.by_category);
    w.key("by_channel");
    write_counts(w, r.by_channel);
    w.key("by_kind");
    write_counts(w, r.by_kind);
    w.key("surveys");
    write_stats(w, r.surveys);
    w.key("previous_surveys");
    write_stats(w, r.previous_surveys);
    w.key("response_hours");
    write_pct(w, r.response_hours);
    w.key("resolution_hours");
    write_pct(w, r.resolution_hours);
    w.key("sla").begin_array();
    for (const auto& s : r.sla)
        w.begin_object().kv("step", s.step).kv("met", s.met).kv("missed", s.missed).kv("open", s.open).kv_dbl("percent", s.percent).end_object();
    w.end_array();
    w.key("overdue");
    write_lines(w, r.overdue);
    w.key("escalated");
    write_lines(w, r.escalated);
    w.kv("escalation_count", r.escalation_count).kv_dbl("escalation_rate", r.escalation_rate);
    w.key("themes").begin_array();
    for (const auto& t : r.themes)
        w.begin_object().kv("term", t.term).kv("count", t.count).kv("previous_count", t.previous_count).end_object();
    w.end_array();
    w.key("improvement_plan");
    write_lines(w, r.improvement_plan);
    w.key("trend").begin_array();
    for (const auto& p : r.trend)
        w.begin_object().kv("label", p.label).kv_dbl("nps", p.nps).kv_dbl("csat", p.csat).kv("responses", p.responses).end_object();
    w.end_array().end_object();
    return w.take();
}

// ---------------------------------------------------------------- CSV

std::string csv_escape(const std::string& s) {
    std::string v = s;
    if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r'))
        v.insert(v.begin(), '\'');
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char ch : v) {
        if (ch == '"') out += '"';
        out += ch;
    }
    out += '"';
    return out;
}

namespace {

constexpr const char* kEol = "\r\n";

std::string num(double d) {
    if (!std::isfinite(d)) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", d);
    std::string s = buf;
    if (s == "-0.0") s = "0.0";
    return s;
}

// A figure with nothing behind it (no answers, no case responded to) is an empty cell, as the
// screen shows a dash: a 0 would read as a real NPS of 0 or a response within 0 hours.
std::string num_if(bool defined, double d) { return defined ? num(d) : std::string(); }

std::string when(int64_t ms) { return ms ? format_utc(ms) : ""; }

void row(std::string& out, const std::vector<std::string>& cells) {  // cells already escaped
    for (size_t i = 0; i < cells.size(); ++i) {
        if (i) out += ',';
        out += cells[i];
    }
    out += kEol;
}

void section(std::string& out, const std::string& title, const std::vector<std::string>& header) {
    if (!out.empty()) out += kEol;
    row(out, {csv_escape(title)});
    row(out, header);
}

void counts(std::string& out, const std::string& title, const std::string& what, const std::map<std::string, int>& m) {
    section(out, title, {what, "Count"});
    for (const auto& [k, v] : m) row(out, {csv_escape(k), std::to_string(v)});
}

void lines(std::string& out, const std::string& title, const std::vector<CaseLine>& ls) {
    section(out, title, {"ID", "Date", "Stakeholder", "Description", "Status", "Assigned to", "Category", "Team", "Due",
                         "Reason", "Resolution"});
    for (const auto& l : ls)
        row(out, {csv_escape(l.reference), csv_escape(l.date), csv_escape(l.stakeholder), csv_escape(l.description),
                  csv_escape(status_label(l.status)), csv_escape(l.assignee), csv_escape(l.category), csv_escape(l.team),
                  csv_escape(when(l.due)), csv_escape(l.reason), csv_escape(l.resolution)});
}

}  // namespace

std::string report_to_csv(const Report& r) {
    std::string out;
    section(out, "Summary", {"Metric", "Value"});
    auto kv = [&](const std::string& k, const std::string& v) { row(out, {csv_escape(k), v}); };
    kv("Period from", csv_escape(when(r.query.from)));
    kv("Period to", csv_escape(when(r.query.to)));
    kv("Team", csv_escape(r.query.team));
    kv("Category", csv_escape(r.query.category));
    kv("Channel", csv_escape(r.query.channel));
    kv("Generated at", csv_escape(when(r.generated_at)));
    kv("Total cases", std::to_string(r.total));
    kv("Open", std::to_string(r.opened));
    kv("Resolved or closed", std::to_string(r.resolved));
    kv("Escalations", std::to_string(r.escalation_count));
    kv("Escalation rate %", num(r.escalation_rate));
    const bool responded = r.response_hours.count > 0, resolved = r.resolution_hours.count > 0;
    kv("Response hours p50", num_if(responded, r.response_hours.p50));
    kv("Response hours p90", num_if(responded, r.response_hours.p90));
    kv("Response hours p99", num_if(responded, r.response_hours.p99));
    kv("Resolution hours p50", num_if(resolved, r.resolution_hours.p50));
    kv("Resolution hours p90", num_if(resolved, r.resolution_hours.p90));
    kv("Resolution hours p99", num_if(resolved, r.resolution_hours.p99));

    section(out, "Surveys", {"Period", "CSAT responses", "CSAT satisfied", "CSAT %", "CSAT mean", "NPS responses",
                             "Promoters", "Passives", "Detractors", "NPS"});
    for (int i = 0; i < 2; ++i) {
        const SurveyStats& s = i == 0 ? r.surveys : r.previous_surveys;
        row(out, {i == 0 ? "current" : "previous", std::to_string(s.csat_responses), std::to_string(s.csat_satisfied),
                  num_if(s.csat_responses > 0, s.csat_percent), num_if(s.csat_responses > 0, s.csat_mean),
                  std::to_string(s.nps_responses), std::to_string(s.promoters), std::to_string(s.passives),
                  std::to_string(s.detractors), num_if(s.nps_responses > 0, s.nps)});
    }
    counts(out, "By status", "Status", r.by_status);
    counts(out, "By category", "Category", r.by_category);
    counts(out, "By channel", "Channel", r.by_channel);
    counts(out, "By kind", "Kind", r.by_kind);

    section(out, "SLA compliance", {"Step", "Met", "Missed", "Open", "Percent"});
    for (const auto& s : r.sla)
        row(out, {csv_escape(s.step), std::to_string(s.met), std::to_string(s.missed), std::to_string(s.open), num_if(s.met + s.missed > 0, s.percent)});

    section(out, "Themes", {"Term", "Count", "Previous count"});
    for (const auto& t : r.themes) row(out, {csv_escape(t.term), std::to_string(t.count), std::to_string(t.previous_count)});

    section(out, "Trend", {"Week", "Responses", "NPS", "CSAT %"});
    for (const auto& p : r.trend)
        row(out, {csv_escape(p.label), std::to_string(p.responses), num_if(p.responses > 0, p.nps), num_if(p.responses > 0, p.csat)});

    lines(out, "Overdue", r.overdue);
    lines(out, "Escalated", r.escalated);

    section(out, "Improvement plan", {"ID", "Action", "Owner", "Deadline", "Status", "Linked cases"});
    for (const auto& l : r.improvement_plan) {
        std::string links;
        for (const auto& x : l.links) links += (links.empty() ? "" : " ") + x;
        row(out, {csv_escape(l.reference), csv_escape(l.description), csv_escape(l.assignee),
                  csv_escape(l.due ? format_date(l.due) : ""), csv_escape(status_label(l.status)), csv_escape(links)});
    }
    return out;
}

std::string documentation_log_csv(const std::vector<CaseState>& cases) {
    std::vector<const CaseState*> sorted;
    for (const auto& c : cases) sorted.push_back(&c);
    std::stable_sort(sorted.begin(), sorted.end(), [](const CaseState* a, const CaseState* b) {
        if (a->created_at != b->created_at) return a->created_at < b->created_at;
        return a->reference < b->reference;
    });
    std::string out;
    row(out, {"ID", "Date", "Stakeholder", "Feedback/Follow-up", "Status", "Assigned to", "Resolution/Comments"});
    for (const CaseState* c : sorted) {
        const CaseLine l = line_for(*c);
        std::string comments = c->resolution;
        if (comments.empty() && !c->notes.empty()) {
            const Note* latest = &c->notes.front();
            for (const auto& n : c->notes)
                if (n.at >= latest->at) latest = &n;
            comments = latest->text;
        }
        row(out, {csv_escape(l.reference), csv_escape(l.date), csv_escape(l.stakeholder), csv_escape(l.description),
                  csv_escape(status_label(c->status)), csv_escape(c->assignee), csv_escape(comments)});
    }
    return out;
}

}  // namespace cl
