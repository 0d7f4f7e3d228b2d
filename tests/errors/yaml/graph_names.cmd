check tests/errors/yaml/graph_names.yaml
