check tests/errors/yaml/nul_bytes.yaml
