/* libFuzzer target: the CSV reader and its conversion to a store, with the
 * first byte choosing the separator, the header and the label column. */
#include <stdint.h>
#include <stdlib.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 16))
        return 0;
    static const char seps[4] = {',', ';', '\t', ' '};
    char sep = seps[data[0] & 3];
    int header = (data[0] >> 2) & 1, targets = (data[0] >> 3) & 1, label = data[0] >> 4;
    nn_csv c;
    nn_error err;
    if (nn_csv_parse(&c, (const char *)data + 1, size - 1, "fuzz.csv", sep, header, &err) != NN_OK)
        return 0;
    int col = c.cols ? label % c.cols : 0;
    nn_store *s;
    char **names;
    int classes;
    if (nn_csv_store(&c, "fuzz.csv", &col, 1, targets, &s, &names, &classes, &err) == NN_OK) {
        for (int i = 0; names && i < classes; i++)
            free(names[i]);
        free(names);
        nn_store_release(s);
    }
    nn_csv_free(&c);
    return 0;
}
