check tests/errors/semantic/idx_classes.cnn
