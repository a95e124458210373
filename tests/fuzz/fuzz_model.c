/* libFuzzer target: the model-file decoder; a model that decodes is run. */
#include <stdint.h>
#include <stdlib.h>

#include "model.h"
#include "model_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_model m;
    nn_error err;
    if (nn_model_decode(&m, data, size, "fuzz", &err) != NN_OK)
        return 0;
    int in = nn_model_in_features(&m);
    if (in < 1)
        in = 3;
    if (in <= 4096) {
        nn_tensor x;
        int shape[2] = {2, in};
        const nn_tensor *y;
        if (nn_tensor_init(&x, 2, shape, &err) == NN_OK) {
            nn_model_forward(&m, &x, &y, &err);
            nn_tensor_free(&x);
        }
    }
    nn_model_free(&m);
    return 0;
}
