check tests/errors/syntax/input_twice.cnn
