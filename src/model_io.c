#define _POSIX_C_SOURCE 200809L
#include "model_io.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_SIZE 24
#define LEGACY_LAYER_SIZE 40 /* versions 1 and 2 */
#define MAX_MODEL_FILE ((size_t)1 << 31)

typedef struct {
    uint8_t *p;
    size_t pos;
} writer;

static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[w->pos++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        w->p[w->pos++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(w, v);
}

static void put_floats(writer *w, const float *f, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint32_t v;
        memcpy(&v, &f[k], sizeof v);
        put_u32(w, v);
    }
}

/* The bytes of layer l's settings (and its kind) in a version 3 file; w NULL: only counted. */
static size_t put_layer(writer *w, const nn_layer *l)
{
    const nn_setting *s = nn_layer_ops_of(l->kind)->settings;
    size_t bytes = 4;
    if (w)
        put_u32(w, (uint32_t)l->kind);
    for (; s->key; s++) {
        bytes += s->type == NN_SET_NUMBER ? 8 : 4;
        if (w && s->type == NN_SET_NUMBER)
            put_f64(w, nn_setting_get_number(l, s));
        else if (w)
            put_u32(w, (uint32_t)nn_setting_get_int(l, s));
    }
    return bytes;
}

int nn_model_nonfinite(const nn_model *m, char *msg, size_t len)
{
    for (size_t k = 0; k < m->nparams; k++) {
        if (isfinite(m->params[k]))
            continue;
        int layer = 0;
        char desc[NN_ERRMSG_MAX] = "";
        for (int i = 0; i < m->nlayers; i++)
            if (k >= m->layers[i].param_offset && k - m->layers[i].param_offset < m->layers[i].param_count) {
                layer = i + 1;
                nn_layer_describe(&m->layers[i], desc, sizeof desc);
            }
        snprintf(msg, len, "parameter %zu (layer %d, %s) is not finite (%g)", k + 1, layer, desc,
                 (double)m->params[k]);
        return 1;
    }
    return 0;
}

/* A model file holds what decoding accepts: finite parameters, and buffers
 * their kind's check accepts. Anything else is refused here rather than
 * written to fail when read back. */
static nn_status check_saveable(const nn_model *m, nn_error *err)
{
    char why[NN_ERRMSG_MAX];
    if (nn_model_nonfinite(m, why, sizeof why))
        return nn_fail(err, NN_ESTATE, "%s: the model diverged; not saved", why);
    if (nn_model_check_buffers(m, NULL, err) == NN_OK)
        return NN_OK;
    snprintf(why, sizeof why, "%s", err->msg);
    return nn_fail(err, NN_ESTATE, "%s; not saved", why);
}

nn_status nn_model_encode(const nn_model *m, uint8_t **out, size_t *len, nn_error *err)
{
    nn_status st = check_saveable(m, err);
    if (st != NN_OK)
        return st;
    size_t layers = 0;
    for (int i = 0; i < m->nlayers; i++)
        layers += put_layer(NULL, &m->layers[i]);
    size_t payload = 4 + layers + 8 + 4 * m->nparams + 8 + 4 * m->nbuffers + 8;
    writer w = {malloc(HEADER_SIZE + payload), 0};
    if (!w.p)
        return nn_fail(err, NN_ENOMEM, "out of memory encoding the model");
    memcpy(w.p, NN_MODEL_MAGIC, 8);
    w.pos = HEADER_SIZE;
    put_u32(&w, (uint32_t)m->nlayers);
    for (int i = 0; i < m->nlayers; i++)
        put_layer(&w, &m->layers[i]);
    put_u64(&w, m->nparams);
    put_floats(&w, m->params, m->nparams);
    put_u64(&w, m->nbuffers);
    put_floats(&w, m->buffers, m->nbuffers);
    put_f64(&w, m->input_scale);
    uint32_t crc = (uint32_t)crc32(0L, w.p + HEADER_SIZE, (uInt)payload);
    w.pos = 8;
    put_u32(&w, NN_MODEL_VERSION);
    put_u32(&w, crc);
    put_u64(&w, payload);
    *out = w.p;
    *len = HEADER_SIZE + payload;
    return NN_OK;
}

typedef struct {
    const uint8_t *p;
    size_t pos, len;
} reader;

static int get_u32(reader *r, uint32_t *v)
{
    if (r->len - r->pos < 4)
        return 0;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)r->p[r->pos++] << (8 * i);
    return 1;
}

static int get_u64(reader *r, uint64_t *v)
{
    if (r->len - r->pos < 8)
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v |= (uint64_t)r->p[r->pos++] << (8 * i);
    return 1;
}

static int get_f64(reader *r, double *d)
{
    uint64_t v;
    if (!get_u64(r, &v))
        return 0;
    memcpy(d, &v, sizeof *d);
    return 1;
}

static int get_floats(reader *r, float *f, uint64_t n)
{
    if ((r->len - r->pos) / 4 < n)
        return 0;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t v = 0;
        get_u32(r, &v);
        memcpy(&f[k], &v, sizeof v);
    }
    return 1;
}

/* A version 3 layer: its kind, then its settings; 0 if damaged. */
static int get_layer(reader *r, nn_layer *l)
{
    uint32_t kind;
    if (!get_u32(r, &kind) || kind > INT32_MAX || !nn_layer_ops_of((nn_layer_kind)kind))
        return 0;
    l->kind = (nn_layer_kind)kind;
    l->in = l->out = -1;
    for (const nn_setting *s = nn_layer_ops_of(l->kind)->settings; s->key; s++) {
        uint32_t v;
        double d;
        if (s->type == NN_SET_NUMBER) {
            if (!get_f64(r, &d))
                return 0;
            nn_setting_set_number(l, s, d);
        } else {
            if (!get_u32(r, &v))
                return 0;
            nn_setting_set_int(l, s, (int32_t)v);
        }
    }
    return 1;
}

/* A version 1 or 2 layer (the six first kinds); 0 if damaged. */
static int get_legacy_layer(reader *r, nn_layer *l)
{
    uint32_t kind = 0, in = 0, o = 0, bias = 0;
    get_u32(r, &kind);
    get_u32(r, &in);
    get_u32(r, &o);
    get_u32(r, &bias);
    get_f64(r, &l->p);
    get_f64(r, &l->eps);
    get_f64(r, &l->momentum);
    if (kind < NN_LINEAR || kind > NN_BATCHNORM || bias > 1 || (int32_t)in < -1 || (int32_t)o < -1 ||
        (int32_t)in > (1 << 24) || (int32_t)o > (1 << 24))
        return 0;
    l->kind = (nn_layer_kind)kind;
    l->in = (int32_t)in;
    l->out = (int32_t)o;
    l->bias = (int)bias;
    return 1;
}

static nn_status decode_layers(reader *r, uint32_t version, nn_layer **out, int *n, const char *name,
                               nn_error *err)
{
    uint32_t count;
    size_t least = version >= 3 ? 4 : LEGACY_LAYER_SIZE;
    if (!get_u32(r, &count) || count < 1 || count > 10000 || (r->len - r->pos) / least < count)
        return nn_fail(err, NN_EFORMAT, "%s: damaged model file (bad layer count)", name);
    nn_layer *layers = calloc(count, sizeof *layers);
    if (!layers)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        if (!(version >= 3 ? get_layer(r, &layers[i]) : get_legacy_layer(r, &layers[i]))) {
            free(layers);
            return nn_fail(err, NN_EFORMAT, "%s: damaged model file (layer %u is invalid)", name, i + 1);
        }
    }
    *out = layers;
    *n = (int)count;
    return NN_OK;
}

nn_status nn_model_check_buffers(const nn_model *m, const char *name, nn_error *err)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const nn_layer_ops *ops = nn_layer_ops_of(l->kind);
        if (!ops->check_buffers)
            continue;
        char desc[NN_ERRMSG_MAX];
        int len = snprintf(desc, sizeof desc, "%s%slayer %d, ", name ? name : "", name ? ": " : "", i + 1);
        if (len > 0 && (size_t)len < sizeof desc)
            nn_layer_describe(l, desc + len, sizeof desc - (size_t)len);
        nn_status st = ops->check_buffers(l, m->buffers + l->buffer_offset, desc, err);
        if (st != NN_OK)
            return st;
    }
    return NN_OK;
}

static nn_status decode_payload(nn_model *m, reader *r, uint32_t version, const char *name, nn_error *err)
{
    nn_layer *layers = NULL;
    int n = 0;
    nn_status st = decode_layers(r, version, &layers, &n, name, err);
    if (st != NN_OK)
        return st;
    /* Planned first, so that the floats the layers claim are known to be
     * in the file before anything is allocated for them. */
    st = nn_model_plan(layers, n, err);
    if (st == NN_OK) {
        const nn_layer *last = &layers[n - 1];
        size_t np = last->param_offset + last->param_count, nb = last->buffer_offset + last->buffer_count;
        if ((r->len - r->pos) / 4 < np || (r->len - r->pos - 4 * np) / 4 < nb ||
            r->len - r->pos != 16 + 4 * (np + nb) + (version >= 2 ? 8 : 0))
            st = nn_fail(err, NN_EFORMAT, "%s: damaged model file (the layers need %zu parameters and %zu "
                                          "statistics, the file holds %zu bytes for them)",
                         name, np, nb, r->len - r->pos);
        else
            st = nn_model_init(m, layers, n, NULL, err);
    }
    free(layers);
    if (st != NN_OK) {
        if (!err || strncmp(err->msg, name, strlen(name)) == 0)
            return st;
        char why[NN_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return nn_fail(err, st == NN_ENOMEM ? st : NN_EFORMAT, "%s: %s(%s)", name,
                       st == NN_ENOMEM ? "" : "damaged model file ", why);
    }
    uint64_t np, nb;
    if (!get_u64(r, &np) || np != m->nparams || !get_floats(r, m->params, np) || !get_u64(r, &nb) ||
        nb != m->nbuffers || !get_floats(r, m->buffers, nb)) {
        nn_model_free(m);
        return nn_fail(err, NN_EFORMAT, "%s: damaged model file (parameters do not match the layers)", name);
    }
    char why[NN_ERRMSG_MAX];
    if (nn_model_nonfinite(m, why, sizeof why)) {
        nn_model_free(m);
        return nn_fail(err, NN_EFORMAT, "%s: %s: the model diverged or the file is damaged", name, why);
    }
    double scale = 0;
    /* the scale multiplies float pixels: a float itself */
    if (version >= 2 && (!get_f64(r, &scale) || !(scale >= 0 && scale <= FLT_MAX))) {
        nn_model_free(m);
        return nn_fail(err, NN_EFORMAT, "%s: damaged model file (bad input scale)", name);
    }
    if (r->pos != r->len) {
        nn_model_free(m);
        return nn_fail(err, NN_EFORMAT, "%s: damaged model file (parameters do not match the layers)", name);
    }
    m->input_scale = scale;
    if ((st = nn_model_check_buffers(m, name, err)) != NN_OK)
        nn_model_free(m);
    return st;
}

nn_status nn_model_decode(nn_model *m, const uint8_t *buf, size_t len, const char *name,
                          nn_error *err)
{
    memset(m, 0, sizeof *m);
    if (len == 0)
        return nn_fail(err, NN_EFORMAT, "%s: empty file, not a model", name);
    if (len < 8 || memcmp(buf, NN_MODEL_MAGIC, 8) != 0)
        return nn_fail(err, NN_EFORMAT, "%s: not an nnlab model file (wrong magic number)", name);
    reader r = {buf, 8, len};
    uint32_t version, crc;
    uint64_t payload;
    if (!get_u32(&r, &version) || !get_u32(&r, &crc) || !get_u64(&r, &payload))
        return nn_fail(err, NN_EFORMAT, "%s: truncated model file (%zu bytes, header incomplete)", name, len);
    if (version < NN_MODEL_VERSION_MIN || version > NN_MODEL_VERSION)
        return nn_fail(err, NN_EFORMAT, "%s: model file version %u, this nnlab reads versions %u to %u", name,
                       version, NN_MODEL_VERSION_MIN, NN_MODEL_VERSION);
    if (payload != len - HEADER_SIZE)
        return nn_fail(err, NN_EFORMAT, "%s: truncated or padded model file (%zu bytes of payload, header says %llu)",
                       name, len - HEADER_SIZE, (unsigned long long)payload);
    if ((uint32_t)crc32(0L, buf + HEADER_SIZE, (uInt)payload) != crc)
        return nn_fail(err, NN_EFORMAT, "%s: damaged model file (CRC-32 mismatch)", name);
    return decode_payload(m, &r, version, name, err);
}

nn_status nn_read_file(const char *path, size_t max_len, uint8_t **out, size_t *len, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(err, NN_EIO, "%s: cannot open (%s)", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n >= max_len)
            break;
        uint8_t *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    int bad = ferror(f), why = errno;
    fclose(f);
    if (!buf)
        return nn_fail(err, NN_ENOMEM, "%s: out of memory reading the file", path);
    if (bad || n >= max_len) {
        free(buf);
        if (bad)
            return nn_fail(err, NN_EIO, "%s: read error (%s)", path, strerror(why));
        return nn_fail(err, NN_EFORMAT, "%s: file too large (this reader takes files below %zu MiB)", path,
                       max_len >> 20);
    }
    *out = buf;
    *len = n;
    return NN_OK;
}

nn_status nn_write_file_atomic(const char *path, const void *data, size_t len, nn_error *err)
{
    struct stat sb;
    /* Renaming over a device or a folder would replace it, as root even /dev/full. */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return nn_fail(err, NN_EIO, "%s: cannot write (not a regular file)", path);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return nn_fail(err, NN_ENOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        nn_status st = nn_fail(err, NN_EIO, "%s: cannot write (%s)", path, strerror(errno));
        free(tmp);
        return st;
    }
    const uint8_t *p = data;
    size_t done = 0;
    int e = fchmod(fd, 0644) != 0 ? errno : 0;
    while (!e && done < len) {
        ssize_t k = write(fd, p + done, len - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        done += (size_t)k;
    }
    if (!e && fsync(fd) != 0 && errno != EINVAL)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    free(tmp);
    if (e)
        return nn_fail(err, NN_EIO, "%s: cannot write (%s)", path, strerror(e));
    return NN_OK;
}

nn_status nn_model_save(const nn_model *m, const char *path, nn_error *err)
{
    uint8_t *buf;
    size_t len;
    nn_status st = nn_model_encode(m, &buf, &len, err);
    if (st != NN_OK)
        return st;
    st = nn_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}

nn_status nn_model_load(nn_model *m, const char *path, nn_error *err)
{
    uint8_t *buf;
    size_t len;
    memset(m, 0, sizeof *m);
    nn_status st = nn_read_file(path, MAX_MODEL_FILE, &buf, &len, err);
    if (st != NN_OK)
        return st;
    st = nn_model_decode(m, buf, len, path, err);
    free(buf);
    return st;
}
