-- Our own CNN for MNIST: two blocks of 5x5 convolutions (32 then 64
-- channels, padding 2) with per-channel BatchNorm, ReLU and 2x2 max-pooling,
-- then dropout, 3136-256-10 with He initialisation; SGD with Nesterov
-- momentum, a cosine schedule and a little L2, batch 128, on 55000 training
-- images (5000 validate), 20 epochs. Each training image is first moved
-- by up to `shift` pixels each way (nn.RandomShift, data augmentation); the
-- grid tries two dropout rates. --quick runs narrow convolutions on a few images.
local nn = require("nnlab")

return nn.experiment{
  name = "best_cnn",
  params = {seed = 1, lr = 0.05, momentum = 0.9, l2 = 5e-5, dropout = 0.25, shift = 2, batch = 128, epochs = 20,
            c1 = 32, c2 = 64, train_size = 55000, val_size = 5000, test_size = 10000},
  grid = {dropout = {0.1, 0.25}},
  quick = {epochs = 1, c1 = 4, c2 = 8, train_size = 1000, val_size = 200, test_size = 500},

  data = function(p)
    local s = nn.mnist_split{train = p.train_size, validation = p.val_size}
    if p.test_size < s.test:size() then s.test = s.test:subset(1, p.test_size) end
    return s
  end,

  model = function(p)
    return nn.Sequential{
      nn.Reshape{1, 28, 28}, nn.RandomShift(p.shift),
      nn.Conv2d(1, p.c1, 5, {padding = 2, bias = false, init = "he"}), nn.BatchNorm(p.c1), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Conv2d(p.c1, p.c2, 5, {padding = 2, bias = false, init = "he"}), nn.BatchNorm(p.c2), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Flatten(), nn.Dropout(p.dropout),
      nn.Linear(p.c2 * 7 * 7, 256, {init = "he"}), nn.ReLU(), nn.Dropout(p.dropout),
      nn.Linear(256, 10),
    }
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum, nesterov = true, l2 = p.l2,
                  schedule = {kind = "cosine", t_max = p.epochs}}
  end,
}
