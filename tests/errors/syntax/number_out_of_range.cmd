check tests/errors/syntax/number_out_of_range.cnn
