summary tests/cli/no-such-model.yaml
