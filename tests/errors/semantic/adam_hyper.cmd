check tests/errors/semantic/adam_hyper.cnn
