check tests/errors/semantic/epochs_batch.cnn
