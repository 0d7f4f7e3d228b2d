check tests/errors/semantic/classes_mismatch.cnn
