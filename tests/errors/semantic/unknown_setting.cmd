check tests/errors/semantic/unknown_setting.cnn
