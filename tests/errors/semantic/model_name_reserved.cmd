check tests/errors/semantic/model_name_reserved.cnn
