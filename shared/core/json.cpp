#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <rapidjson/error/en.h>

namespace cl::json {

namespace {

// rapidjson keeps repeated member names; a strict reader must not (which one would win is
// ambiguous, and two parsers could disagree). Iterative, so deep input cannot overflow the stack.
std::string first_duplicate_key(const Value& root) {
    std::vector<const Value*> stack{&root};
    std::vector<std::string_view> names;
    while (!stack.empty()) {
        const Value* v = stack.back();
        stack.pop_back();
        if (v->IsObject()) {
            if (v->MemberCount() > 1) {
                names.clear();
                for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it)
                    names.emplace_back(it->name.GetString(), it->name.GetStringLength());
                std::sort(names.begin(), names.end());
                auto dup = std::adjacent_find(names.begin(), names.end());
                if (dup != names.end()) return std::string(*dup);
            }
            for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it)
                if (it->value.IsObject() || it->value.IsArray()) stack.push_back(&it->value);
        } else if (v->IsArray()) {
            for (const auto& item : v->GetArray())
                if (item.IsObject() || item.IsArray()) stack.push_back(&item);
        }
    }
    return {};
}

}  // namespace

Expected<Document> parse(std::string_view text, size_t max_bytes) {
    if (text.size() > max_bytes)
        return make_error("too_large", "JSON text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                           std::to_string(max_bytes));
    Document d;
    constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
    d.raw().Parse<kFlags>(text.data(), text.size());
    if (d.raw().HasParseError()) {
        return make_error("bad_json", std::string("malformed JSON at offset ") + std::to_string(d.raw().GetErrorOffset()) +
                                          ": " + rapidjson::GetParseError_En(d.raw().GetParseError()));
    }
    std::string dup = first_duplicate_key(d.raw());
    if (!dup.empty()) return make_error("bad_json", "duplicate key '" + dup + "' in JSON object");
    return d;
}

static const Value* find(const Value& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

bool get(const Value& obj, const char* key, std::string& out) {
    const Value* v = find(obj, key);
    if (!v || !v->IsString()) return false;
    out.assign(v->GetString(), v->GetStringLength());
    return true;
}
bool get(const Value& obj, const char* key, int64_t& out) {
    const Value* v = find(obj, key);
    if (!v || !v->IsInt64()) return false;
    out = v->GetInt64();
    return true;
}
bool get(const Value& obj, const char* key, int& out) {
    const Value* v = find(obj, key);
    if (!v || !v->IsInt()) return false;
    out = v->GetInt();
    return true;
}
bool get(const Value& obj, const char* key, bool& out) {
    const Value* v = find(obj, key);
    if (!v || !v->IsBool()) return false;
    out = v->GetBool();
    return true;
}
bool get(const Value& obj, const char* key, double& out) {
    const Value* v = find(obj, key);
    if (!v || !v->IsNumber()) return false;
    out = v->GetDouble();
    return true;
}
const Value* member(const Value& obj, const char* key) { return find(obj, key); }
bool has(const Value& obj, const char* key) { return find(obj, key) != nullptr; }

std::string unknown_member(const Value& obj, const std::vector<std::string_view>& allowed) {
    if (!obj.IsObject()) return {};
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        std::string_view name(it->name.GetString(), it->name.GetStringLength());
        bool known = false;
        for (auto a : allowed)
            if (a == name) { known = true; break; }
        // An empty name must still read as "unknown" to callers that test for an empty result.
        if (!known) return name.empty() ? std::string("(empty name)") : std::string(name);
    }
    return {};
}

std::string to_string(const Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

Writer& Writer::dbl(double d) {
    if (!std::isfinite(d)) w_.Null();
    else w_.Double(d);
    return *this;
}

std::string quote(std::string_view s) {
    Writer w;
    w.str(s);
    return w.take();
}

}  // namespace cl::json
