check tests/errors/semantic/dataset_input_mismatch.cnn
