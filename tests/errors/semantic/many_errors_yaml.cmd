check tests/errors/semantic/many_errors_yaml.yaml
