check tests/errors/syntax/several_errors.cnn
