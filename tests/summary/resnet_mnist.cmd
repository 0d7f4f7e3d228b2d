summary models/resnet_mnist.cnn --target avx2
