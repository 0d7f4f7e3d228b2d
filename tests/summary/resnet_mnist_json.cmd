summary models/resnet_mnist.cnn --format json --target avx2
