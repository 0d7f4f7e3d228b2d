check tests/errors/semantic/duplicate_names.cnn
