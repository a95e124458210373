-- A one-hidden-layer ReLU MLP with dropout on MNIST (50000 training images,
-- 10000 for validation), SGD with momentum 0.9 and L2 c: the model that
-- experiments/random_search.lua searches, and the one to rerun its best
-- configuration with several seeds:
--   build/nnlab run experiments/one_hidden_mlp.lua --set lr=... --set c=... \
--       --set hidden=... --set dropout=... --repeats 5
local nn = require("nnlab")

return nn.experiment{
  name = "one_hidden_mlp",
  params = {seed = 1, lr = 0.1, c = 0, hidden = 64, dropout = 0, momentum = 0.9, batch = 100, epochs = 9,
            train_size = 50000, val_size = 10000},
  quick = {train_size = 5000, val_size = 1000},

  data = function(p)
    return nn.mnist_split{train = p.train_size, validation = p.val_size}
  end,

  model = function(p)
    return nn.Sequential{nn.Linear(784, p.hidden, {init = "he"}), nn.ReLU(), nn.Dropout(p.dropout),
                         nn.Linear(p.hidden, 10)}
  end,

  optimizer = function(p)
    return nn.SGD{lr = p.lr, momentum = p.momentum, l2 = p.c}
  end,
}
