check tests/errors/semantic/too_much_memory.cnn
