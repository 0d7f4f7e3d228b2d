check tests/errors/syntax/input_not_a_shape.cnn
