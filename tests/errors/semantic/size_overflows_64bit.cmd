check tests/errors/semantic/size_overflows_64bit.cnn
