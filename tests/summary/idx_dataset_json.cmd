summary tests/yaml/idx_dataset.yaml --format json --target avx2
