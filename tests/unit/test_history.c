/*
 * test_history.c - the training history CSV (history.c): writing, reading back, and the
 * reader's line-numbered errors.
 * Usage: test_history SCRATCH_DIR
 */
#include <math.h>

#include "cnnrt.h"
#include "rt_io.h"
#include "io_check.h"

static int read_text(const char *name, const char *text, cnn_history_row **rows, int *n)
{
    io_write(io_path(name), text, strlen(text));
    return cnn_history_read(io_path(name), rows, n);
}

#define HEADER "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_history SCRATCH_DIR\n");
        return 2;
    }
    io_dir = argv[1];
    cnn_history_row rows[4] = {
        {1, 0.145012, 0.9565, 0.048731, 0.9841, 6.021, 1, NAN, 0},
        {2, 0.046, 0.98575, NAN, NAN, 5.5, 0, NAN, 0},
        {4, 0.031, 0.990, 0.035, 0.9888, 12.25, 1, NAN, 0},
        {5, 0.030, 0.991, NAN, 0.098, 1.5, 1, NAN, 0},
    };
    char *p = io_path("history.csv");
    CHECK("history: write", cnn_history_write(p, rows, 4) == 0);
    char *text = NULL;
    size_t len;
    int rc = rt_read_all(p, 1 << 20, &text, &len);
    CHECK("history: the file's text", rc == 0 && strcmp(text, HEADER
                                                   "1,0.145012,0.956500,0.048731,0.984100,6.021\n"
                                                   "2,0.046000,0.985750,,,5.500\n"
                                                   "4,0.031000,0.990000,0.035000,0.988800,12.250\n"
                                                   "5,0.030000,0.991000,nan,0.098000,1.500\n") == 0);
    free(text);

    cnn_history_row *got = NULL;
    int n = 0;
    rc = cnn_history_read(p, &got, &n);
    CHECK("history: read back", rc == 0 && n == 4);
    if (rc == 0 && n == 4) {
        CHECK("history: values", got[0].epoch == 1 && fabs(got[0].loss - 0.145012) < 1e-9 &&
                                     fabs(got[2].seconds - 12.25) < 1e-9 && got[2].epoch == 4);
        CHECK("history: empty cells read as NaN", isnan(got[1].val_loss) && isnan(got[1].val_accuracy) &&
                                                      !isnan(got[1].loss));
        CHECK("history: no validation and NaN told apart", !got[1].has_val && got[3].has_val &&
                                                               isnan(got[3].val_loss) && got[0].has_val);
    }
    free(got);

    /* A schedule's rate: a learning_rate column after val_accuracy, read back by name. */
    rows[0].learning_rate = 1e-3;
    rows[1].learning_rate = 2.5e-4;
    rows[0].has_lr = rows[1].has_lr = 1;
    char *plr = io_path("history_lr.csv");
    CHECK("history: write with the learning rate", cnn_history_write(plr, rows, 2) == 0);
    rc = rt_read_all(plr, 1 << 20, &text, &len);
    CHECK("history: the learning_rate column", rc == 0 && strcmp(text,
        "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds\n"
        "1,0.145012,0.956500,0.048731,0.984100,1.000000e-03,6.021\n"
        "2,0.046000,0.985750,,,2.500000e-04,5.500\n") == 0);
    free(text);
    rc = cnn_history_read(plr, &got, &n);
    CHECK("history: the learning rate read back", rc == 0 && n == 2 && got[0].has_lr && got[1].learning_rate == 2.5e-4 &&
                                                      got[0].epoch == 1 && got[1].seconds == 5.5);
    free(got);
    rc = read_text("keras_lr.csv", "epoch,accuracy,loss,lr\n0,0.5,1.5,0.001\n", &got, &n);
    CHECK("history: Keras' lr column", rc == 0 && n == 1 && got[0].has_lr && got[0].learning_rate == 0.001 &&
                                           got[0].epoch == 1);
    free(got);

    rc = read_text("crlf.csv", "epoch,loss,accuracy,val_loss,val_accuracy,seconds\r\n1,0.5,0.8,,,1\r\n", &got, &n);
    CHECK("history: CRLF lines and a last line without newline", rc == 0 && n == 1 && got[0].accuracy == 0.8);
    free(got);
    rc = read_text("exp.csv", HEADER "1,1e-3,0.5,inf,-2.5E+1,0", &got, &n);
    CHECK("history: exponents and inf", rc == 0 && n == 1 && got[0].loss == 1e-3 && isinf(got[0].val_loss) &&
                                            got[0].val_accuracy == -25.0);
    free(got);

    EXPECT_ERROR("history: empty file", read_text("empty.csv", "", &got, &n), "empty.csv: no epochs");
    EXPECT_ERROR("history: header only", read_text("header.csv", HEADER, &got, &n), "header.csv: no epochs");
    EXPECT_ERROR("history: a header without loss", read_text("bad-header.csv", "step,value\n1,2\n", &got, &n),
                 "bad-header.csv:1: error: the header names no 'epoch' column: a cnnc history starts "
                 "'epoch,loss,accuracy,val_loss,val_accuracy,seconds', and a Keras CSVLogger file names its columns");
    EXPECT_ERROR("history: too few fields", read_text("few.csv", HEADER "1,0.5,0.8,,,1\n2,0.4,0.9\n", &got, &n),
                 "few.csv:3: error: 3 fields, expected 6");
    EXPECT_ERROR("history: too many fields", read_text("many.csv", HEADER "1,0.5,0.8,,,1,7\n", &got, &n),
                 "many.csv:2: error: more than 6 fields");
    EXPECT_ERROR("history: bad number", read_text("num.csv", HEADER "1,0.5,0.8x,,,1\n", &got, &n),
                 "num.csv:2: error: accuracy '0.8x' is not a number");
    rc = read_text("nan.csv", HEADER "1,nan,0.8,NaN,-nan,1\n", &got, &n);
    CHECK("history: nan reads as NaN", rc == 0 && n == 1 && isnan(got[0].loss) && isnan(got[0].val_loss) &&
                                           isnan(got[0].val_accuracy) && got[0].has_val);
    free(got);
    EXPECT_ERROR("history: other words are not numbers", read_text("nanx.csv", HEADER "1,nanx,0.8,,,1\n", &got, &n),
                 "nanx.csv:2: error: loss 'nanx' is not a number");

    /* Keras' CSVLogger: its own column order, epochs from 0, extra columns, no seconds. */
    rc = read_text("keras.csv", "epoch,accuracy,loss,lr,val_accuracy,val_loss\n"
                                "0,0.9565000534057617,0.14501,0.001,0.9840999841690063,0.048731\n"
                                "1,0.98575,0.046,0.001,0.9871,0.0401\n", &got, &n);
    CHECK("history: a Keras CSVLogger file", rc == 0 && n == 2 && got[0].epoch == 1 && got[1].epoch == 2 &&
                                                 fabs(got[0].loss - 0.14501) < 1e-12 &&
                                                 fabs(got[1].val_accuracy - 0.9871) < 1e-12 &&
                                                 got[0].has_val && isnan(got[0].seconds));
    free(got);
    rc = read_text("keras-old.csv", "epoch,acc,loss\n0,0.5,1.5\n", &got, &n);
    CHECK("history: old Keras names, no validation", rc == 0 && n == 1 && got[0].accuracy == 0.5 &&
                                                         !got[0].has_val && isnan(got[0].val_loss));
    free(got);
    EXPECT_ERROR("history: a column twice", read_text("twice.csv", "epoch,loss,acc,accuracy\n0,1,2,3\n", &got, &n),
                 "twice.csv:1: error: two columns hold accuracy");
    EXPECT_ERROR("history: bad epoch", read_text("epoch.csv", HEADER "0,0.5,0.8,,,1\n", &got, &n),
                 "epoch.csv:2: error: epoch '0' is not a positive integer");
    EXPECT_ERROR("history: huge epoch", read_text("bigepoch.csv", HEADER "99999999999,0.5,0.8,,,1\n", &got, &n),
                 "bigepoch.csv:2: error: epoch '99999999999' is not a positive integer");
    EXPECT_ERROR("history: epochs must increase",
                 read_text("order.csv", HEADER "1,0.5,0.8,,,1\n3,0.5,0.8,,,1\n3,0.5,0.8,,,1\n", &got, &n),
                 "order.csv:4: error: epoch 3 does not follow epoch 3");
    EXPECT_ERROR("history: blank line", read_text("blank.csv", HEADER "1,0.5,0.8,,,1\n\n2,0.5,0.8,,,1\n", &got, &n),
                 "blank.csv:3: error: empty line");
    io_write(io_path("nul.csv"), HEADER "1,0\0,1,,,1\n", sizeof HEADER + 11);
    EXPECT_ERROR("history: binary file", cnn_history_read(io_path("nul.csv"), &got, &n), "nul.csv: not a text file");
    EXPECT_ERROR("history: an endless file is refused", cnn_history_read("/dev/zero", &got, &n),
                 "/dev/zero: file is larger than 67108864 bytes");
    EXPECT_ERROR("history: missing file", cnn_history_read(io_path("none.csv"), &got, &n),
                 "none.csv: cannot open: No such file or directory");
    EXPECT_ERROR("history: write into a missing directory", cnn_history_write(io_path("no/dir/h.csv"), rows, 3),
                 "no/dir/h.csv: cannot write: No such file or directory");
    return io_failures ? 1 : 0;
}
