check tests/errors/semantic/idx_paths.cnn
