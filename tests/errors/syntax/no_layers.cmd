check tests/errors/syntax/no_layers.cnn
