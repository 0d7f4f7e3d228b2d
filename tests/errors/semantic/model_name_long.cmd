check tests/errors/semantic/model_name_long.cnn
