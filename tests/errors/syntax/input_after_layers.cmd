check tests/errors/syntax/input_after_layers.cnn
