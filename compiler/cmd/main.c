/* main.c - the cnnc program: all of it is in the driver, so that tests can call cnnc_main. */
#include "cnnc.h"

int main(int argc, char **argv)
{
    return cnnc_main(argc, argv);
}
