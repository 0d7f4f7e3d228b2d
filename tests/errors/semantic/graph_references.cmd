check tests/errors/semantic/graph_references.cnn
