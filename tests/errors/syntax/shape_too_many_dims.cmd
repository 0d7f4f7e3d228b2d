check tests/errors/syntax/shape_too_many_dims.cnn
