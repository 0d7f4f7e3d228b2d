check tests/errors/semantic/classes_mismatch_fashion.cnn
