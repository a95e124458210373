-- LeNet-5 with ReLU and max-pooling on MNIST: conv 6 5x5 (padding 2), pool 2,
-- conv 16 5x5, pool 2, 120-84-10, He initialisation, SGD with momentum 0.9
-- and a cosine schedule, batch 64, 10 epochs on 55000 training images (5000
-- validate). The grid sweeps the L2 strength c and the learning rate, as
-- seed 000 sweeps them.
local nn = require("nnlab")

return nn.experiment{
  name = "lenet",
  params = {seed = 1, c = 0, lr = 0.02, momentum = 0.9, batch = 64, epochs = 10,
            train_size = 55000, val_size = 5000},
  grid = {c = {0, 1e-4}, lr = {0.02, 0.05}},
  quick = {epochs = 1, train_size = 2000, val_size = 500},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function()
    return nn.Sequential{
      nn.Reshape{1, 28, 28},
      nn.Conv2d(1, 6, 5, {padding = 2, init = "he"}), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(6, 16, 5, {init = "he"}), nn.ReLU(), nn.MaxPool2d(2),
      nn.Flatten(),
      nn.Linear(16 * 5 * 5, 120, {init = "he"}), nn.ReLU(),
      nn.Linear(120, 84, {init = "he"}), nn.ReLU(),
      nn.Linear(84, 10),
    }
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum, l2 = p.c, schedule = {kind = "cosine", t_max = p.epochs}}
  end,
}
