check tests/errors/semantic/unknown_layer_no_hint.cnn
