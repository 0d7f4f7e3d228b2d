check tests/errors/yaml/binary.yaml
