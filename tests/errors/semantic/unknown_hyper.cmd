check tests/errors/semantic/unknown_hyper.cnn
