check tests/errors/semantic/graph_shapes.cnn
