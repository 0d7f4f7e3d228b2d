check tests/errors/semantic/model_name_runtime.cnn
