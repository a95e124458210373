#include "testutil.h"

#include <string.h>

#include "tensor.h"

static void init_zeroes_and_reports_shape(void **state)
{
    (void)state;
    nn_tensor t;
    nn_error err;
    int shape[3] = {2, 3, 4};
    assert_ok(nn_tensor_init(&t, 3, shape, &err), &err);
    assert_int_equal(t.size, 24);
    assert_int_equal(nn_tensor_row_size(&t), 12);
    for (size_t i = 0; i < t.size; i++)
        assert_true(t.data[i] == 0.0f);
    char buf[32];
    nn_tensor_shape_str(&t, buf, sizeof buf);
    assert_string_equal(buf, "2x3x4");
    nn_tensor_free(&t);
    nn_tensor_free(&t); /* a second free is harmless */
}

static void init_refuses_bad_shapes(void **state)
{
    (void)state;
    nn_tensor t;
    nn_error err;
    int neg[2] = {2, -1};
    assert_status(nn_tensor_init(&t, 2, neg, &err), NN_ESHAPE, &err);
    assert_string_equal(err.msg, "dimension 2 is negative (-1)");
    int five[5] = {1, 1, 1, 1, 1};
    assert_status(nn_tensor_init(&t, 5, five, &err), NN_ESHAPE, &err);
    assert_string_equal(err.msg, "a tensor has 1 to 4 dimensions, got 5");
    nn_tensor_free(&t);
}

static void reshape_reuses_a_larger_buffer(void **state)
{
    (void)state;
    nn_tensor t;
    nn_error err;
    nn_tensor_empty(&t);
    assert_ok(nn_tensor_reshape2(&t, 100, 10, &err), &err);
    float *first = t.data;
    assert_ok(nn_tensor_reshape2(&t, 7, 10, &err), &err);
    assert_ptr_equal(t.data, first);
    assert_int_equal(t.size, 70);
    nn_tensor_free(&t);
}

static void row_views_share_memory(void **state)
{
    (void)state;
    nn_tensor t;
    nn_error err;
    int shape[2] = {4, 3};
    assert_ok(nn_tensor_init(&t, 2, shape, &err), &err);
    for (size_t i = 0; i < t.size; i++)
        t.data[i] = (float)i;
    nn_tensor v = nn_tensor_rows(&t, 1, 2);
    assert_int_equal(v.shape[0], 2);
    assert_int_equal(v.size, 6);
    assert_true(v.data[0] == 3.0f);
    v.data[0] = -1;
    assert_true(t.data[3] == -1.0f);
    assert_status(nn_tensor_reshape2(&v, 10, 10, &err), NN_ESTATE, &err);
    nn_tensor_free(&v); /* a view's free does not touch the buffer */
    assert_true(t.data[3] == -1.0f);
    nn_tensor_free(&t);
}

static void gemm_matches_a_hand_product(void **state)
{
    (void)state;
    /* [1 2; 3 4] * [5 6; 7 8]^T = [17 23; 39 53] */
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {0};
    float want[4] = {17, 23, 39, 53};
    nn_gemm(0, 1, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_all_close(c, want, 4, 0);
    /* A^T * B = [1 3; 2 4] * [5 6; 7 8] = [26 30; 38 44] */
    float want2[4] = {26, 30, 38, 44};
    nn_gemm(1, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_all_close(c, want2, 4, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_zeroes_and_reports_shape),
        cmocka_unit_test(init_refuses_bad_shapes),
        cmocka_unit_test(reshape_reuses_a_larger_buffer),
        cmocka_unit_test(row_views_share_memory),
        cmocka_unit_test(gemm_matches_a_hand_product),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
