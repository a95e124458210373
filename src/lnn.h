/* lnn.h - what the files of the Lua binding share: type names, argument
 * checks, status-to-error, and the view type.
 *
 * The binding is split as Lua's own libraries are (liolib.c, loslib.c): one
 * file per type (lnn_tensor.c, lnn_model.c, lnn_data.c, lnn_optim.c for
 * losses and optimizers, lnn_train.c for training and gradient checks,
 * lnn_image.c for PNG digits),
 * lnn_sys.c for the system functions, and lnnlab.c, the module opener.
 * Each file's lnn_open_* registers its metatables and adds its functions to
 * the table on top of the stack.
 *
 * Rules every file keeps:
 * - arguments are checked with Lua's own luaL_check*, luaL_argcheck and
 *   luaL_argerror, so that numbering ("bad argument #2 to 'get'") and type
 *   names are Lua's; nothing built in Lua is trusted, every field of a table
 *   is read with a type and range check;
 * - an engine failure becomes a Lua error (lnn_error) only after the
 *   temporaries are freed or owned by a userdata on the stack;
 * - every userdata is pushed empty before anything is allocated, its __gc
 *   and __close tolerate a second call, and a closed object raises
 *   "attempt to use a closed <type>" when used again;
 * - Lua may run finalizers, which may close any object, inside any call
 *   that allocates Lua memory (pushing a string, a table or a userdata):
 *   a function allocates what it returns first and checks its arguments
 *   after, or checks them again after each such call. */
#ifndef NN_LNN_H
#define NN_LNN_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>

#include "data.h"
#include "loss.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "status.h"
#include "tensor.h"

#define LNN_TENSOR "nnlab.Tensor"
#define LNN_MODEL "nnlab.Model"
#define LNN_DATASET "nnlab.Dataset"
#define LNN_SGD "nnlab.SGD"
#define LNN_ADAM "nnlab.Adam"       /* nn.Adam and nn.AdamW */
#define LNN_RMSPROP "nnlab.RMSprop"
#define LNN_LOSS "nnlab.Loss"
#define LNN_BATCHES "nnlab.Batches"
#define LNN_WORKSPACE "nnlab.Workspace"
#define LNN_RNGS "nnlab.rngs"

/* ---------------------------------------------------------------- owners and views */

/* The liveness of the memory an owner (a model, a loss, a batch iterator)
 * lends to views: held in C memory and counted by the owner and each of
 * its views, so that neither the collector's order nor debug.setuservalue
 * can leave a view pointing at a freed owner. live is cleared when the
 * owner frees its memory; the last holder frees the token. */
typedef struct {
    int live;
    int refs;
    const char *what; /* "model", "loss", "batch iterator": for messages */
} lnn_owner;

/* A new token (one reference, not yet live); raises on out of memory. */
lnn_owner *lnn_owner_new(lua_State *L, const char *what);
/* Drops the reference *o holds and sets *o to NULL (NULL is fine). */
void lnn_owner_release(lnn_owner **o);

/* A tensor userdata: an owning tensor (owner NULL), or a view of memory
 * that another userdata (kept in uservalue 1) owns. Closing a view
 * releases the view only; its owner and the owner's other views go on. */
typedef struct {
    nn_tensor own;            /* the owned buffer, or a header over the owner's memory */
    nn_tensor *t;             /* &own, or a tensor inside the owner */
    lnn_owner *owner;         /* NULL for an owning tensor; a reference held */
    int closed;               /* 1 after __close/__gc */
} lnn_tensor;

/* luaL_checkudata that also checks the userdata's size, so that one given
 * another type's metatable (debug.setmetatable) is refused too. */
void *lnn_checkudata(lua_State *L, int arg, const char *tname, size_t size);

/* The tensor at arg, checked to be open and, for a view, to have a live
 * owner ("tensor belongs to a closed model"). */
nn_tensor *lnn_check_tensor(lua_State *L, int arg);
/* A new owning tensor userdata, empty, on the stack. */
lnn_tensor *lnn_push_tensor(lua_State *L);
/* A view of t (a tensor inside the userdata at owner_idx, whose liveness
 * is o), pushed on the stack. */
void lnn_push_view(lua_State *L, nn_tensor *t, int owner_idx, lnn_owner *o);
/* A 1-D view of n floats of the owner's memory. */
void lnn_push_flat_view(lua_State *L, float *data, size_t n, int owner_idx, lnn_owner *o);

/* ---------------------------------------------------------------- checks */

/* Raises err's message as a Lua error. */
int lnn_error(lua_State *L, const nn_error *err);

/* An integer argument in [lo, hi]: a float with an integer value is
 * accepted; anything else, or out of range (2^63 and 1e300 included),
 * raises "bad argument #arg to 'f' (<what> must be an integer in lo..hi, got v)". */
lua_Integer lnn_check_int(lua_State *L, int arg, lua_Integer lo, lua_Integer hi, const char *what);
lua_Integer lnn_opt_int(lua_State *L, int arg, lua_Integer def, lua_Integer lo, lua_Integer hi, const char *what);
/* A string argument that names a file: no NUL byte inside it. */
const char *lnn_check_path(lua_State *L, int arg);
/* A finite number argument. */
double lnn_check_finite(lua_State *L, int arg, const char *what);

/* Field `key` of the table at t (argument arg of the function): nil gives
 * def; another type, a non-integer or a value out of range raises an error
 * that names prefix (e.g. "layer 2 (Linear)") and the field. */
lua_Integer lnn_field_int(lua_State *L, int t, int arg, const char *prefix, const char *key, lua_Integer def,
                          lua_Integer lo, lua_Integer hi);
double lnn_field_number(lua_State *L, int t, int arg, const char *prefix, const char *key, double def);
int lnn_field_boolean(lua_State *L, int t, int arg, const char *prefix, const char *key, int def);
/* Raises "<prefix>: <key> must be <what>, got nil" when the field is nil. */
void lnn_field_required(lua_State *L, int t, int arg, const char *prefix, const char *key, const char *what);
/* Field `key` as one of the strings in list (NULL-terminated); its index. */
int lnn_field_option(lua_State *L, int t, int arg, const char *prefix, const char *key, const char *def,
                     const char *const list[]);
/* Raises an error if the table at t has a key not in allowed
 * (NULL-terminated). */
void lnn_check_fields(lua_State *L, int t, int arg, const char *const allowed[]);

/* ---------------------------------------------------------------- the other types */

typedef struct {
    lnn_owner *o;     /* of the views; NULL until the model is built */
    nn_model m;
} lnn_model;

typedef struct {
    nn_loss_kind kind;
    int closed;
    lnn_owner *o;     /* of grad's views */
    nn_tensor grad;   /* backward's output, reused */
    nn_tensor input;  /* a copy of an input that was grad itself */
} lnn_loss;

/* An optimizer of any kind; its metatable (LNN_SGD, LNN_ADAM, LNN_RMSPROP)
 * follows o.kind. */
typedef struct {
    nn_optimizer o;
    int closed;
} lnn_optim;

lnn_model *lnn_check_model(lua_State *L, int arg);
nn_dataset *lnn_check_dataset(lua_State *L, int arg);
lnn_loss *lnn_check_loss(lua_State *L, int arg);
/* An open optimizer of any kind ("optimizer expected, got ..."). */
nn_optimizer *lnn_check_optim(lua_State *L, int arg);

/* The four global random streams of this Lua state. */
typedef struct {
    uint64_t seed;
    nn_rng init, shuffle, split, dropout;
} lnn_rngs;
lnn_rngs *lnn_get_rngs(lua_State *L);

/* Creates metatable name with the meta functions and an __index table of
 * methods. */
void lnn_new_type(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

void lnn_open_sys(lua_State *L);
void lnn_open_tensor(lua_State *L);
void lnn_open_model(lua_State *L);
void lnn_open_data(lua_State *L);
void lnn_open_optim(lua_State *L);
void lnn_open_train(lua_State *L);
void lnn_open_image(lua_State *L); /* lnn_image.c: decode_png */

#endif
