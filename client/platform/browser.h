// Small browser services: time, connectivity, downloads, on-screen keyboard, clipboard.
#pragma once
#include <cstdint>
#include <string>

namespace cl::platform {

int64_t now_ms();                 // wall clock, UTC ms
bool navigator_online();          // navigator.onLine
// Whether the browser keeps this site's storage under storage pressure (boot.js asked for it):
// 1 yes, 0 no (it may clear local data the device has not synced), -1 not known (yet).
int storage_persisted();
double device_pixel_ratio();
void canvas_css_size(double* w, double* h);
// Saves data as a file through the browser's download mechanism.
void download_file(const std::string& name, const std::string& mime, const std::string& data);
// Focuses (true) or blurs (false) the hidden <input> so touch devices show their keyboard.
void set_text_input_active(bool active);
void set_clipboard(const std::string& text);
// Text pasted (paste event) or typed on a virtual keyboard since the last call.
std::string take_text_input();
// Opens the device's file picker; the chosen file's name/type/size/sha256 arrive later.
void pick_file();
struct PickedFile { std::string name, type, sha256, path; int64_t size = 0; };
bool take_picked_file(PickedFile* out);
std::string local_date_string(int64_t ms, const char* fmt = "%Y-%m-%d %H:%M");
int64_t parse_local_datetime(const std::string& s);  // "YYYY-MM-DD[ HH:MM]" -> ms, -1 when invalid
int64_t end_of_local_day(int64_t ms);

}  // namespace cl::platform
