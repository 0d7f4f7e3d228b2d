summary tests/errors/yaml/unknown_layer.yaml --target avx2
