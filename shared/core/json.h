// Thin helpers over rapidjson (the JSON engine cereal bundles; Debian's rapidjson-dev here).
// Parsing is strict (UTF-8 validated, iterative so deep nesting cannot overflow the stack) and
// every accessor checks types, so hostile input yields an Error, never an assert or a crash.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#define RAPIDJSON_HAS_STDSTRING 1
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/expected.h"

namespace cl::json {

using Value = rapidjson::Value;

// Owns a parsed document, and the copy of the text it was parsed from in place (its strings
// point into that copy, which moves with it). Movable.
class Document {
public:
    Document() = default;
    Document(Document&&) = default;
    Document& operator=(Document&&) = default;
    const Value& root() const { return doc_; }
    // The JSON text of object[key]'s value, exactly as to_string() writes it. `source` must be
    // the text this document was parsed from: where the value stands there already in that form
    // (no whitespace, no escapes, integers only: what closeloop's own writers send), it is
    // copied from there; otherwise it is written from the value. Empty when there is no such
    // member.
    std::string member_text(const Value& object, const char* key, std::string_view source) const;
    std::string member_text(const Value::Member& member, std::string_view source) const;  // a member found already

private:
    friend Expected<Document> parse(std::string_view text, size_t max_bytes);
    std::unique_ptr<char[]> text_;  // the parsed copy of the text (its strings end in place)
    size_t skip_ = 0, size_ = 0;    // a byte-order mark skipped; the text's size after it
    rapidjson::Document doc_;
};

// Parses text; errors carry code "bad_json" with the offset. max_bytes guards memory use.
Expected<Document> parse(std::string_view text, size_t max_bytes = 64u << 20);

// Parses many texts one after another into the same buffers, so that a parse of a small text
// allocates nothing (fold parses every event body). Same rules, results and errors as parse();
// the root it returns (and every string in it) stays valid until the next parse() on this Parser
// or its destruction. Not thread-safe: one per thread.
class Parser {
public:
    Parser();
    ~Parser();
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;
    Expected<const Value*> parse(std::string_view text, size_t max_bytes = 64u << 20);

private:
    using Pool = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
    using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;
    alignas(16) char value_buf_[8192];  // DOM of a typical event body (more spills to the heap)
    alignas(16) char stack_buf_[4096];  // the reader's and the document's parse stacks
    Pool values_, stacks_;
    Doc doc_;
    std::string text_;                    // the text being parsed (parsed in place: strings point here)
    std::vector<const Value*> walk_;      // scratch for the duplicate-key check
    std::vector<std::string_view> names_;
};

// Typed lookups on an object. Each returns false (and leaves out untouched) when the member is
// missing or has another type.
bool get(const Value& obj, const char* key, std::string& out);
bool get(const Value& obj, const char* key, int64_t& out);
bool get(const Value& obj, const char* key, int& out);
bool get(const Value& obj, const char* key, bool& out);
bool get(const Value& obj, const char* key, double& out);
const Value* member(const Value& obj, const char* key);  // any type, nullptr when missing
bool has(const Value& obj, const char* key);

// Returns the name of the first member of obj not in allowed ("(empty name)" for ""), or empty
// when all are known.
std::string unknown_member(const Value& obj, const std::vector<std::string_view>& allowed);

// Serialises a value as compact JSON.
std::string to_string(const Value& v);

// A streaming writer with small conveniences; produces compact JSON.
class Writer {
public:
    Writer() : w_(buf_) {}
    Writer& begin_object() { w_.StartObject(); return *this; }
    Writer& end_object() { w_.EndObject(); return *this; }
    Writer& begin_array() { w_.StartArray(); return *this; }
    Writer& end_array() { w_.EndArray(); return *this; }
    Writer& key(std::string_view k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); return *this; }
    Writer& str(std::string_view s) { w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); return *this; }
    Writer& num(int64_t n) { w_.Int64(n); return *this; }
    Writer& num_u(uint64_t n) { w_.Uint64(n); return *this; }
    Writer& dbl(double d);  // non-finite values are written as null
    Writer& boolean(bool b) { w_.Bool(b); return *this; }
    Writer& null() { w_.Null(); return *this; }
    // Inserts already-serialised JSON (trusted: produced by this program).
    Writer& raw(std::string_view json) { w_.RawValue(json.data(), json.size(), rapidjson::kObjectType); return *this; }
    Writer& value(const Value& v) { v.Accept(w_); return *this; }

    // key/value shorthands
    Writer& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
    Writer& kv(std::string_view k, const char* v) { return key(k).str(v); }
    Writer& kv(std::string_view k, const std::string& v) { return key(k).str(v); }
    Writer& kv(std::string_view k, int64_t v) { return key(k).num(v); }
    Writer& kv(std::string_view k, int v) { return key(k).num(v); }
    Writer& kv(std::string_view k, uint64_t v) { return key(k).num_u(v); }
    Writer& kv(std::string_view k, bool v) { return key(k).boolean(v); }
    Writer& kv_dbl(std::string_view k, double v) { return key(k).dbl(v); }

    std::string take() { return std::string(buf_.GetString(), buf_.GetSize()); }
    std::string_view view() const { return std::string_view(buf_.GetString(), buf_.GetSize()); }

private:
    rapidjson::StringBuffer buf_;
    rapidjson::Writer<rapidjson::StringBuffer> w_;
};

// Escapes a string as a JSON string literal (with quotes).
std::string quote(std::string_view s);

}  // namespace cl::json
