check tests/errors/semantic/kernel_too_large.cnn
