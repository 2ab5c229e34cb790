// Inbox: sortable, filterable case table over the store (list clipper + windowed queries).
#include <algorithm>
#include <cstdio>

#include "domain/vocab.h"
#include "platform/browser.h"
#include "ui/ui.h"

namespace cl::ui {

namespace {

CaseQuery make_query(App& app, const InboxState& s) {
    CaseQuery q;
    if (s.status == 1) q.status = "open";
    else if (s.status >= 2) q.status = std::string(vocab::statuses()[s.status - 2]);
    q.kind = vocab_at(vocab::kinds(), s.kind, true);
    q.category = vocab_at(vocab::categories(), s.category, true);
    if (s.mine) q.assignee = app.session().user_id;
    q.text = s.search;
    q.overdue_only = s.overdue_only;
    q.escalation_only = s.escalation_only;
    q.now = app.now();
    q.sort = s.sort;
    q.descending = s.descending;
    return q;
}

std::string key_of(const CaseQuery& q) {
    return q.status + "|" + q.kind + "|" + q.category + "|" + q.assignee + "|" + q.text + "|" + (q.overdue_only ? "o" : "") +
           (q.escalation_only ? "e" : "") + "|" + q.sort + (q.descending ? "d" : "a");
}

}  // namespace

// Counts for the sidebar and the inbox header (recomputed when data changes, or each minute):
// exact at any number of cases, each read from an index (Store::inbox_counts).
static void refresh_counts(App& app, InboxState& s) {
    s.due_today = s.overdue = s.escalations = s.attention = 0;
    if (auto c = app.store()->inbox_counts(app.now(), platform::end_of_local_day(app.now()))) {
        s.due_today = static_cast<int>(c->due_by_end_of_day);
        s.overdue = static_cast<int>(c->overdue);
        s.escalations = static_cast<int>(c->escalations);
        s.attention = static_cast<int>(c->attention);  // an escalated case that is also overdue counts once
    }
}

void refresh_inbox_counts(App& app, InboxState& s) {
    if (s.counts_version == app.data_version() && app.now() - s.refreshed_at <= 60000 && s.refreshed_at) return;
    refresh_counts(app, s);
    s.counts_version = app.data_version();
    s.refreshed_at = app.now();
}

void inbox_view(App& app, UiState& ui) {
    InboxState& s = ui.inbox;
    const float fs = ImGui::GetFontSize();
    refresh_inbox_counts(app, s);

    heading("Inbox", 24.0f);
    ImGui::SameLine();
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x - fs * 7.5f);
    if (primary_button("+ New case", "inbox.new", ImVec2(fs * 7.5f, 0))) {
        ui.view = View::NewCase;
        ui.new_case.initialised = false;
    }

    // Summary tiles.
    struct Tile { const char* label; int value; ImU32 col; const char* id; };
    Tile tiles[] = {{"Due today or earlier", s.due_today, color::accent, "inbox.tile.due_today"},
                    {"Overdue", s.overdue, color::danger, "inbox.tile.overdue"},
                    {"Escalations", s.escalations, color::purple, "inbox.tile.escalations"},
                    {"Waiting to upload", static_cast<int>(app.pending_count()), color::neutral, "inbox.tile.pending"}};
    // Four in a row, or two rows of two on a narrow screen (the last two were cut off on a phone).
    const int per_row = ImGui::GetContentRegionAvail().x < fs * 40 ? 2 : 4;
    float tw = (ImGui::GetContentRegionAvail().x - fs * 0.8f * (per_row - 1)) / per_row;
    for (int i = 0; i < 4; ++i) {
        if (i % per_row) ImGui::SameLine(0, fs * 0.8f);
        begin_card(tiles[i].id, ImVec2(tw, fs * 4.2f));
        ImGui::TextDisabled("%s", tiles[i].label);
        ImGui::PushFont(ui.bold, 26.0f);
        ImGui::PushStyleColor(ImGuiCol_Text, tiles[i].value > 0 ? tiles[i].col : IM_COL32(27, 33, 46, 255));
        ImGui::Text("%d", tiles[i].value);
        ImGui::PopStyleColor();
        ImGui::PopFont();
        end_card();
        mark(tiles[i].id);
    }
    ImGui::Dummy(ImVec2(0, fs * 0.2f));

    // Filters, wrapped onto more lines where the screen is narrow (at 1024 px the last two
    // checkboxes were off-screen).
    ImGui::SetNextItemWidth(std::min(fs * 16, ImGui::GetContentRegionAvail().x));
    ImGui::InputTextWithHint("##search", "Search reference, client, text\xE2\x80\xA6", s.search, sizeof s.search);
    mark("inbox.search");
    static const std::vector<std::string_view> status_opts = {"open", "new", "in_progress", "awaiting_client", "resolved", "closed"};
    same_line_if_fits(fs * 9);
    ImGui::SetNextItemWidth(fs * 9);
    combo_vocab("##status", "inbox.status", &s.status, status_opts, "Any status");
    same_line_if_fits(fs * 8);
    ImGui::SetNextItemWidth(fs * 8);
    combo_vocab("##kind", "inbox.kind", &s.kind, vocab::kinds(), "Any kind");
    same_line_if_fits(fs * 9);
    ImGui::SetNextItemWidth(fs * 9);
    combo_vocab("##category", "inbox.category", &s.category, vocab::categories(), "Any category");
    auto checkbox = [&](const char* label, bool* v, const char* id) {
        same_line_if_fits(toggle_width(label));
        ImGui::Checkbox(label, v);
        mark(id);
    };
    checkbox("Mine", &s.mine, "inbox.mine");
    checkbox("Overdue", &s.overdue_only, "inbox.overdue");
    checkbox("Escalations", &s.escalation_only, "inbox.escalation");

    CaseQuery q = make_query(app, s);
    std::string key = key_of(q);
    bool stale = key != s.query_key || s.version != app.data_version();
    if (stale) {
        s.query_key = key;
        s.version = app.data_version();
        s.total = app.store()->count_cases(q);
        s.window_valid = false;  // refetched below, into the same rows (their strings are reused)
    }

    ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH |
                            ImGuiTableFlags_BordersOuter | ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable |
                            ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_Hideable;
    // An empty list shows one message across the row; a resizable table draws its column borders
    // through it (ImGui forces inner vertical borders on resizable tables).
    if (s.total == 0) flags &= ~ImGuiTableFlags_Resizable;
    ImGui::PushStyleColor(ImGuiCol_ChildBg, IM_COL32_WHITE);
    if (ImGui::BeginTable("cases", 8, flags, ImVec2(0, 0))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("Reference", ImGuiTableColumnFlags_None, 1.3f, 0);
        ImGui::TableSetupColumn("Client", ImGuiTableColumnFlags_None, 1.6f, 1);
        ImGui::TableSetupColumn("Kind", ImGuiTableColumnFlags_NoSort, 1.0f, 2);
        ImGui::TableSetupColumn("Category", ImGuiTableColumnFlags_NoSort, 1.0f, 3);
        ImGui::TableSetupColumn("Status", ImGuiTableColumnFlags_None, 1.1f, 4);
        ImGui::TableSetupColumn("Priority", ImGuiTableColumnFlags_None, 0.8f, 5);
        ImGui::TableSetupColumn("Due", ImGuiTableColumnFlags_DefaultSort, 1.6f, 6);
        ImGui::TableSetupColumn("Updated", ImGuiTableColumnFlags_None, 1.0f, 7);
        // On a narrow screen (a phone) kind, category, priority and last update are hidden, so the
        // reference, client, status and due time stay readable; they come back when it widens
        // (and a right click on the header shows or hides any column).
        static int narrow_was = -1;
        const int narrow = ImGui::GetContentRegionAvail().x < fs * 40 ? 1 : 0;
        if (narrow != narrow_was) {
            for (int col : {2, 3, 5, 7}) ImGui::TableSetColumnEnabled(col, !narrow);
            narrow_was = narrow;
        }
        ImGui::TableHeadersRow();
        if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsDirty) {
            if (specs->SpecsCount > 0) {
                static const char* sorts[] = {"reference", "client", "", "", "status", "priority", "due", "updated"};
                const auto& sp = specs->Specs[0];
                s.sort = sorts[sp.ColumnUserID];
                s.descending = sp.SortDirection == ImGuiSortDirection_Descending;
            }
            specs->SpecsDirty = false;
        }
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(s.total));
        while (clipper.Step()) {
            // Fetch the window of rows the clipper shows (one query per scroll step, not per frame).
            int need_lo = clipper.DisplayStart, need_hi = clipper.DisplayEnd;
            if (need_hi > need_lo && (!s.window_valid || need_lo < s.window_offset ||
                                      need_hi > s.window_offset + static_cast<int>(s.window.size()))) {
                CaseQuery wq = q;
                wq.offset = std::max(0, need_lo - 50);
                wq.limit = (need_hi - need_lo) + 150;
                // Refilled in place: the rows' strings are reused, no allocation per text.
                s.window_valid = static_cast<bool>(app.store()->query_cases(wq, s.window));
                s.window_offset = wq.offset;
            }
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                int wi = i - s.window_offset;
                if (!s.window_valid || wi < 0 || wi >= static_cast<int>(s.window.size())) continue;
                const CaseRow& r = s.window[wi];
                ImGui::TableNextRow(ImGuiTableRowFlags_None, ImGui::GetFrameHeight() + fs * 0.2f);
                ImGui::TableNextColumn();
                ImGui::PushID(i);
                // Text centred in the frame height, level with the other cells (AlignTextToFramePadding).
                ImGui::PushStyleVar(ImGuiStyleVar_SelectableTextAlign, ImVec2(0.0f, 0.5f));
                bool open = ImGui::Selectable(r.reference.c_str(), false,
                                              ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowOverlap,
                                              ImVec2(0, ImGui::GetFrameHeight()));
                ImGui::PopStyleVar();
                if (open) open_case(ui, r.id);
                mark("inbox.row." + std::to_string(i));
                ImGui::PopID();
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextUnformatted(r.client_name.empty() ? r.title.c_str() : r.client_name.c_str());
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextUnformatted(pretty(r.kind).c_str());
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextUnformatted(pretty(r.category).c_str());
                ImGui::TableNextColumn();
                status_badge(r.status);
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                if (r.priority == "urgent" || r.priority == "high")
                    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(color::danger), "%s", pretty(r.priority).c_str());
                else
                    ImGui::TextUnformatted(pretty(r.priority).c_str());
                ImGui::TableNextColumn();
                sla_badge_for_row(r, app.now());
                ImGui::SameLine();
                ImGui::AlignTextToFramePadding();
                ImGui::TextDisabled("%s", due_text(r.next_due, app.now()).c_str());
                ImGui::TableNextColumn();
                ImGui::AlignTextToFramePadding();
                ImGui::TextDisabled("%s", time_ago(r.updated_at, app.now()).c_str());
            }
        }
        if (s.total == 0) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            bool filtered = s.search[0] || s.kind || s.category || s.mine || s.overdue_only || s.escalation_only;
            // The message spans the row: the first column's clip cut it after a few words.
            const ImVec2 at = ImGui::GetCursorScreenPos();
            ImGui::PushClipRect(at, ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowWidth(), at.y + ImGui::GetTextLineHeightWithSpacing()), false);
            ImGui::TextDisabled("%s", filtered ? "No cases match these filters. Clear the search or filters to see more."
                                               : s.status == 1 ? "No open cases: everything is resolved or closed. Choose \"Any status\" to see them."
                                                               : "No cases with this status.");
            ImGui::PopClipRect();
        }
        ImGui::EndTable();
    }
    ImGui::PopStyleColor();
}

}  // namespace cl::ui
