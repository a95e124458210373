-- A random search over experiments/one_hidden_mlp.lua: 40 points of lr
-- (log-uniform), L2 c (0 or a power of ten), hidden size and dropout, with
-- successive halving over rungs of 1, 3 and 9 epochs (the best third goes
-- on at each rung). Rerun the best configuration with 5 seeds through
-- one_hidden_mlp.lua and --repeats 5 (see README).
local nn = require("nnlab")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local base = dofile(here .. "one_hidden_mlp.lua")

return nn.experiment{
  name = "random_search",
  params = base.params,
  settings = base.settings,
  quick = base.quick,
  search = {kind = "random", n = 40, space = {
    lr = nn.log_uniform(1e-3, 1),
    c = nn.choice{0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2},
    hidden = nn.int_uniform(16, 256),
    dropout = nn.uniform(0, 0.5),
  }},
  prune = {metric = "val_accuracy", rungs = {1, 3, 9}, eta = 3},
  data = base.data,
  model = base.model,
  optimizer = base.optimizer,
}
