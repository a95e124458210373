/* lnn_lock.h - system services of the runner, added to module "nnlab.core".
 *
 *   lock_point(path, info [, wait]) -> lock | false, holder | nil, message
 *       an fcntl (POSIX record) write lock on the whole file at path, created
 *       if missing; info (e.g. "pid 12 on host a since ...") replaces its
 *       contents while held. Another holder: false and that holder's info
 *       (without wait), or waits for it (with wait). fcntl locks are honoured
 *       across NFS clients (NLM or NFSv4) where flock may not be.
 *   lock:unlock(), __gc, __close  release it (a second call does nothing)
 *   lock_holder(path) -> info | nil   the holder's info while the file is locked
 *   spawn(argv, env, log) -> pid | nil, message
 *       runs argv[1] with arguments argv[2..] (no shell), the environment
 *       with env's NAME = value pairs set, stdout and stderr appended to the
 *       file log (if given), in a process group of its own, and SIGTERM sent
 *       to it when this process dies (Linux)
 *   wait(pid [, block]) -> nil (running) | "exit", status | "signal", name
 *   kill(pid, "SIGINT" | "SIGTERM" | "SIGKILL") -> true | nil, message
 *   sleep(seconds)       returns early when a signal arrives
 *   getpid(), hostname(), cpu_count() (CPUs this process may run on)
 *
 * Expected failures of the system return nil, message; misuse raises. */
#ifndef NN_LNN_LOCK_H
#define NN_LNN_LOCK_H

#include <lua.h>

/* Adds the functions above to the table on top of the stack. */
void lnn_open_lock(lua_State *L);

#endif
