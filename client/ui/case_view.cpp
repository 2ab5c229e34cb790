// Case view: fields, SLA steps, conflicts, actions (note, contact, survey, escalate, resolve,
// follow-up, attachments) and the full timeline.
#include <algorithm>

#include "core/json.h"
#include "domain/sla.h"
#include "domain/vocab.h"
#include "platform/browser.h"
#include <optional>

#include "ui/ui.h"

namespace cl::ui {

namespace {

std::string describe(const Event& e) {
    auto doc = json::parse(e.body);
    std::string s;
    if (!doc || !doc->root().IsObject()) return e.type;
    const auto& b = doc->root();
    auto get = [&](const char* k) { std::string v; json::get(b, k, v); return v; };
    if (e.type == ev::kCaseCreated) return "Created the " + pretty(get("kind")) + " case";
    if (e.type == ev::kFieldSet) {
        const json::Value* v = json::member(b, "value");
        std::string val = v ? (v->IsString() ? std::string(v->GetString()) : json::to_string(*v)) : "";
        return "Set " + pretty(get("field")) + " to \"" + val + "\"";
    }
    if (e.type == ev::kNoteAdded) return "Note: " + get("text");
    if (e.type == ev::kStatusChanged) return "Status \xE2\x86\x92 " + pretty(get("to"));
    if (e.type == ev::kAssigned) return "Assigned to " + (get("assignee").empty() ? std::string("nobody") : get("assignee"));
    if (e.type == ev::kContactLogged)
        return pretty(get("step")) + (get("channel").empty() ? "" : " via " + pretty(get("channel"))) +
               (get("note").empty() ? "" : ": " + get("note"));
    if (e.type == ev::kSurveyRecorded) {
        int csat = 0, nps = -1;
        json::get(b, "csat", csat);
        json::get(b, "nps", nps);
        std::string t = "Survey recorded";
        if (csat) t += " \xC2\xB7 CSAT " + std::to_string(csat) + "/5";
        if (nps >= 0) t += " \xC2\xB7 NPS " + std::to_string(nps);
        if (!get("comment").empty()) t += " \xC2\xB7 \"" + get("comment") + "\"";
        return t;
    }
    if (e.type == ev::kEscalated) return "Escalated to " + (get("to").empty() ? std::string("management") : get("to")) + ": " + get("reason");
    if (e.type == ev::kResolved) return "Resolved: " + get("resolution");
    if (e.type == ev::kFollowUpDone) {
        bool sat = false;
        json::get(b, "satisfied", sat);
        return std::string("Follow-up: client ") + (sat ? "satisfied" : "NOT satisfied") + (get("note").empty() ? "" : " \xE2\x80\x94 " + get("note"));
    }
    if (e.type == ev::kAttachmentAdded) return "Attached " + get("name");
    if (e.type == ev::kImprovementLinked) return "Linked case " + get("case");
    if (e.type == ev::kLegalHold) return "Legal hold changed";
    if (e.type == ev::kRefAssigned) return "Reference assigned: " + get("ref");
    return e.type;
}

ImU32 step_color(StepState s) {
    switch (s) {
        case StepState::Done: return color::success;
        case StepState::DoneLate: return color::warning;
        case StepState::Pending: return color::info;
        case StepState::DueSoon: return color::warning;
        case StepState::Overdue: return color::danger;
        case StepState::Paused: return color::neutral;
        default: return IM_COL32(200, 205, 215, 255);
    }
}

void report(App& app, CaseViewState& s, const Status& st, const char* ok_text) {
    if (st) {
        s.action_error.clear();
        app.toast(ok_text);
    } else {
        s.action_error = st.error().message;
    }
}

}  // namespace

void case_view(App& app, UiState& ui) {
    CaseViewState& s = ui.case_view;
    const float fs = ImGui::GetFontSize();
    // Re-fold only when the case or the data changed, not every frame.
    static std::optional<CaseState> cached;
    static std::string cached_id;
    static uint64_t cached_version = 0;
    if (cached_id != ui.case_id || cached_version != app.data_version()) {
        cached = app.store()->load_case(ui.case_id);
        cached_id = ui.case_id;
        cached_version = app.data_version();
    }
    const std::optional<CaseState> c = cached;  // a copy: actions below may change the store this frame
    if (!c) {
        if (secondary_button("\xE2\x86\x90 Inbox", "case.back")) ui.view = View::Inbox;
        ImGui::TextDisabled("This case is no longer on this device (removed by the retention policy or an erasure request on the server).");
        return;
    }
    if (s.loaded_id != c->id) {
        CaseViewState fresh;
        s = fresh;
        s.loaded_id = c->id;
    }
    // Header.
    if (secondary_button("\xE2\x86\x90 Inbox", "case.back")) { ui.view = View::Inbox; return; }
    ImGui::SameLine();
    ImGui::PushFont(ui.bold, 24.0f);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(c->reference.c_str());
    ImGui::PopFont();
    mark("case.reference");
    ImGui::SameLine();
    status_badge(c->status);
    mark("case.status");
    ImGui::SameLine();
    badge(pretty(c->kind).c_str(), color::accent_soft, color::accent);
    if (c->urgent) { ImGui::SameLine(); badge("Urgent", color::danger); }
    if (c->high_impact) { ImGui::SameLine(); badge("High impact", IM_COL32(232, 106, 40, 255)); }
    if (!c->escalations.empty() && !vocab::is_closed_status(c->status)) { ImGui::SameLine(); badge("Escalated", color::purple); }
    if (!c->conflicts.empty()) { ImGui::SameLine(); badge((std::to_string(c->conflicts.size()) + " conflict(s)").c_str(), color::danger); mark("case.conflict_badge"); }
    if (c->reference != c->id) {
        std::string id_text = "(" + c->id + ")";
        same_line_if_fits(ImGui::CalcTextSize(id_text.c_str()).x);
        ImGui::TextDisabled("%s", id_text.c_str());
    }

    // Status transitions: on the header's line while they fit, the rest on the next line(s) (a
    // narrow window pushed them off-screen).
    for (auto to : vocab::statuses()) {
        if (!vocab::transition_allowed(c->status, to) || to == "resolved") continue;
        std::string label = (to == "in_progress" && (c->status == "resolved" || c->status == "closed")) ? "Reopen" : pretty(std::string(to));
        if (to == "in_progress" && c->status == "new") label = "Start";
        label += "##st" + std::string(to);
        same_line_if_fits(button_width(label.c_str()));
        if (secondary_button(label.c_str(), "case.to." + std::string(to)))
            report(app, s, app.set_status(c->id, std::string(to)), "Status changed");
    }
    if (!s.action_error.empty()) {
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", s.action_error.c_str());
        mark("case.error");
    }
    // Attention banner: why this case is on the Due & escalations screen, in one line.
    if (!vocab::is_closed_status(c->status)) {
        SlaReport top = evaluate_sla(*c, app.store()->sla_policy(), app.store()->calendar(), app.now());
        std::string msg;
        ImU32 col = color::danger;
        if (!c->escalations.empty()) {
            const Escalation& e = c->escalations.back();
            msg = "Escalated" + (e.to.empty() ? std::string() : " to " + e.to) + " on " +
                  platform::local_date_string(e.at, "%Y-%m-%d") + (e.reason.empty() ? "" : ": " + e.reason);
            col = color::purple;
        } else if (top.needs_escalation) {
            msg = "Needs escalation to management" + (top.escalation_reason.empty() ? std::string() : ": " + top.escalation_reason);
            col = IM_COL32(232, 106, 40, 255);
        }
        for (const auto& st : top.steps)
            if (st.state == StepState::Overdue)
                msg += (msg.empty() ? "" : "  \xC2\xB7  ") + std::string("Overdue: ") + pretty(st.step) + " (due " +
                       platform::local_date_string(st.due) + ", " + due_text(st.due, app.now()) + ")";
        if (!msg.empty()) {
            ImVec2 p = ImGui::GetCursorScreenPos();
            float w = ImGui::GetContentRegionAvail().x;
            ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + w - fs * 1.2f);
            ImVec2 ts = ImGui::CalcTextSize(msg.c_str(), nullptr, false, w - fs * 1.8f);
            float h = ts.y + fs * 0.8f;
            ImDrawList* dl = ImGui::GetWindowDrawList();
            ImVec4 cv = ImGui::ColorConvertU32ToFloat4(col);
            dl->AddRectFilled(p, ImVec2(p.x + w, p.y + h), ImGui::ColorConvertFloat4ToU32(ImVec4(cv.x, cv.y, cv.z, 0.10f)), fs * 0.35f);
            dl->AddRectFilled(p, ImVec2(p.x + fs * 0.25f, p.y + h), col, fs * 0.35f, ImDrawFlags_RoundCornersLeft);
            ImGui::SetCursorScreenPos(ImVec2(p.x + fs * 0.8f, p.y + fs * 0.4f));
            ImGui::PushStyleColor(ImGuiCol_Text, col);
            ImGui::TextUnformatted(msg.c_str());
            ImGui::PopStyleColor();
            ImGui::PopTextWrapPos();
            ImGui::SetCursorScreenPos(ImVec2(p.x, p.y + h));
            ImGui::Dummy(ImVec2(w, 0));
            mark("case.attention");
        }
    }
    ImGui::Dummy(ImVec2(0, fs * 0.2f));

    // Two columns (details and deadlines | actions and timeline), or one below the other where the
    // screen is too narrow for both (a phone: each column was a few letters wide).
    const bool stacked = ImGui::GetContentRegionAvail().x < fs * 40;
    if (stacked) ImGui::BeginChild("case_stack", ImVec2(0, 0));
    else ImGui::BeginChild("case_left", ImVec2(ImGui::GetContentRegionAvail().x * 0.52f, 0));
    // Details card.
    begin_card("details");
    heading("Details", 17.0f);
    if (!s.editing) {
        ImGui::SameLine(ImGui::GetContentRegionAvail().x - fs * 3);
        if (secondary_button("Edit", "case.edit")) {
            s.editing = true;
            s.edit_errors.clear();
            std::snprintf(s.edit_title, sizeof s.edit_title, "%s", c->title.c_str());
            std::snprintf(s.edit_description, sizeof s.edit_description, "%s", c->description.c_str());
            std::snprintf(s.edit_client, sizeof s.edit_client, "%s", c->client.name.c_str());
            std::snprintf(s.edit_contact, sizeof s.edit_contact, "%s", c->client.contact.c_str());
            s.edit_category = vocab_index(vocab::categories(), c->category, true);
            s.edit_priority = vocab_index(vocab::priorities(), c->priority, false);
            s.edit_channel = vocab_index(vocab::channels(), c->client.channel, true);
            s.edit_urgent = c->urgent;
            s.edit_high_impact = c->high_impact;
            std::snprintf(s.assignee, sizeof s.assignee, "%s", c->assignee.c_str());
        }
        label_value("Client", c->client.name);
        label_value("Contact", c->client.contact + (c->client.channel.empty() ? "" : "  (prefers " + pretty(c->client.channel) + ")"));
        label_value("Title", c->title);
        label_value("Description", c->description);
        label_value("Category", pretty(c->category));
        label_value("Priority", pretty(c->priority));
        label_value("Assignee", c->assignee);
        label_value("Team", c->team);
        label_value("Service done", platform::local_date_string(c->service_completed_at));
        label_value("Created", platform::local_date_string(c->created_at) + " by " + c->created_by);
        if (!c->resolution.empty()) label_value("Resolution", c->resolution);
    } else {
        // The new-case form's rules and inline messages (App::edit_case, validate_case_fields).
        auto field = [&](const char* label, const char* key, const char* id, char* buf, size_t size, bool multiline = false) {
            ImGui::TextUnformatted(label);
            bool bad = s.edit_errors.count(key) > 0;
            if (bad) ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(color::danger));
            std::string hidden = std::string("##edit.") + key;
            if (multiline) ImGui::InputTextMultiline(hidden.c_str(), buf, size, ImVec2(-1, fs * 4));
            else ImGui::InputText(hidden.c_str(), buf, size);
            if (bad) ImGui::PopStyleColor();
            mark(id);
            field_error(s.edit_errors, key);
        };
        ImGui::PushItemWidth(-1);
        field("Client", "client_name", "case.edit.client", s.edit_client, sizeof s.edit_client);
        field("Contact", "client_contact", "case.edit.contact", s.edit_contact, sizeof s.edit_contact);
        ImGui::TextUnformatted("Preferred channel");
        combo_vocab("##ech", "case.edit.channel", &s.edit_channel, vocab::channels(), "-");
        field("Title", "title", "case.edit.title", s.edit_title, sizeof s.edit_title);
        field("Description", "description", "case.edit.description", s.edit_description, sizeof s.edit_description, true);
        ImGui::TextUnformatted("Category");
        combo_vocab("##ecat", "case.edit.category", &s.edit_category, vocab::categories(), "-");
        ImGui::TextUnformatted("Priority");
        combo_vocab("##epri", "case.edit.priority", &s.edit_priority, vocab::priorities());
        ImGui::TextUnformatted("Assignee");
        ImGui::InputText("##eas", s.assignee, sizeof s.assignee); mark("case.edit.assignee");
        ImGui::PopItemWidth();
        ImGui::Checkbox("Urgent", &s.edit_urgent);
        ImGui::SameLine();
        ImGui::Checkbox("High impact", &s.edit_high_impact);
        field_error(s.edit_errors, "_");
        if (primary_button("Save changes", "case.edit.save")) {
            CaseEdit e;
            e.client_name = s.edit_client;
            e.client_contact = s.edit_contact;
            e.channel = vocab_at(vocab::channels(), s.edit_channel, true);
            e.title = s.edit_title;
            e.description = s.edit_description;
            e.category = vocab_at(vocab::categories(), s.edit_category, true);
            e.priority = vocab_at(vocab::priorities(), s.edit_priority, false);
            e.assignee = s.assignee;
            e.urgent = s.edit_urgent;
            e.high_impact = s.edit_high_impact;
            Status st = app.edit_case(c->id, e, &s.edit_errors);
            if (st) {
                s.action_error.clear();
                app.toast("Changes saved");
                s.editing = false;
            }
        }
        ImGui::SameLine();
        if (secondary_button("Cancel", "case.edit.cancel")) {
            s.editing = false;
            s.edit_errors.clear();
        }
    }
    end_card();

    // SLA steps.
    begin_card("sla");
    heading("Deadlines", 17.0f);
    SlaReport sla = evaluate_sla(*c, app.store()->sla_policy(), app.store()->calendar(), app.now());
    if (sla.steps.empty()) ImGui::TextDisabled("No timed steps apply.");
    for (const auto& st : sla.steps) {
        if (st.state == StepState::NotApplicable) continue;
        badge(pretty(step_state_name(st.state)).c_str(), step_color(st.state));  // "Done late", not "done_late"
        ImGui::SameLine();
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(pretty(st.step).c_str());
        const std::string when = st.done_at ? "done " + platform::local_date_string(st.done_at)
                                            : "due " + platform::local_date_string(st.due) + " (" + due_text(st.due, app.now()) + ")";
        // In its column when it fits there, else on the next line (a narrow card cut it off).
        const float column = fs * 16, text_w = ImGui::CalcTextSize(when.c_str()).x;
        if (ImGui::GetWindowWidth() - ImGui::GetStyle().WindowPadding.x - column >= text_w) ImGui::SameLine(column);
        ImGui::TextDisabled("%s", when.c_str());
    }
    if (sla.needs_escalation && !sla.escalated)
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "Needs escalation: %s", sla.escalation_reason.c_str());
    end_card();

    // Conflicts.
    if (!c->conflicts.empty()) {
        begin_card("conflicts");
        heading("Merge conflicts", 17.0f);
        ImGui::TextDisabled("Concurrent edits from different devices. The value shown first stands.");
        for (size_t i = 0; i < c->conflicts.size(); ++i) {
            const auto& k = c->conflicts[i];
            ImGui::PushID(static_cast<int>(i));
            ImGui::Bullet();
            if (k.kind == "invalid")
                ImGui::TextWrapped("Unreadable event %s from %s: %s", k.other_event.c_str(), k.other_author.c_str(), k.other_value.c_str());
            else
                ImGui::TextWrapped("%s: \"%s\" by %s  vs  \"%s\" by %s", pretty(k.field).c_str(), k.kept_value.c_str(),
                                   k.kept_author.c_str(), k.other_value.c_str(), k.other_author.c_str());
            mark("case.conflict." + std::to_string(i));
            ImGui::PopID();
        }
        end_card();
    }

    // Surveys and follow-ups.
    if (!c->surveys.empty()) {
        begin_card("surveys");
        heading("Survey answers", 17.0f);
        for (const auto& sv : c->surveys) {
            ImGui::Text("%s  CSAT %s  NPS %s", platform::local_date_string(sv.at).c_str(),
                        sv.csat ? (std::to_string(sv.csat) + "/5").c_str() : "-", sv.nps >= 0 ? std::to_string(sv.nps).c_str() : "-");
            if (!sv.comment.empty()) ImGui::TextWrapped("\"%s\"", sv.comment.c_str());
            if (!sv.suggestion.empty()) ImGui::TextWrapped("Suggestion: %s", sv.suggestion.c_str());
        }
        end_card();
    }
    if (!c->attachments.empty()) {
        begin_card("attachments");
        heading("Attachments", 17.0f);
        for (const auto& a : c->attachments)
            ImGui::Text("%s  (%lld KB, %s)", a.name.c_str(), static_cast<long long>((a.size + 1023) / 1024), a.type.c_str());
        end_card();
    }
    if (!stacked) {
        ImGui::EndChild();
        ImGui::SameLine(0, fs);
        ImGui::BeginChild("case_right", ImVec2(0, 0));
    }
    begin_card("actions");
    if (ImGui::BeginTabBar("actions")) {
        if (ImGui::BeginTabItem("Note")) {
            mark("case.tab.note");
            ImGui::InputTextMultiline("##note", s.note, sizeof s.note, ImVec2(-1, fs * 4));
            mark("case.note.text");
            if (primary_button("Add note", "case.note.add")) {
                Status st = app.add_note(c->id, s.note);
                report(app, s, st, "Note added");
                if (st) s.note[0] = 0;
            }
            ImGui::EndTabItem();
        } else mark("case.tab.note");
        if (ImGui::BeginTabItem("Contact")) {
            mark("case.tab.contact");
            ImGui::SetNextItemWidth(fs * 12);
            combo_vocab("Step", "case.contact.step", &s.contact_step, vocab::contact_steps());
            ImGui::SetNextItemWidth(fs * 12);
            if (s.contact_channel == 0 && !c->client.channel.empty()) s.contact_channel = vocab_index(vocab::channels(), c->client.channel, true);
            combo_vocab("Channel", "case.contact.channel", &s.contact_channel, vocab::channels(), "-");
            ImGui::InputTextWithHint("##cnote", "Note (optional)", s.contact_note, sizeof s.contact_note);
            mark("case.contact.note");
            if (primary_button("Log contact", "case.contact.add")) {
                Status st = app.log_contact(c->id, vocab_at(vocab::contact_steps(), s.contact_step, false),
                                            vocab_at(vocab::channels(), s.contact_channel, true), s.contact_note);
                report(app, s, st, "Contact logged");
                if (st) s.contact_note[0] = 0;
            }
            ImGui::EndTabItem();
        } else mark("case.tab.contact");
        if (ImGui::BeginTabItem("Survey")) {
            mark("case.tab.survey");
            ImGui::TextUnformatted("Satisfaction (CSAT 1-5)");
            for (int i = 0; i <= 5; ++i) {
                std::string l = i == 0 ? std::string("-##csat0") : std::to_string(i) + "##csat";
                if (i) same_line_if_fits(toggle_width(l.c_str()));
                if (ImGui::RadioButton(l.c_str(), s.csat == i)) s.csat = i;
                mark("case.survey.csat." + std::to_string(i));
            }
            ImGui::TextUnformatted("Likelihood to recommend (NPS 0-10)");
            {
                // "-" and 0..10: twelve buttons, narrowed to fit the column (down to the width of
                // "10"), and wrapped onto a second row when even that does not fit.
                const float sp = fs * 0.3f;
                const float avail = ImGui::GetContentRegionAvail().x;
                const float min_w = ImGui::CalcTextSize("10").x + ImGui::GetStyle().FramePadding.x * 2;
                const float w = std::max(min_w, std::min(fs * 1.8f, (avail - 11 * sp) / 12));
                for (int i = -1; i <= 10; ++i) {
                    if (i > -1) same_line_if_fits(w, sp);
                    std::string l = i < 0 ? std::string("-##nps") : std::to_string(i) + "##nps";
                    bool sel = s.nps == i;
                    if (sel) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::ColorConvertU32ToFloat4(color::accent_soft));
                    if (ImGui::Button(l.c_str(), ImVec2(w, 0))) s.nps = i;
                    if (sel) ImGui::PopStyleColor();
                    mark("case.survey.nps." + std::to_string(i));
                }
            }
            ImGui::InputTextWithHint("##comment", "Comments", s.comment, sizeof s.comment);
            mark("case.survey.comment");
            ImGui::InputTextWithHint("##suggestion", "Suggestions", s.suggestion, sizeof s.suggestion);
            mark("case.survey.suggestion");
            ImGui::SetNextItemWidth(fs * 10);
            combo_vocab("Channel##sv", "case.survey.channel", &s.survey_channel, vocab::channels(), "-");
            same_line_if_fits(toggle_width("Incentive offered"));
            ImGui::Checkbox("Incentive offered", &s.incentive);
            if (primary_button("Record survey", "case.survey.add")) {
                Status st = app.record_survey(c->id, s.csat, s.nps, s.comment, s.suggestion,
                                              vocab_at(vocab::channels(), s.survey_channel, true), s.incentive);
                report(app, s, st, "Survey recorded");
                if (st) { s.csat = 0; s.nps = -1; s.comment[0] = s.suggestion[0] = 0; }
            }
            ImGui::TextDisabled("Responses are confidential and used only to improve our service.");
            ImGui::EndTabItem();
        } else mark("case.tab.survey");
        if (ImGui::BeginTabItem("Escalate")) {
            mark("case.tab.escalate");
            ImGui::InputTextWithHint("##reason", "Reason", s.escalate_reason, sizeof s.escalate_reason);
            mark("case.escalate.reason");
            ImGui::InputTextWithHint("##to", "To", s.escalate_to, sizeof s.escalate_to);
            if (primary_button("Escalate to management", "case.escalate.add")) {
                Status st = app.escalate(c->id, s.escalate_reason, s.escalate_to);
                report(app, s, st, "Escalated");
                if (st) s.escalate_reason[0] = 0;
            }
            ImGui::EndTabItem();
        } else mark("case.tab.escalate");
        if (ImGui::BeginTabItem("Resolve")) {
            mark("case.tab.resolve");
            ImGui::InputTextMultiline("##res", s.resolution, sizeof s.resolution, ImVec2(-1, fs * 3));
            mark("case.resolve.text");
            if (primary_button("Resolve case", "case.resolve.add")) report(app, s, app.resolve(c->id, s.resolution), "Resolved");
            ImGui::Separator();
            ImGui::TextUnformatted("Follow-up after resolution");
            ImGui::Checkbox("Client confirmed satisfied", &s.satisfied);
            ImGui::InputTextWithHint("##fnote", "Note", s.follow_note, sizeof s.follow_note);
            if (secondary_button("Record follow-up", "case.followup.add"))
                report(app, s, app.follow_up(c->id, s.satisfied, s.follow_note, c->client.channel), "Follow-up recorded");
            ImGui::EndTabItem();
        } else mark("case.tab.resolve");
        if (ImGui::BeginTabItem("Attach")) {
            mark("case.tab.attach");
            ImGui::TextWrapped("Add a file or screenshot from this device. It is kept locally and uploaded on sync.");
            if (primary_button("Choose file\xE2\x80\xA6", "case.attach.pick")) platform::pick_file();
            ImGui::EndTabItem();
        } else mark("case.tab.attach");
        ImGui::EndTabBar();
    }
    platform::PickedFile pf;
    while (platform::take_picked_file(&pf)) report(app, s, app.add_attachment(c->id, pf), "File attached");
    end_card();

    begin_card("timeline");
    heading("Timeline", 17.0f);
    if (auto evs = app.store()->case_events(c->id)) {
        std::vector<Event> list = *evs;
        std::sort(list.begin(), list.end(), [](const Event& a, const Event& b) { return event_before(b, a); });
        int i = 0;
        for (const auto& e : list) {
            ImGui::PushID(i);
            ImGui::TextDisabled("%s \xC2\xB7 %s", platform::local_date_string(e.clock.wall_ms).c_str(), e.author.c_str());
            if (auto se = app.store()->find_event(e.id()); se && se->seq == 0 && e.device == app.store()->device_id()) {
                ImGui::SameLine();
                ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::warning), "not uploaded");
            }
            ImGui::PushTextWrapPos(0);
            ImGui::TextUnformatted(describe(e).c_str());
            ImGui::PopTextWrapPos();
            mark("case.timeline." + std::to_string(i));
            ImGui::Dummy(ImVec2(0, fs * 0.15f));
            ImGui::PopID();
            ++i;
        }
    }
    end_card();
    ImGui::EndChild();
}

}  // namespace cl::ui
