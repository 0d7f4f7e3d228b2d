check tests/errors/semantic/batchnorm_args.cnn
