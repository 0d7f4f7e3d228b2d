check tests/errors/syntax/missing_equals.cnn
