check tests/errors/semantic/split_range.cnn
