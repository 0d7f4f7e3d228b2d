check tests/errors/yaml/call_two_keys.yaml
