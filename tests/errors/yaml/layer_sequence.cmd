check tests/errors/yaml/layer_sequence.yaml
