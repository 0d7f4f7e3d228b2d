check tests/errors/semantic/duplicate_setting.cnn
