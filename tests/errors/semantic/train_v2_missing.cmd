check tests/errors/semantic/train_v2_missing.cnn
