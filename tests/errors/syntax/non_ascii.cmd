check tests/errors/syntax/non_ascii.cnn
