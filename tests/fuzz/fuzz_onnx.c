/* Fuzz target: `cnnc import`'s reading of an ONNX file, everything but the writing: the
 * protobuf walk and unpack, the graph (names, constants, topological order), every
 * operation's handler, the model file it makes and that file's check. */
#include "cnnc.h"
#include "fuzz_input.h"
#include "onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input("onnx", data, size);
    ImportResult *r = onnx_import_read(path, "fuzzed");
    import_result_free(r);
    /* The model text the check registered is gone with the result. */
    diag_forget_sources();
    diag_reset();
    return 0;
}
