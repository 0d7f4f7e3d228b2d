check tests/errors/syntax/missing_model_name.cnn
