// The closed vocabularies of the domain (R4, R5, R7) and the status transition rules.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace cl::vocab {

// Case kinds: aftercare after a completed service, a feedback item, a follow-up, and improvement
// actions (R9), which are kept as cases of their own so they sync and merge the same way.
const std::vector<std::string_view>& kinds();          // aftercare feedback follow_up improvement
const std::vector<std::string_view>& categories();     // positive negative suggestion constructive complaint
const std::vector<std::string_view>& priorities();     // low normal high urgent
const std::vector<std::string_view>& channels();       // email sms phone in_person online_form
const std::vector<std::string_view>& statuses();       // new in_progress awaiting_client resolved closed
const std::vector<std::string_view>& contact_steps();  // thank_you survey_sent acknowledged responded follow_up_contact

enum class FieldType { Text, Bool, Time, Enum };
const std::vector<std::string_view>& settable_fields();
FieldType field_type(std::string_view field);
const std::vector<std::string_view>& enum_values(std::string_view field);  // for Enum fields

// Whether a case may move from one status to another. Unknown statuses are never allowed.
bool transition_allowed(std::string_view from, std::string_view to);
bool is_closed_status(std::string_view status);  // resolved or closed: no response clock runs
bool contains(const std::vector<std::string_view>& list, std::string_view value);

}  // namespace cl::vocab
