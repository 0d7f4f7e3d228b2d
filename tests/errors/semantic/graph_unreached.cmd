check tests/errors/semantic/graph_unreached.cnn
