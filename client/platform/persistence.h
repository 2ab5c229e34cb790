// IndexedDB persistence of /data (IDBFS). The mount and initial load happen in pre.js before
// main(). Flushes are asynchronous: request one after each committed action; completions are
// queued and drained once per frame, so "saved" is shown only after the browser confirmed it.
#pragma once
#include <cstdint>
#include <string>

namespace cl::platform {

// Error text from the initial load ("" = loaded fine).
std::string persist_load_error();

// Starts FS.syncfs(false). Returns false when a flush is already running (caller retries later).
bool persist_flush_start();
bool persist_flush_running();

// Drains a finished flush: returns true once per completion and sets ok/error.
bool persist_poll(bool* ok, std::string* error);

}  // namespace cl::platform
