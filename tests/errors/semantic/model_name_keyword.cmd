check tests/errors/semantic/model_name_keyword.cnn
