check tests/errors/semantic/unknown_layer.cnn
