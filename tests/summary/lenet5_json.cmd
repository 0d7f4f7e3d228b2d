summary models/lenet5.cnn --format json
