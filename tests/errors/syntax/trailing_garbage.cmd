check tests/errors/syntax/trailing_garbage.cnn
