/* lnn_lock.c - point locks and worker processes for the runner (lnn_lock.h).
 *
 * A POSIX record lock belongs to a process and is dropped when the process
 * closes ANY descriptor of the file, so this file keeps the locks it holds in
 * a table and never opens a held file a second time: lock_holder answers
 * from the held descriptor, and lock_point refuses a second lock on it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lnn.h"
#include "lnn_lock.h"

#define LOCK_MT "nnlab.Lock"
#define MAX_HELD 64
#define MAX_INFO 4096

typedef struct {
    int fd; /* -1 once released */
    dev_t dev;
    ino_t ino;
} held_lock;

/* The locks this process holds (their descriptors must stay the only ones). */
static held_lock *held[MAX_HELD];

static held_lock *find_held(dev_t dev, ino_t ino)
{
    for (int i = 0; i < MAX_HELD; i++)
        if (held[i] && held[i]->dev == dev && held[i]->ino == ino)
            return held[i];
    return NULL;
}

static void forget_held(const held_lock *h)
{
    for (int i = 0; i < MAX_HELD; i++)
        if (held[i] == h)
            held[i] = NULL;
}

static int remember_held(held_lock *h)
{
    for (int i = 0; i < MAX_HELD; i++)
        if (!held[i]) {
            held[i] = h;
            return 1;
        }
    return 0;
}

static int push_errno(lua_State *L, const char *path, const char *what, int e)
{
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: cannot %s (%s)", path, what, strerror(e));
    return 2;
}

/* Pushes the file's contents (up to MAX_INFO bytes, trailing newline cut). */
static void push_contents(lua_State *L, int fd)
{
    char buf[MAX_INFO];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n < 0)
        n = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
        n--;
    lua_pushlstring(L, buf, (size_t)n);
}

static struct flock whole_file(short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
    return fl;
}

static int lock_release(lua_State *L)
{
    held_lock *h = lnn_checkudata(L, 1, LOCK_MT, sizeof *h);
    if (h->fd >= 0) {
        forget_held(h);
        close(h->fd); /* closing drops the lock */
        h->fd = -1;
    }
    return 0;
}

static int lock_tostring(lua_State *L)
{
    const held_lock *h = lnn_checkudata(L, 1, LOCK_MT, sizeof *h);
    lua_pushstring(L, h->fd >= 0 ? "nnlab.Lock (held)" : "nnlab.Lock (released)");
    return 1;
}

/* core.lock_point(path, info [, wait]) */
static int l_lock_point(lua_State *L)
{
    const char *path = lnn_check_path(L, 1);
    size_t info_len;
    const char *info = luaL_checklstring(L, 2, &info_len);
    int wait = lua_toboolean(L, 3);
    held_lock *h = lua_newuserdatauv(L, sizeof *h, 0); /* safe empty state first */
    h->fd = -1;
    luaL_setmetatable(L, LOCK_MT);
    struct stat sb;
    const held_lock *mine = stat(path, &sb) == 0 ? find_held(sb.st_dev, sb.st_ino) : NULL;
    if (mine) {
        /* Opening and closing the file again would drop our own lock. */
        lua_pushboolean(L, 0);
        push_contents(L, mine->fd);
        return 2;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return push_errno(L, path, "open its lock file", errno);
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return push_errno(L, path, "lock", e);
    }
    struct flock fl = whole_file(F_WRLCK);
    int rc;
    while ((rc = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl)) != 0 && errno == EINTR && wait)
        ;
    if (rc != 0) {
        int e = errno;
        if (e == EAGAIN || e == EACCES) {
            lua_pushboolean(L, 0);
            push_contents(L, fd);
            close(fd);
            return 2;
        }
        close(fd);
        return push_errno(L, path, "lock", e);
    }
    if (!remember_held(h)) {
        close(fd);
        return luaL_error(L, "%s: more than %d locks held at once", path, MAX_HELD);
    }
    h->fd = fd;
    h->dev = sb.st_dev;
    h->ino = sb.st_ino;
    /* The holder's description; a failure here leaves the lock held. */
    if (ftruncate(fd, 0) == 0 && info_len > 0) {
        ssize_t n = pwrite(fd, info, info_len, 0);
        (void)n;
    }
    return 1;
}

/* core.lock_holder(path) -> the holder's info, or nil when nobody holds it */
static int l_lock_holder(lua_State *L)
{
    const char *path = lnn_check_path(L, 1);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        lua_pushnil(L);
        return 1;
    }
    const held_lock *mine = find_held(sb.st_dev, sb.st_ino);
    if (mine) {
        push_contents(L, mine->fd);
        return 1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lua_pushnil(L);
        return 1;
    }
    struct flock fl = whole_file(F_WRLCK);
    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) {
        close(fd);
        lua_pushnil(L);
        return 1;
    }
    push_contents(L, fd);
    if (lua_rawlen(L, -1) == 0) {
        lua_pop(L, 1);
        lua_pushfstring(L, "pid %d", (int)fl.l_pid);
    }
    close(fd);
    return 1;
}

/* ---------------------------------------------------------------- processes */

static const struct {
    const char *name;
    int sig;
} signals[] = {{"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL}, {"SIGHUP", SIGHUP}};

static const char *signal_name(int sig)
{
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return NULL;
}

static void free_strings(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* A NULL-terminated copy of the list at stack index idx (strings only). */
static char **copy_argv(lua_State *L, int idx, size_t *count)
{
    size_t n = lua_rawlen(L, idx);
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        const char *s = lua_tostring(L, -1);
        v[i] = s ? strdup(s) : NULL;
        lua_pop(L, 1);
        if (!v[i]) {
            free_strings(v);
            return NULL;
        }
    }
    *count = n;
    return v;
}

extern char **environ;

/* environ with the NAME = value pairs of the table at idx replacing or added. */
static char **build_env(lua_State *L, int idx)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    if (!lua_isnoneornil(L, idx)) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            extra++;
            lua_pop(L, 1);
        }
    }
    char **env = calloc(n + extra + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int replaced = 0;
        if (!lua_isnoneornil(L, idx)) {
            lua_pushlstring(L, environ[i], len);
            replaced = lua_rawget(L, idx) != LUA_TNIL;
            lua_pop(L, 1);
        }
        if (!replaced && !(env[k++] = strdup(environ[i]))) {
            free_strings(env);
            return NULL;
        }
    }
    if (!lua_isnoneornil(L, idx)) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            size_t klen, vlen;
            const char *key = lua_tolstring(L, -2, &klen);
            const char *val = lua_tolstring(L, -1, &vlen);
            char *s = key && val ? malloc(klen + vlen + 2) : NULL;
            if (s) {
                memcpy(s, key, klen);
                s[klen] = '=';
                memcpy(s + klen + 1, val, vlen + 1);
                env[k++] = s;
            }
            lua_pop(L, 1);
            if (!s) {
                lua_pop(L, 1);
                free_strings(env);
                return NULL;
            }
        }
    }
    env[k] = NULL;
    return env;
}

/* core.spawn(argv, env, log) */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    const char *log = lua_isnoneornil(L, 3) ? NULL : lnn_check_path(L, 3);
    size_t argc = 0;
    size_t n = lua_rawlen(L, 1);
    if (n == 0)
        return luaL_argerror(L, 1, "expected a list with the program first");
    for (size_t i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, 1, (lua_Integer)i);
        lua_pop(L, 1);
        if (t != LUA_TSTRING)
            return luaL_argerror(L, 1, "every item must be a string");
        lua_rawgeti(L, 1, (lua_Integer)i);
        size_t len;
        const char *item = lua_tolstring(L, -1, &len);
        if (strlen(item) != len)
            return luaL_argerror(L, 1, "an item contains a NUL byte");
        lua_pop(L, 1);
    }
    if (!lua_isnoneornil(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_argerror(L, 2, "names and values must be strings");
            lua_pop(L, 1);
        }
    }
    char **argv = copy_argv(L, 1, &argc);
    char **env = argv ? build_env(L, 2) : NULL;
    int logfd = -1, pipefd[2] = {-1, -1};
    if (!argv || !env) {
        free_strings(argv);
        free_strings(env);
        return luaL_error(L, "spawn: out of memory");
    }
    if (log && (logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        int e = errno;
        free_strings(argv);
        free_strings(env);
        return push_errno(L, log, "open", e);
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        int e = errno;
        if (logfd >= 0)
            close(logfd);
        lua_pushstring(L, argv[0]);
        free_strings(argv);
        free_strings(env);
        return push_errno(L, lua_tostring(L, -1), "start", e);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: only async-signal-safe calls until execve. */
        setpgid(0, 0);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
#endif
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
            _exit(127);
        execve(argv[0], argv, env);
        int e = errno;
        ssize_t w = write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    close(pipefd[1]);
    if (logfd >= 0)
        close(logfd);
    if (pid < 0) {
        close(pipefd[0]);
        free_strings(env);
        lua_pushfstring(L, "%s", argv[0]);
        free_strings(argv);
        return push_errno(L, lua_tostring(L, -1), "start", fork_errno);
    }
    /* The pipe closes on a successful exec; an errno on it means exec failed. */
    int child_errno = 0;
    ssize_t got;
    while ((got = read(pipefd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    free_strings(env);
    if (got == (ssize_t)sizeof child_errno) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        lua_pushstring(L, argv[0]);
        free_strings(argv);
        return push_errno(L, lua_tostring(L, -1), "start", child_errno);
    }
    free_strings(argv);
    lua_pushinteger(L, pid);
    return 1;
}

/* core.wait(pid [, block]) */
static int l_wait(lua_State *L)
{
    pid_t pid = (pid_t)lnn_check_int(L, 1, 1, INT32_MAX, "pid");
    int block = lua_toboolean(L, 2);
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR && block)
        ;
    if (r == 0 || (r < 0 && errno == EINTR)) {
        lua_pushnil(L);
        return 1;
    }
    if (r < 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "wait for process %d: %s", (int)pid, strerror(errno));
        return 2;
    }
    if (WIFEXITED(status)) {
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WEXITSTATUS(status));
    } else {
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        const char *name = signal_name(sig);
        lua_pushliteral(L, "signal");
        if (name)
            lua_pushstring(L, name);
        else
            lua_pushfstring(L, "signal %d", sig);
    }
    return 2;
}

/* core.kill(pid, name) */
static int l_kill(lua_State *L)
{
    pid_t pid = (pid_t)lnn_check_int(L, 1, 1, INT32_MAX, "pid");
    const char *name = luaL_checkstring(L, 2);
    int sig = -1;
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        if (strcmp(signals[i].name, name) == 0)
            sig = signals[i].sig;
    if (sig < 0)
        return luaL_argerror(L, 2, "expected SIGINT, SIGTERM, SIGKILL or SIGHUP");
    if (pid <= 0)
        return luaL_argerror(L, 1, "expected a process id > 0");
    if (kill(pid, sig) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "kill %d: %s", (int)pid, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s <= 86400, 1, "seconds must be in 0..86400");
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL); /* a signal ends it early */
    return 0;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

static int l_hostname(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0)
        strcpy(name, "unknown");
    name[sizeof name - 1] = '\0';
    lua_pushstring(L, name);
    return 1;
}

static int l_cpu_count(lua_State *L)
{
    long n = 0;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n < 1 ? 1 : n);
    return 1;
}

static const luaL_Reg lock_meta[] = {
    {"__gc", lock_release}, {"__close", lock_release}, {"__tostring", lock_tostring}, {NULL, NULL}};
static const luaL_Reg lock_methods[] = {{"unlock", lock_release}, {NULL, NULL}};

static const luaL_Reg lock_funcs[] = {
    {"lock_point", l_lock_point}, {"lock_holder", l_lock_holder}, {"spawn", l_spawn}, {"wait", l_wait},
    {"kill", l_kill}, {"sleep", l_sleep}, {"getpid", l_getpid}, {"hostname", l_hostname},
    {"cpu_count", l_cpu_count}, {NULL, NULL}};

void lnn_open_lock(lua_State *L)
{
    if (luaL_newmetatable(L, LOCK_MT)) {
        luaL_setfuncs(L, lock_meta, 0);
        luaL_newlib(L, lock_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, lock_funcs, 0);
}
