check tests/errors/semantic/missing_required.cnn
