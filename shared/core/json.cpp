#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <rapidjson/error/en.h>

namespace cl::json {

namespace {

// rapidjson keeps repeated member names; a strict reader must not (which one would win is
// ambiguous, and two parsers could disagree). Iterative, so deep input cannot overflow the stack.
// Reports, for the first object in this walk's order that repeats a name, the smallest repeated
// name. `stack` and `names` are scratch space (a Parser keeps them between parses).
bool has_repeated_name(const Value& obj) {  // for small objects: pairwise, no copying or sorting
    for (auto i = obj.MemberBegin(), end = obj.MemberEnd(); i != end; ++i) {
        const rapidjson::SizeType n = i->name.GetStringLength();
        const char* s = i->name.GetString();
        for (auto j = i + 1; j != end; ++j)
            if (j->name.GetStringLength() == n && std::memcmp(j->name.GetString(), s, n) == 0) return true;
    }
    return false;
}

std::string first_duplicate_key(const Value& root, std::vector<const Value*>& stack, std::vector<std::string_view>& names) {
    if (!root.IsObject() && !root.IsArray()) return {};
    stack.clear();
    stack.push_back(&root);
    while (!stack.empty()) {
        const Value* v = stack.back();
        stack.pop_back();
        if (v->IsObject()) {
            const rapidjson::SizeType count = v->MemberCount();
            if (count > 1 && (count > 16 || has_repeated_name(*v))) {
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

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
constexpr unsigned kValidTextFlags = rapidjson::kParseIterativeFlag;  // the text is known to be valid UTF-8

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), the same
// rules as rapidjson's validating reader, eight ASCII bytes at a time. rapidjson checks the
// encoding character by character inside each string (a third of a body's parse time); a text
// that passes here parses the same without that check, and one that fails is parsed with it, so
// errors and their offsets are rapidjson's own.
bool valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        if (end - p >= 8) {
            uint64_t word;
            std::memcpy(&word, p, 8);
            if ((word & 0x8080808080808080ull) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int more;
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c == 0xE0) more = 2, lo = 0xA0;
        else if (c == 0xED) more = 2, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) more = 2;
        else if (c == 0xF0) more = 3, lo = 0x90;
        else if (c == 0xF4) more = 3, hi = 0x8F;
        else if (c >= 0xF1 && c <= 0xF3) more = 3;
        else return false;
        if (end - p <= more) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (int i = 2; i <= more; ++i)
            if (p[i] < 0x80 || p[i] > 0xBF) return false;
        p += more + 1;
    }
    return true;
}

Error too_large(std::string_view text, size_t max_bytes) {
    return make_error("too_large", "JSON text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                       std::to_string(max_bytes));
}

// `skipped`: bytes in front of what the reader was given (the offset counts them too).
template <typename D>
Error parse_error(const D& d, size_t skipped = 0) {
    return make_error("bad_json", std::string("malformed JSON at offset ") + std::to_string(d.GetErrorOffset() + skipped) +
                                      ": " + rapidjson::GetParseError_En(d.GetParseError()));
}

Error duplicate_key(const std::string& name) { return make_error("bad_json", "duplicate key '" + name + "' in JSON object"); }

// A text parsed in place ends in this many NULs, not one: rapidjson's validating reader takes all
// the continuation bytes a lead byte announces before it judges them, so a text that ends in a
// lead byte ("\xF0) is read up to three bytes past its end (found by fuzz_event under ASan).
constexpr size_t kPadding = 4;

// rapidjson's UTF-8 memory stream first skips the bytes of a byte-order mark (EF, then BB, then
// BF, each when present) and counts them in error offsets. Parsing a copy in place skips them the
// same way: the same reader on the same characters (both stop at a NUL), minus copying every
// string into the document (a third of a push request's parse time).
size_t byte_order_mark(std::string_view text) {
    size_t skip = 0;
    for (unsigned char bom : {0xEFu, 0xBBu, 0xBFu})
        if (skip < text.size() && static_cast<unsigned char>(text[skip]) == bom) ++skip;
    return skip;
}

}  // namespace

Expected<Document> parse(std::string_view text, size_t max_bytes) {
    if (text.size() > max_bytes) return too_large(text, max_bytes);
    const size_t skip = byte_order_mark(text), n = text.size() - skip;
    Document d;
    d.skip_ = skip;
    d.size_ = n;
    d.text_.reset(new char[n + kPadding]);
    std::memcpy(d.text_.get(), text.data() + skip, n);
    std::memset(d.text_.get() + n, 0, kPadding);
    if (valid_utf8({d.text_.get(), n})) d.doc_.ParseInsitu<kValidTextFlags>(d.text_.get());
    else d.doc_.ParseInsitu<kParseFlags>(d.text_.get());
    if (d.doc_.HasParseError()) return parse_error(d.doc_, skip);
    std::vector<const Value*> stack;
    std::vector<std::string_view> names;
    std::string dup = first_duplicate_key(d.doc_, stack, names);
    if (!dup.empty()) return duplicate_key(dup);
    return d;
}

constexpr size_t kKeep = 1u << 20;  // a Parser keeps a copy buffer this large between texts, no larger

// The DOM and both parse stacks are carved from the two buffers (or from heap chunks when a text
// needs more); Clear() returns them for the next text and frees only those extra chunks.
Parser::Parser()
    : values_(value_buf_, sizeof value_buf_), stacks_(stack_buf_, sizeof stack_buf_, 16384), doc_(&values_, 1024, &stacks_) {}

Parser::~Parser() = default;

Expected<const Value*> Parser::parse(std::string_view text, size_t max_bytes) {
    if (text.size() > max_bytes) return too_large(text, max_bytes);
    const size_t skip = byte_order_mark(text);  // and parsed in place, as parse()
    doc_.SetNull();  // the previous root points into the memory reused below
    values_.Clear();
    stacks_.Clear();
    if (text_.capacity() > kKeep && text.size() - skip <= kKeep) std::string().swap(text_);
    text_.assign(text.data() + skip, text.size() - skip);
    text_.append(kPadding - 1, '\0');  // and std::string's own terminator
    if (valid_utf8(text_)) doc_.ParseInsitu<kValidTextFlags>(text_.data());
    else doc_.ParseInsitu<kParseFlags>(text_.data());
    if (doc_.HasParseError()) return parse_error(doc_, skip);
    std::string dup = first_duplicate_key(doc_, walk_, names_);
    if (!dup.empty()) return duplicate_key(dup);
    return static_cast<const Value*>(&doc_);
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

namespace {

// The end (one past) of the object or array starting at s[i], when everything up to it is in the
// form rapidjson's Writer gives it: no whitespace, strings without escapes (the Writer escapes
// only quotes, backslashes and control characters, which a string needs escapes for anyway), and
// numbers that are integers of at most 18 digits (int64, written back digit for digit; "-0",
// fractions and exponents come back in another form). 0 otherwise. s is valid JSON.
size_t canonical_end(std::string_view s, size_t i) {
    int depth = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i)
                if (s[i] == '\\') return 0;
            ++i;  // the closing quote
            continue;
        }
        if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return i + 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const size_t start = i;
            if (c == '-') ++i;
            const size_t digits = i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
            if (i - digits > 18 || (c == '-' && i - digits == 1 && s[digits] == '0')) return 0;
            if (i < s.size() && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) return 0;
            if (i == start) return 0;
            continue;
        } else if (c != ',' && c != ':' && !(c >= 'a' && c <= 'z')) {  // letters: true, false, null
            return 0;
        }
        ++i;
    }
    return 0;
}

}  // namespace

std::string Document::member_text(const Value& object, const char* key, std::string_view source) const {
    if (!object.IsObject()) return {};
    auto it = object.FindMember(key);
    if (it == object.MemberEnd()) return {};
    return member_text(*it, source);
}

std::string Document::member_text(const Value::Member& member, std::string_view source) const {
    const Value& value = member.value;
    // In-place parsing left the name's characters where they stood in the text: its offset there
    // is its offset in the copy. From the name, past its closing quote and the colon, to the value.
    const char* name = member.name.GetString();
    if ((value.IsObject() || value.IsArray()) && source.size() == skip_ + size_ && name > text_.get() &&
        name < text_.get() + size_) {
        std::string_view s = source.substr(skip_);
        size_t i = static_cast<size_t>(name - text_.get());
        if (s[i - 1] == '"') {
            while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
            ++i;
            while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == ':')) ++i;
            if (i < s.size() && (s[i] == '{' || s[i] == '[')) {
                if (const size_t end = canonical_end(s, i)) return std::string(s.substr(i, end - i));
            }
        }
    }
    return to_string(value);
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
