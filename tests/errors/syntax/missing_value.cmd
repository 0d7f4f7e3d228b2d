check tests/errors/syntax/missing_value.cnn
