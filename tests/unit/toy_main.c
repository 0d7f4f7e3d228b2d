/* toy_main.c - the main.c that `cnnc build` would generate, for the hand-written toy model. */
#include "program.h"

extern const cnn_model toy_model;

int main(int argc, char **argv)
{
    return cnn_program_main(&toy_model, argc, argv);
}
