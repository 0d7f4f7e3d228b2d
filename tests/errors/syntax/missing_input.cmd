check tests/errors/syntax/missing_input.cnn
