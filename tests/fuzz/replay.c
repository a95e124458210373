/* Runs a fuzz target on files without libFuzzer, printing TAP, so that the
 * seed corpus and every input a fuzzer once found are regression tests in
 * `make test`. Usage: replay [FILE...]; without files, every file in
 * CORPUS_DIR (set when it is compiled). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CORPUS_DIR
#define CORPUS_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of CORPUS_DIR, sorted; *n gets their count. */
static char **corpus_files(int *n)
{
    DIR *d = opendir(CORPUS_DIR);
    char **names = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **more = realloc(names, (size_t)(*n + 1) * sizeof *names);
        if (!more)
            break;
        names = more;
        size_t len = strlen(CORPUS_DIR) + strlen(e->d_name) + 2;
        names[*n] = malloc(len);
        if (!names[*n])
            break;
        snprintf(names[*n], len, "%s/%s", CORPUS_DIR, e->d_name);
        (*n)++;
    }
    closedir(d);
    qsort(names, (size_t)*n, sizeof *names, compare);
    return names;
}

int main(int argc, char **argv)
{
    int n = argc - 1;
    char **files = argv + 1, **owned = NULL;
    if (n == 0)
        files = owned = corpus_files(&n);
    printf("1..%d\n", n);
    for (int i = 0; i < n; i++) {
        FILE *f = fopen(files[i], "rb");
        uint8_t *buf = malloc(1 << 22);
        if (!f || !buf) {
            printf("not ok %d - %s (cannot read)\n", i + 1, files[i]);
            if (f)
                fclose(f);
            free(buf);
            continue;
        }
        size_t len = fread(buf, 1, 1 << 22, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len); /* a crash ends the run, and the test fails */
        free(buf);
        printf("ok %d - fuzz input %s\n", i + 1, files[i]);
        fflush(stdout);
    }
    for (int i = 0; owned && i < n; i++)
        free(owned[i]);
    free(owned);
    return 0;
}
