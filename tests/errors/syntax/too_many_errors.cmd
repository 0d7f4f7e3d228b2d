check tests/errors/syntax/too_many_errors.cnn
