check tests/errors/semantic/dense_needs_flatten.cnn
