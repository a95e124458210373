/* csv.h - CSV files (RFC 4180) read into datasets of real-valued features.
 *
 * A field is separated by sep and may be quoted ("a, b", with "" for a
 * quote inside); a record ends at a newline (LF or CRLF) outside quotes.
 * Every record has as many fields as the first. Messages name the file, the
 * line and the column. Written by hand: Debian's libcsv would parse the
 * fields, but the line and column of every error, the header and the
 * conversion to a store are most of this file. */
#ifndef NN_CSV_H
#define NN_CSV_H

#include "data.h"
#include "status.h"

#define NN_CSV_MAX_FILE ((size_t)1 << 28)

typedef struct {
    int rows, cols;     /* data records (the header excluded) and fields a record */
    char **names;       /* owned: cols header names, or NULL without a header */
    char **cells;       /* owned: rows x cols fields, unquoted, NUL-terminated */
    int *lines;         /* owned: the file line where each data record starts */
} nn_csv;

nn_status nn_csv_read(nn_csv *out, const char *path, char sep, int header, nn_error *err);
/* The same from len bytes of text; path names it in messages. */
nn_status nn_csv_parse(nn_csv *out, const char *text, size_t len, const char *path, char sep, int header,
                       nn_error *err);
void nn_csv_free(nn_csv *c);

/* The first 0-based column from `from` on named name (a header's), or -1. */
int nn_csv_column(const nn_csv *c, const char *name, int from);

/* A store of c's records: the columns in label_cols (0-based, nlabels of
 * them) are the label or targets, every other column a feature. With
 * targets, the label columns are real-valued targets (nlabels of them);
 * otherwise one label column holds classes: integers 0..255 (classes is
 * their largest + 1), or names, numbered in sorted order and returned in
 * *class_names (malloc'd, *nclasses of them; NULL with numbers). */
nn_status nn_csv_store(const nn_csv *c, const char *path, const int *label_cols, int nlabels, int targets,
                       nn_store **out, char ***class_names, int *nclasses, nn_error *err);

#endif
