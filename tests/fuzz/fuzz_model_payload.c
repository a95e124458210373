/* libFuzzer target: the model-file decoder past its checksum. The input is
 * a payload; a header with its true length and CRC-32 is put before it, so
 * that mutations reach the layer table, the counts and the floats instead
 * of failing the CRC check. A model that decodes is run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model.h"
#include "model_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    uint8_t *file = malloc(24 + size);
    if (!file)
        return 0;
    memcpy(file, NN_MODEL_MAGIC, 8);
    put_le(file + 8, NN_MODEL_VERSION, 4);
    put_le(file + 12, (uint32_t)crc32(0L, data, (uInt)size), 4);
    put_le(file + 16, size, 8);
    if (size)
        memcpy(file + 24, data, size);
    nn_model m;
    nn_error err;
    if (nn_model_decode(&m, file, 24 + size, "fuzz", &err) == NN_OK) {
        int in = nn_model_in_features(&m);
        if (in < 1)
            in = 3;
        nn_tensor x;
        int shape[2] = {2, in};
        const nn_tensor *y;
        if (in <= 4096 && nn_tensor_init(&x, 2, shape, &err) == NN_OK) {
            nn_model_forward(&m, &x, &y, &err);
            nn_tensor_free(&x);
        }
        nn_model_free(&m);
    }
    free(file);
    return 0;
}
