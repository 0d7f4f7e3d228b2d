check tests/errors/semantic/window_too_large.cnn
