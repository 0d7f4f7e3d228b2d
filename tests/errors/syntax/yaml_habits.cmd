check tests/errors/syntax/yaml_habits.cnn
