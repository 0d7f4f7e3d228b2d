check tests/errors/semantic/buffer_too_large.cnn
