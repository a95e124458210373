#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cpu.h"
#include "data.h"

static char dir[] = "/tmp/nnlab-test-data-XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void write_bytes(const char *name, const uint8_t *b, size_t n, int gz)
{
    char p[256];
    path_of(p, sizeof p, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        assert_non_null(f);
        gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

/* count images of 2x3 pixels (pixel value i + r) and labels r % 10 */
static void write_pair(const char *images, const char *labels, uint32_t count, int gz)
{
    size_t n = 16 + (size_t)count * 6;
    uint8_t *b = calloc(n, 1);
    b[2] = 0x08;
    b[3] = 3;
    b[4] = (uint8_t)(count >> 24); b[5] = (uint8_t)(count >> 16); b[6] = (uint8_t)(count >> 8); b[7] = (uint8_t)count;
    b[11] = 2;
    b[15] = 3;
    for (uint32_t r = 0; r < count; r++)
        for (int i = 0; i < 6; i++)
            b[16 + r * 6 + i] = (uint8_t)(i + r);
    write_bytes(images, b, n, gz);
    uint8_t *l = calloc(8 + count, 1);
    l[2] = 0x08;
    l[3] = 1;
    l[4] = (uint8_t)(count >> 24); l[5] = (uint8_t)(count >> 16); l[6] = (uint8_t)(count >> 8); l[7] = (uint8_t)count;
    for (uint32_t r = 0; r < count; r++)
        l[8 + r] = (uint8_t)(r % 10);
    write_bytes(labels, l, 8 + count, gz);
    free(b);
    free(l);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void loads_raw_and_gzip_alike(void **state)
{
    (void)state;
    write_pair("a-images", "a-labels", 25, 0);
    write_pair("b-images.gz", "b-labels.gz", 25, 1);
    char ip[256], lp[256];
    nn_store *s[2];
    nn_error err;
    path_of(ip, sizeof ip, "a-images");
    path_of(lp, sizeof lp, "a-labels");
    assert_ok(nn_store_load(&s[0], ip, lp, 10, &err), &err);
    path_of(ip, sizeof ip, "b-images.gz");
    path_of(lp, sizeof lp, "b-labels.gz");
    assert_ok(nn_store_load(&s[1], ip, lp, 10, &err), &err);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(s[k]->count, 25);
        assert_int_equal(s[k]->dim, 6);
        assert_int_equal(s[k]->images[6 * 24 + 5], 29);
        assert_int_equal(s[k]->labels[13], 3);
        nn_store_release(s[k]);
    }
}

static void expect_idx_error(const uint8_t *b, size_t n, int gz, const char *want_suffix)
{
    write_bytes("bad", b, n, gz);
    char p[256];
    path_of(p, sizeof p, "bad");
    nn_idx x;
    nn_error err;
    assert_status(nn_idx_read(&x, p, &err), NN_EFORMAT, &err);
    size_t lp = strlen(p);
    assert_memory_equal(err.msg, p, lp);
    if (strcmp(err.msg + lp, want_suffix) != 0)
        fail_msg("message '%s', expected suffix '%s'", err.msg, want_suffix);
}

static void refuses_damaged_files(void **state)
{
    (void)state;
    uint8_t magic[8] = {'P', 'K', 3, 4, 0, 0, 0, 0};
    expect_idx_error(magic, 8, 0, ": not an IDX file (bad magic number 504b0304)");
    uint8_t type[8] = {0, 0, 0x0d, 1, 0, 0, 0, 1};
    expect_idx_error(type, 8, 0, ": IDX element type 0x0d is not supported (only 0x08, unsigned bytes)");
    uint8_t shortdims[6] = {0, 0, 8, 3, 0, 0};
    expect_idx_error(shortdims, 6, 0, ": truncated: the file ends inside the header");
    uint8_t shortbody[12] = {0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3, 4};
    expect_idx_error(shortbody, 12, 1, ": truncated: the header promises 10 bytes of data, the file holds 4");
    uint8_t longbody[11] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
    expect_idx_error(longbody, 11, 0, ": the file is longer than its header says (2 bytes of data)");
    expect_idx_error(magic, 0, 0, ": truncated: the file ends inside the header");
}

static void a_huge_header_does_not_allocate(void **state)
{
    (void)state;
    /* 2^31 images of 28x28 claimed, 100 bytes present: refused quickly. */
    uint8_t b[16 + 100] = {0, 0, 8, 3, 0x80, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    expect_idx_error(b, sizeof b, 0, ": truncated: the header promises 1683627180032 bytes of data, the file holds 100");
}

static void refuses_mismatched_pairs(void **state)
{
    (void)state;
    write_pair("c-images", "c-labels", 12, 0);
    write_pair("d-images", "d-labels", 13, 0);
    char ip[256], lp[256], want[600];
    nn_store *s;
    nn_error err;
    path_of(ip, sizeof ip, "c-images");
    path_of(lp, sizeof lp, "d-labels");
    assert_status(nn_store_load(&s, ip, lp, 10, &err), NN_EFORMAT, &err);
    snprintf(want, sizeof want, "%s holds 12 images but %s holds 13 labels", ip, lp);
    assert_string_equal(err.msg, want);
    path_of(lp, sizeof lp, "c-labels");
    assert_status(nn_store_load(&s, ip, lp, 5, &err), NN_EFORMAT, &err);
    snprintf(want, sizeof want, "%s: label 5 (item 6) is outside 0..4", lp);
    assert_string_equal(err.msg, want);
    assert_status(nn_store_load(&s, "/nonexistent/x", lp, 10, &err), NN_EIO, &err);
    assert_string_equal(err.msg, "/nonexistent/x: cannot open");
}

static void split_is_a_seeded_partition(void **state)
{
    (void)state;
    uint8_t *im = malloc(100), *lb = malloc(100);
    for (int i = 0; i < 100; i++) {
        im[i] = (uint8_t)i;
        lb[i] = (uint8_t)(i % 10);
    }
    nn_store *s;
    nn_dataset all, parts[3], again[3];
    nn_error err;
    assert_ok(nn_store_wrap(&s, im, lb, 100, 1, 10, &err), &err);
    assert_ok(nn_dataset_all(&all, s, 1.0f, &err), &err);
    nn_store_release(s);
    int32_t counts[3] = {60, 30, 10};
    nn_rng r1, r2;
    nn_rng_seed(&r1, 42, NN_STREAM_SPLIT);
    nn_rng_seed(&r2, 42, NN_STREAM_SPLIT);
    assert_ok(nn_dataset_split(parts, 3, &all, counts, &r1, &err), &err);
    assert_ok(nn_dataset_split(again, 3, &all, counts, &r2, &err), &err);
    int seen[100] = {0};
    for (int p = 0; p < 3; p++) {
        assert_int_equal(parts[p].n, counts[p]);
        assert_memory_equal(parts[p].idx, again[p].idx, (size_t)counts[p] * sizeof(int32_t));
        for (int i = 0; i < parts[p].n; i++)
            seen[parts[p].idx[i]]++;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    int32_t too_many[2] = {90, 20};
    nn_dataset bad[2];
    assert_status(nn_dataset_split(bad, 2, &all, too_many, &r1, &err), NN_EARG, &err);
    assert_string_equal(err.msg, "the parts add up to 110 items but the dataset has 100");
    nn_tensor x, y;
    nn_tensor_empty(&x);
    nn_tensor_empty(&y);
    all.scale = 0.5f;
    assert_ok(nn_dataset_gather(&all, NULL, 98, 2, &x, &y, &err), &err);
    assert_true(x.data[1] == 49.5f && y.data[1] == 9.0f);
    nn_tensor_free(&x);
    nn_tensor_free(&y);
    for (int p = 0; p < 3; p++) {
        nn_dataset_free(&parts[p]);
        nn_dataset_free(&again[p]);
    }
    nn_dataset_free(&all);
}

/* Every gathering kernel gives the reference's non-zeros, to the bit: an
 * image of zeros, one of 255s, the rest with runs of zeros, for rows
 * shorter than a vector, of whole vectors and with tails. */
static void gather_kernels_at(int dim)
{
    enum { N = 9 };
    uint8_t *im = malloc((size_t)N * dim), *lb = malloc(N);
    for (int i = 0; i < N * dim; i++)
        im[i] = (uint8_t)(i < dim ? 0 : i < 2 * dim ? 255 : i % 23 < 11 ? 0 : (i * 37) % 256);
    for (int i = 0; i < N; i++)
        lb[i] = (uint8_t)(i % 10);
    nn_store *s;
    nn_dataset all;
    nn_error err;
    assert_ok(nn_store_wrap(&s, im, lb, N, dim, 10, &err), &err);
    assert_ok(nn_dataset_all(&all, s, 1.0f / 255, &err), &err);
    nn_store_release(s);
    nn_sparse_batch ref, other;
    memset(&ref, 0, sizeof ref);
    memset(&other, 0, sizeof other);
    assert_true(nn_cpu_force(NN_CPU_PLAIN));
    assert_ok(nn_dataset_gather_sparse(&all, NULL, 0, N, &ref, NULL, &err), &err);
    assert_int_equal(ref.by_row.row_start[1], 0);
    assert_int_equal(ref.by_row.row_start[2], dim);
    const nn_cpu_kind kinds[] = {NN_CPU_AVX2, NN_CPU_AVX512};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (!nn_cpu_force(kinds[k]))
            continue;
        assert_ok(nn_dataset_gather_sparse(&all, NULL, 0, N, &other, NULL, &err), &err);
        int32_t nz = ref.by_row.row_start[N];
        assert_memory_equal(ref.by_row.row_start, other.by_row.row_start, (N + 1) * sizeof(int32_t));
        assert_memory_equal(ref.by_row.col, other.by_row.col, (size_t)nz * sizeof(int32_t));
        assert_memory_equal(ref.by_row.val, other.by_row.val, (size_t)nz * sizeof(float));
    }
    nn_cpu_force(NN_CPU_AUTO);
    nn_sparse_batch_free(&ref);
    nn_sparse_batch_free(&other);
    nn_dataset_free(&all);
}

static void sparse_gather_kernels_match_the_reference(void **state)
{
    (void)state;
    const int dims[] = {77, 5, 64, 8, 17};
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++)
        gather_kernels_at(dims[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_raw_and_gzip_alike),
        cmocka_unit_test(refuses_damaged_files),
        cmocka_unit_test(a_huge_header_does_not_allocate),
        cmocka_unit_test(refuses_mismatched_pairs),
        cmocka_unit_test(split_is_a_seeded_partition),
        cmocka_unit_test(sparse_gather_kernels_match_the_reference),
    };
    return cmocka_run_group_tests_name("data", tests, setup, teardown);
}
