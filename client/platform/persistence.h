// IndexedDB persistence of /data (IDBFS). pre.js mounts /data and starts its initial load before
// main(); main() sets up the window and Dear ImGui meanwhile, and the app opens its database once
// local_data_loaded() says the load is over. Flushes are asynchronous: request one after each
// committed action; completions are queued and drained once per frame, so "saved" is shown only
// after the browser confirmed it.
#pragma once
#include <cstdint>
#include <string>

namespace cl::platform {

// The initial load from IndexedDB is over (loaded, or failed: see persist_load_error). Nothing
// may read or write /data before, and no flush may start: it would replace the stored copy.
bool local_data_loaded();

// Error text from the initial load ("" = loaded fine).
std::string persist_load_error();

// Copies a file of the in-memory file system in one piece (fwrite in chunks grows the copy step by
// step: a 57 MB store took 1-2 s in wasm, this ~0.2 s on the bench machine).
bool copy_local_file(const std::string& from, const std::string& to);

// The last good copy of the store lives in an IndexedDB database of its own ("/backup"), which the
// start does not load (with the copy under /data, every start read the store twice from IndexedDB).
// backup_store: copies the file there and stores it now (asynchronous); the in-memory copy is
// dropped once stored. restore_backup_and_reload: loads the copy, puts it in place of db_path,
// stores that and reloads the page (the next start opens the copy and take_restored_flag() says
// so); without a copy the page shows an error. delete_backup: removes the copy (sign-out).
void backup_store(const std::string& db_path);
void restore_backup_and_reload(const std::string& db_path);
bool take_restored_flag();
void delete_backup();

// Starts FS.syncfs(false). Returns false when a flush or a backup is running, or the initial load
// is not over (the caller retries later).
bool persist_flush_start();
bool persist_flush_running();

// Drains a finished flush: returns true once per completion and sets ok/error.
bool persist_poll(bool* ok, std::string* error);

}  // namespace cl::platform
