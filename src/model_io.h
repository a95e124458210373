/* model_io.h - model files: the architecture and the parameters, so that
 * loading needs no script.
 *
 * Layout, all integers little-endian:
 *   "NNLABMDL"  magic, 8 bytes
 *   u32 version (3), u32 CRC-32 (zlib) of the payload, u64 payload length
 *   payload: u32 nlayers, then per layer u32 kind and its settings, in the
 *            order of its nn_layer_ops.settings: i32 for an int, a boolean
 *            or an option, f64 for a number (versions 1 and 2: i32 in,
 *            i32 out, u32 bias, f64 p, f64 eps, f64 momentum for every kind);
 *            u64 nparams, f32 params[]; u64 nbuffers, f32 buffers[]
 *            (layer by layer, each checked by its kind's check_buffers:
 *            BatchNorm's running statistics, Normalize's mean and std);
 *            from version 2: f64 input_scale (the pixel scale of the
 *            training data, finite and >= 0; 0 when unknown)
 * Files are written as version 3; version 2 and version 1 files (no
 * input_scale, read as 0) still load.
 * A file is written to a temporary name in the same folder, flushed to disk
 * and renamed, so a crash leaves either the old file or the new one. */
#ifndef NN_MODEL_IO_H
#define NN_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

#define NN_MODEL_MAGIC "NNLABMDL"
#define NN_MODEL_VERSION 3u
#define NN_MODEL_VERSION_MIN 1u /* the oldest version read */

nn_status nn_model_save(const nn_model *m, const char *path, nn_error *err);
nn_status nn_model_load(nn_model *m, const char *path, nn_error *err);

/* Encodes m into a malloc'd buffer (*out, *len); the file's exact bytes.
 * Refuses (NN_ESTATE) a model that decoding would refuse: a parameter that
 * is not finite, a buffer its kind's check refuses. */
nn_status nn_model_encode(const nn_model *m, uint8_t **out, size_t *len, nn_error *err);
/* 1 if a parameter of m is not finite, the first one then named with its
 * layer in msg ("parameter 3 (layer 1, Linear(784->10)) is not finite (nan)"). */
int nn_model_nonfinite(const nn_model *m, char *msg, size_t len);
/* Refuses (NN_EFORMAT) buffers their kind's check refuses (running
 * statistics that are not finite, a negative variance, a std of 0); the
 * message starts with name (a file's) unless it is NULL. */
nn_status nn_model_check_buffers(const nn_model *m, const char *name, nn_error *err);
/* Builds a model from a file's bytes; name is used in messages. */
nn_status nn_model_decode(nn_model *m, const uint8_t *buf, size_t len, const char *name,
                          nn_error *err);

/* Writes len bytes to path through a temporary file and a rename. */
nn_status nn_write_file_atomic(const char *path, const void *data, size_t len, nn_error *err);
/* Reads a whole file into a malloc'd buffer (at most max_len bytes). */
nn_status nn_read_file(const char *path, size_t max_len, uint8_t **out, size_t *len, nn_error *err);

#endif
