check tests/errors/semantic/train_v2_plateau.cnn
