check tests/errors/semantic/graph_names.cnn
