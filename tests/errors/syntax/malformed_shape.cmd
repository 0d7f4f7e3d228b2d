check tests/errors/syntax/malformed_shape.cnn
