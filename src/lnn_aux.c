/* lnn_aux.c - the binding's shared checks and its view type (lnn.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnn.h"

/* ---------------------------------------------------------------- errors */

int lnn_error(lua_State *L, const nn_error *err)
{
    return luaL_error(L, "%s", err->msg);
}

/* ---------------------------------------------------------------- numbers */

static const char *range_text(lua_State *L, lua_Integer lo, lua_Integer hi)
{
    if (hi == LUA_MAXINTEGER)
        return lua_pushfstring(L, ">= %I", (LUAI_UACINT)lo);
    return lua_pushfstring(L, "in %I..%I", (LUAI_UACINT)lo, (LUAI_UACINT)hi);
}

/* v as an integer if it is a number with an integer value that fits. */
static int to_integer(lua_State *L, int idx, lua_Integer *out)
{
    if (lua_isinteger(L, idx)) {
        *out = lua_tointeger(L, idx);
        return 1;
    }
    lua_Number n = lua_tonumber(L, idx);
    /* -2^63 is exact in a double; 2^63 is the first value that does not fit. */
    const lua_Number two_63 = 9223372036854775808.0;
    if (!(n == floor(n) && n >= -two_63 && n < two_63))
        return 0;
    *out = (lua_Integer)n;
    return 1;
}

static const char *value_text(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, idx);
        if (n != n)
            return "nan";
        return lua_pushfstring(L, "%s", luaL_tolstring(L, idx, NULL));
    }
    return luaL_typename(L, idx);
}

lua_Integer lnn_check_int(lua_State *L, int arg, lua_Integer lo, lua_Integer hi, const char *what)
{
    luaL_checknumber(L, arg);
    lua_Integer v = 0;
    if (!to_integer(L, arg, &v) || v < lo || v > hi)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be an integer %s, got %s", what, range_text(L, lo, hi),
                                              value_text(L, arg)));
    return v;
}

lua_Integer lnn_opt_int(lua_State *L, int arg, lua_Integer def, lua_Integer lo, lua_Integer hi, const char *what)
{
    if (lua_isnoneornil(L, arg))
        return def;
    return lnn_check_int(L, arg, lo, hi, what);
}

const char *lnn_check_path(lua_State *L, int arg)
{
    size_t len;
    const char *s = luaL_checklstring(L, arg, &len);
    luaL_argcheck(L, strlen(s) == len, arg, "a file name cannot contain a NUL byte");
    return s;
}

double lnn_check_finite(lua_State *L, int arg, const char *what)
{
    double v = luaL_checknumber(L, arg);
    if (!isfinite(v))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a finite number, got %s", what, value_text(L, arg)));
    return v;
}

/* ---------------------------------------------------------------- table fields */

/* The field's value is at vidx (absolute). */
static int field_error(lua_State *L, int arg, int vidx, const char *prefix, const char *key, const char *expected)
{
    const char *got = value_text(L, vidx);
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s%s%s must be %s, got %s", prefix ? prefix : "",
                                                 prefix ? ": " : "", key, expected, got));
}

void lnn_field_required(lua_State *L, int t, int arg, const char *prefix, const char *key, const char *what)
{
    if (lua_getfield(L, t, key) == LUA_TNIL)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s%s%s must be %s, got nil", prefix ? prefix : "",
                                              prefix ? ": " : "", key, what));
    lua_pop(L, 1);
}

lua_Integer lnn_field_int(lua_State *L, int t, int arg, const char *prefix, const char *key, lua_Integer def,
                          lua_Integer lo, lua_Integer hi)
{
    lua_Integer v = def;
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        int vidx = lua_gettop(L);
        if (lua_type(L, -1) != LUA_TNUMBER || !to_integer(L, -1, &v) || v < lo || v > hi) {
            const char *range = range_text(L, lo, hi);
            field_error(L, arg, vidx, prefix, key, lua_pushfstring(L, "an integer %s", range));
        }
    }
    lua_pop(L, 1);
    return v;
}

double lnn_field_number(lua_State *L, int t, int arg, const char *prefix, const char *key, double def)
{
    double v = def;
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER || !isfinite(lua_tonumber(L, -1)))
            field_error(L, arg, lua_gettop(L), prefix, key, "a finite number");
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

int lnn_field_boolean(lua_State *L, int t, int arg, const char *prefix, const char *key, int def)
{
    int v = def;
    int ty = lua_getfield(L, t, key);
    if (ty == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (ty == LUA_TNUMBER && lua_isinteger(L, -1) && (lua_tointeger(L, -1) == 0 || lua_tointeger(L, -1) == 1))
        v = (int)lua_tointeger(L, -1);
    else if (ty != LUA_TNIL)
        field_error(L, arg, lua_gettop(L), prefix, key, "true or false");
    lua_pop(L, 1);
    return v;
}

/* Pushes the NULL-terminated list's strings joined by ", ". */
static void push_joined(lua_State *L, const char *const list[])
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; list[i]; i++) {
        if (i)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, list[i]);
    }
    luaL_pushresult(&b);
}

int lnn_field_option(lua_State *L, int t, int arg, const char *prefix, const char *key, const char *def,
                     const char *const list[])
{
    const char *name = def;
    if (lua_getfield(L, t, key) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            field_error(L, arg, lua_gettop(L), prefix, key, "a string");
        name = lua_tostring(L, -1);
    }
    for (int i = 0; name && list[i]; i++)
        if (strcmp(list[i], name) == 0) {
            lua_pop(L, 1);
            return i;
        }
    const char *got = lua_pushfstring(L, "'%s'", name ? name : "nil");
    push_joined(L, list);
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s%s%s must be one of %s, got %s", prefix ? prefix : "",
                                                 prefix ? ": " : "", key, lua_tostring(L, -1), got));
}

void lnn_check_fields(lua_State *L, int t, int arg, const char *const allowed[])
{
    t = lua_absindex(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int known = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; allowed[i] && !known; i++)
                known = strcmp(allowed[i], lua_tostring(L, -1)) == 0;
        if (!known) {
            push_joined(L, allowed);
            const char *names = lua_tostring(L, -1);
            const char *key = luaL_tolstring(L, -2, NULL);
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (known: %s)", key, names));
        }
    }
}

/* ---------------------------------------------------------------- views */

lnn_owner *lnn_owner_new(lua_State *L, const char *what)
{
    lnn_owner *o = malloc(sizeof *o);
    if (!o)
        luaL_error(L, "out of memory");
    o->live = 0;
    o->refs = 1;
    o->what = what;
    return o;
}

void lnn_owner_release(lnn_owner **o)
{
    if (*o && --(*o)->refs == 0)
        free(*o);
    *o = NULL;
}

void *lnn_checkudata(lua_State *L, int arg, const char *tname, size_t size)
{
    void *u = luaL_checkudata(L, arg, tname);
    if (lua_rawlen(L, arg) != size)
        luaL_typeerror(L, arg, tname);
    return u;
}

nn_tensor *lnn_check_tensor(lua_State *L, int arg)
{
    lnn_tensor *u = lnn_checkudata(L, arg, LNN_TENSOR, sizeof *u);
    if (u->closed)
        luaL_argerror(L, arg, "attempt to use a closed tensor");
    if (u->owner && !u->owner->live)
        luaL_argerror(L, arg, lua_pushfstring(L, "tensor belongs to a closed %s", u->owner->what));
    return u->t;
}

lnn_tensor *lnn_push_tensor(lua_State *L)
{
    lnn_tensor *u = lua_newuserdatauv(L, sizeof *u, 1);
    nn_tensor_empty(&u->own);
    u->t = &u->own;
    u->owner = NULL;
    u->closed = 0;
    luaL_setmetatable(L, LNN_TENSOR);
    return u;
}

void lnn_push_view(lua_State *L, nn_tensor *t, int owner_idx, lnn_owner *o)
{
    owner_idx = lua_absindex(L, owner_idx);
    o->refs++; /* first: the allocation below may run a finalizer that closes the owner */
    lnn_tensor *u = lnn_push_tensor(L);
    u->t = t;
    u->owner = o;
    lua_pushvalue(L, owner_idx);
    lua_setiuservalue(L, -2, 1);
}

void lnn_push_flat_view(lua_State *L, float *data, size_t n, int owner_idx, lnn_owner *o)
{
    lnn_push_view(L, NULL, owner_idx, o);
    lnn_tensor *u = lua_touserdata(L, -1);
    u->own.data = data;
    u->own.ndim = 1;
    u->own.shape[0] = (int)n;
    u->own.size = n;
    u->own.owner = 0;
    u->t = &u->own;
}

/* ---------------------------------------------------------------- types */

void lnn_new_type(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

lnn_rngs *lnn_get_rngs(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LNN_RNGS);
    lnn_rngs *r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
}
