#include "domain/vocab.h"

#include <algorithm>

namespace cl::vocab {

const std::vector<std::string_view>& kinds() {
    static const std::vector<std::string_view> v = {"aftercare", "feedback", "follow_up", "improvement"};
    return v;
}
const std::vector<std::string_view>& categories() {
    static const std::vector<std::string_view> v = {"positive", "negative", "suggestion", "constructive", "complaint"};
    return v;
}
const std::vector<std::string_view>& priorities() {
    static const std::vector<std::string_view> v = {"low", "normal", "high", "urgent"};
    return v;
}
const std::vector<std::string_view>& channels() {
    static const std::vector<std::string_view> v = {"email", "sms", "phone", "in_person", "online_form"};
    return v;
}
const std::vector<std::string_view>& statuses() {
    static const std::vector<std::string_view> v = {"new", "in_progress", "awaiting_client", "resolved", "closed"};
    return v;
}
const std::vector<std::string_view>& contact_steps() {
    static const std::vector<std::string_view> v = {"thank_you", "survey_sent", "acknowledged", "responded",
                                                    "follow_up_contact"};
    return v;
}
const std::vector<std::string_view>& settable_fields() {
    static const std::vector<std::string_view> v = {"title",    "description",    "category",       "priority",
                                                    "urgent",   "high_impact",    "client_name",    "client_contact",
                                                    "channel",  "service_completed_at", "due_at"};
    return v;
}

FieldType field_type(std::string_view f) {
    if (f == "urgent" || f == "high_impact") return FieldType::Bool;
    if (f == "service_completed_at" || f == "due_at") return FieldType::Time;
    if (f == "category" || f == "priority" || f == "channel") return FieldType::Enum;
    return FieldType::Text;
}

const std::vector<std::string_view>& enum_values(std::string_view f) {
    static const std::vector<std::string_view> none;
    if (f == "category") return categories();
    if (f == "priority") return priorities();
    if (f == "channel") return channels();
    return none;
}

bool contains(const std::vector<std::string_view>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool transition_allowed(std::string_view from, std::string_view to) {
    if (!contains(statuses(), from) || !contains(statuses(), to) || from == to) return false;
    if (from == "new") return true;
    if (from == "in_progress") return to == "awaiting_client" || to == "resolved" || to == "closed";
    if (from == "awaiting_client") return to == "in_progress" || to == "resolved" || to == "closed";
    if (from == "resolved") return to == "closed" || to == "in_progress";  // reopen
    if (from == "closed") return to == "in_progress";                      // reopen
    return false;
}

bool is_closed_status(std::string_view s) { return s == "resolved" || s == "closed"; }

}  // namespace cl::vocab
