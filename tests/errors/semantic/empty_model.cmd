check tests/errors/semantic/empty_model.cnn
