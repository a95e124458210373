/* libFuzzer target: the IDX reader (raw and gzip) on arbitrary bytes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("idx", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        nn_idx x;
        nn_error err;
        if (nn_idx_read(&x, path, &err) == NN_OK)
            nn_idx_free(&x);
    }
    close(fd);
    return 0;
}
