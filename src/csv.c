#define _POSIX_C_SOURCE 200809L
#include "csv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"

/* ---------------------------------------------------------------- parsing */

typedef struct {
    const char *p, *end;
    int line;
    char sep;
    char *field;   /* the field being read */
    size_t len, cap;
} scanner;

static int field_push(scanner *s, char ch)
{
    if (s->len + 1 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char *f = realloc(s->field, cap);
        if (!f)
            return 0;
        s->field = f;
        s->cap = cap;
    }
    s->field[s->len++] = ch;
    return 1;
}

/* A growing list of strings. */
typedef struct {
    char **v;
    size_t n, cap;
} strings;

static int strings_push(strings *l, const char *text, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    l->v[l->n++] = copy;
    return 1;
}

static void strings_free(strings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads one field into s->field; *end_of_record is set when it ends its record. */
static nn_status read_field(scanner *s, const char *path, int *end_of_record, nn_error *err)
{
    s->len = 0;
    int quoted = s->p < s->end && *s->p == '"';
    int start_line = s->line;
    if (quoted)
        s->p++;
    for (;;) {
        if (s->p >= s->end) {
            if (quoted)
                return nn_fail(err, NN_EFORMAT, "%s: line %d: a quoted field is not closed", path, start_line);
            *end_of_record = 1;
            break;
        }
        char ch = *s->p++;
        if (quoted && ch == '"') {
            if (s->p < s->end && *s->p == '"') {
                s->p++;
            } else {
                quoted = 0;
                if (s->p < s->end && *s->p != s->sep && *s->p != '\n' && *s->p != '\r')
                    return nn_fail(err, NN_EFORMAT, "%s: line %d: text after a closing quote", path, s->line);
                continue;
            }
        } else if (!quoted && ch == s->sep) {
            *end_of_record = 0;
            break;
        } else if (!quoted && (ch == '\n' || ch == '\r')) {
            if (ch == '\r' && s->p < s->end && *s->p == '\n')
                s->p++;
            s->line++;
            *end_of_record = 1;
            break;
        } else if (ch == '\n') {
            s->line++;
        } else if (ch == '\0') {
            return nn_fail(err, NN_EFORMAT, "%s: line %d: a NUL byte, not a text file", path, s->line);
        }
        if (!field_push(s, ch))
            return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    }
    if (!field_push(s, '\0'))
        return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    s->len--;
    return NN_OK;
}

/* Reads every record into cells (and their first lines); *cols is the
 * first record's field count. */
static nn_status read_records(scanner *s, const char *path, strings *cells, int **lines, int *rows, int *cols,
                              nn_error *err)
{
    int cap = 0;
    *rows = 0;
    *cols = 0;
    while (s->p < s->end) {
        int line = s->line, fields = 0, end = 0;
        if (*s->p == '\n' || *s->p == '\r') { /* a blank line */
            s->p += (*s->p == '\r' && s->p + 1 < s->end && s->p[1] == '\n') ? 2 : 1;
            s->line++;
            continue;
        }
        while (!end) {
            nn_status st = read_field(s, path, &end, err);
            if (st != NN_OK)
                return st;
            if (!strings_push(cells, s->field, s->len))
                return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
            fields++;
        }
        if (*rows == 0)
            *cols = fields;
        else if (fields != *cols)
            return nn_fail(err, NN_EFORMAT, "%s: line %d has %d fields, the first record has %d", path, line, fields,
                           *cols);
        if (*rows == cap) {
            cap = cap ? cap * 2 : 256;
            int *more = realloc(*lines, (size_t)cap * sizeof **lines);
            if (!more)
                return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
            *lines = more;
        }
        (*lines)[(*rows)++] = line;
        if (*rows == INT_MAX)
            return nn_fail(err, NN_EFORMAT, "%s: too many records", path);
    }
    return NN_OK;
}

nn_status nn_csv_read(nn_csv *out, const char *path, char sep, int header, nn_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    nn_status st = nn_read_file(path, NN_CSV_MAX_FILE, &buf, &len, err);
    if (st != NN_OK)
        return st;
    st = nn_csv_parse(out, (const char *)buf, len, path, sep, header, err);
    free(buf);
    return st;
}

nn_status nn_csv_parse(nn_csv *out, const char *text, size_t len, const char *path, char sep, int header,
                       nn_error *err)
{
    memset(out, 0, sizeof *out);
    scanner s = {text, text + len, 1, sep, NULL, 0, 0};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s.p += 3; /* a UTF-8 byte order mark */
    strings cells = {0};
    int *lines = NULL, rows = 0, cols = 0;
    nn_status st = read_records(&s, path, &cells, &lines, &rows, &cols, err);
    free(s.field);
    if (st == NN_OK && rows == 0)
        st = nn_fail(err, NN_EFORMAT, "%s: empty file, no records", path);
    if (st == NN_OK && header && rows == 1)
        st = nn_fail(err, NN_EFORMAT, "%s: a header and no data records", path);
    if (st != NN_OK) {
        strings_free(&cells);
        free(lines);
        return st;
    }
    out->cols = cols;
    out->rows = rows - (header ? 1 : 0);
    out->cells = cells.v;
    out->lines = lines;
    if (header) {
        /* The header's fields become the names; the cells list starts after them. */
        out->names = malloc((size_t)cols * sizeof *out->names);
        out->cells = malloc(((size_t)out->rows * cols + 1) * sizeof *out->cells);
        if (!out->names || !out->cells) {
            free(out->names);
            free(out->cells);
            strings_free(&cells);
            free(lines);
            memset(out, 0, sizeof *out);
            return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
        }
        memcpy(out->names, cells.v, (size_t)cols * sizeof *out->names);
        memcpy(out->cells, cells.v + cols, (size_t)out->rows * cols * sizeof *out->cells);
        memmove(lines, lines + 1, (size_t)out->rows * sizeof *lines);
        free(cells.v);
    }
    return NN_OK;
}

void nn_csv_free(nn_csv *c)
{
    size_t n = (size_t)c->rows * (size_t)c->cols;
    for (size_t i = 0; c->cells && i < n; i++)
        free(c->cells[i]);
    for (int i = 0; c->names && i < c->cols; i++)
        free(c->names[i]);
    free(c->cells);
    free(c->names);
    free(c->lines);
    memset(c, 0, sizeof *c);
}

int nn_csv_column(const nn_csv *c, const char *name, int from)
{
    for (int i = from; c->names && i < c->cols; i++)
        if (strcmp(c->names[i], name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- to a store */

/* The number in text (surrounding blanks allowed): 1, 0 when empty, -1 when not a number. */
static int parse_number(const char *text, float *v)
{
    while (isspace((unsigned char)*text))
        text++;
    if (!*text)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || end == text || !isfinite(d) || fabs(d) > 3.4e38)
        return -1;
    *v = (float)d;
    return 1;
}

static nn_status cell_number(const nn_csv *c, const char *path, int r, int col, float *v, nn_error *err)
{
    const char *text = c->cells[(size_t)r * c->cols + col];
    int ok = parse_number(text, v);
    if (ok == 1)
        return NN_OK;
    if (ok == 0)
        return nn_fail(err, NN_EFORMAT, "%s: line %d, column %d%s%s%s: missing value", path, c->lines[r], col + 1,
                       c->names ? " (" : "", c->names ? c->names[col] : "", c->names ? ")" : "");
    return nn_fail(err, NN_EFORMAT, "%s: line %d, column %d%s%s%s: '%.40s' is not a number", path, c->lines[r],
                   col + 1, c->names ? " (" : "", c->names ? c->names[col] : "", c->names ? ")" : "", text);
}

static int is_label_col(const int *label_cols, int nlabels, int col)
{
    for (int i = 0; i < nlabels; i++)
        if (label_cols[i] == col)
            return 1;
    return 0;
}

/* A name without the blanks around it, as numbers are read: " cat" and
 * "cat " are the class "cat". */
static const char *trimmed(const char *s, size_t *len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

static int compare_names(const void *a, const void *b)
{
    size_t la, lb;
    const char *x = trimmed(*(char *const *)a, &la), *y = trimmed(*(char *const *)b, &lb);
    int d = memcmp(x, y, la < lb ? la : lb);
    return d ? d : (la > lb) - (la < lb);
}

/* The classes of column col: numbers 0..255, or names in sorted order.
 * A column that mixes the two, or holds a number that is not a class (-1,
 * 1.5, 256), is refused at its first such cell: read as names, one stray
 * value would silently renumber every class. */
static nn_status read_classes(const nn_csv *c, const char *path, int col, uint8_t *labels, char ***class_names,
                              int *nclasses, nn_error *err)
{
    int top = 0, first_class = -1, first_name = -1, first_odd = -1, first_empty = -1;
    for (int r = 0; r < c->rows; r++) {
        float v;
        int kind = parse_number(c->cells[(size_t)r * c->cols + col], &v);
        if (kind == 1 && v >= 0 && v <= 255 && v == floorf(v)) {
            labels[r] = (uint8_t)v;
            top = labels[r] > top ? labels[r] : top;
            first_class = first_class < 0 ? r : first_class;
        } else if (kind == 1) {
            first_odd = first_odd < 0 ? r : first_odd;
        } else if (kind == -1) {
            first_name = first_name < 0 ? r : first_name;
        } else {
            first_empty = first_empty < 0 ? r : first_empty;
        }
    }
    if (first_empty >= 0)
        return nn_fail(err, NN_EFORMAT, "%s: line %d, column %d: missing label", path, c->lines[first_empty], col + 1);
    if (first_odd >= 0)
        return nn_fail(err, NN_EFORMAT, "%s: line %d, column %d: label '%s' is a number but not a class (an integer "
                                        "in 0..255; targets = true reads real values)", path, c->lines[first_odd],
                       col + 1, c->cells[(size_t)first_odd * c->cols + col]);
    if (first_class >= 0 && first_name >= 0)
        return nn_fail(err, NN_EFORMAT, "%s: line %d, column %d: label '%s' is a name but line %d's, '%s', is a "
                                        "number: a label column holds classes 0..255 or names, not both", path,
                       c->lines[first_name], col + 1, c->cells[(size_t)first_name * c->cols + col],
                       c->lines[first_class], c->cells[(size_t)first_class * c->cols + col]);
    *class_names = NULL;
    if (first_name < 0) {
        *nclasses = top + 1;
        return NN_OK;
    }
    /* Names: the distinct values, sorted. */
    char **sorted = malloc((size_t)c->rows * sizeof *sorted);
    if (!sorted)
        return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    for (int r = 0; r < c->rows; r++)
        sorted[r] = c->cells[(size_t)r * c->cols + col];
    qsort(sorted, (size_t)c->rows, sizeof *sorted, compare_names);
    int n = 0;
    for (int r = 0; r < c->rows; r++)
        if (r == 0 || compare_names(&sorted[r], &sorted[n - 1]) != 0)
            sorted[n++] = sorted[r];
    if (n > 256) {
        free(sorted);
        return nn_fail(err, NN_EFORMAT, "%s: column %d holds %d different labels: classes are 0..255 or at most 256 "
                                        "names (use targets for real values)", path, col + 1, n);
    }
    for (int r = 0; r < c->rows; r++) {
        const char *text = c->cells[(size_t)r * c->cols + col];
        char **hit = bsearch(&text, sorted, (size_t)n, sizeof *sorted, compare_names);
        labels[r] = (uint8_t)(hit - sorted);
    }
    char **names = malloc((size_t)n * sizeof *names);
    for (int i = 0; names && i < n; i++) {
        size_t len;
        const char *name = trimmed(sorted[i], &len);
        if (!(names[i] = strndup(name, len))) {
            while (i-- > 0)
                free(names[i]);
            free(names);
            names = NULL;
        }
    }
    free(sorted);
    if (!names)
        return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    *class_names = names;
    *nclasses = n;
    return NN_OK;
}

nn_status nn_csv_store(const nn_csv *c, const char *path, const int *label_cols, int nlabels, int targets,
                       nn_store **out, char ***class_names, int *nclasses, nn_error *err)
{
    *out = NULL;
    *class_names = NULL;
    *nclasses = 0;
    int dim = c->cols - nlabels;
    if (nlabels < 1 || (!targets && nlabels != 1) || dim < 1)
        return nn_fail(err, NN_EARG, "%s: %d label columns of %d: a dataset needs one label column (or target "
                                     "columns) and at least one feature", path, nlabels, c->cols);
    for (int i = 0; i < nlabels; i++)
        if (label_cols[i] < 0 || label_cols[i] >= c->cols)
            return nn_fail(err, NN_EARG, "%s: column %d is outside 1..%d", path, label_cols[i] + 1, c->cols);
    float *features = malloc((size_t)c->rows * dim * sizeof *features);
    float *t = targets ? malloc((size_t)c->rows * nlabels * sizeof *t) : NULL;
    uint8_t *labels = targets ? NULL : malloc((size_t)c->rows);
    nn_status st = features && (t || labels) ? NN_OK : nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    for (int r = 0; st == NN_OK && r < c->rows; r++)
        for (int col = 0, f = 0; st == NN_OK && col < c->cols; col++)
            if (!is_label_col(label_cols, nlabels, col))
                st = cell_number(c, path, r, col, &features[(size_t)r * dim + f++], err);
    for (int r = 0; st == NN_OK && targets && r < c->rows; r++)
        for (int i = 0; st == NN_OK && i < nlabels; i++)
            st = cell_number(c, path, r, label_cols[i], &t[(size_t)r * nlabels + i], err);
    if (st == NN_OK && !targets)
        st = read_classes(c, path, label_cols[0], labels, class_names, nclasses, err);
    if (st != NN_OK) {
        free(features);
        free(t);
        free(labels);
        return st;
    }
    st = nn_store_wrap_features(out, features, c->rows, dim, labels, *nclasses, t, nlabels, err);
    if (st != NN_OK && *class_names) {
        for (int i = 0; i < *nclasses; i++)
            free((*class_names)[i]);
        free(*class_names);
        *class_names = NULL;
    }
    return st;
}
