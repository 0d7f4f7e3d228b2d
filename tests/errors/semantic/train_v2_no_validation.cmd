check tests/errors/semantic/train_v2_no_validation.cnn
