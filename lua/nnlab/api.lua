--- nnlab: small neural networks in C, driven from Lua 5.4.
-- The Torch-style, batch-only API: layers, Sequential, losses, SGD, datasets,
-- the training loop and its history, evaluation and gradient checks.
local core = require("nnlab.core")
local check = require("nnlab.check")

local nn = {}

local MODEL, DATASET = "nnlab.Model", "nnlab.Dataset"
local LOSS = "nnlab.Loss"
-- The optimizers' metatables (nn.AdamW's is nnlab.Adam's).
local OPTIMIZERS = {"nnlab.SGD", "nnlab.Adam", "nnlab.RMSprop"}

-- The project root, two folders above this file in a clone (lua/nnlab/api.lua);
-- installed, this file sits in PREFIX/share/lua/5.4/nnlab/ (make install) or
-- TREE/share/lua/5.4/nnlab/ (luarocks).
local here = debug.getinfo(1, "S").source
local root = here:match("^@(.*)/lua/nnlab/api%.lua$") or "."
nn.root = root
local moddir = here:match("^@(.*)/api%.lua$") or "."
local share = here:match("^@(.*)/lua/5%.4/nnlab/api%.lua$")

-- Where nn.mnist() looks without a dir or $NNLAB_DATA: the clone's data/mnist,
-- then make install's PREFIX/share/nnlab/data/mnist, then luarocks' copy
-- beside the modules.
local MNIST_DIRS = {root .. "/data/mnist"}
if share then MNIST_DIRS[#MNIST_DIRS + 1] = share .. "/nnlab/data/mnist" end
MNIST_DIRS[#MNIST_DIRS + 1] = moddir .. "/data/mnist"

---------------------------------------------------------------- system

-- Functions of the C core whose arguments it checks itself.
nn.seed = core.seed
nn.threads = core.threads

--- Versions, BLAS, threads and seed (core.info), with `nnlab` (the version)
-- and `mnist` (the folder nn.mnist() reads by default, or false).
function nn.info()
  local i = core.info()
  i.nnlab = i.version
  i.mnist = nn.mnist_dir() or false
  return i
end
nn.clock = core.clock

---------------------------------------------------------------- tensors

nn.tensor = core.tensor
nn.zeros = core.zeros

---------------------------------------------------------------- layers

local Layer = {}
Layer.__index = Layer
Layer.__tostring = function(l) return l.name end

local function layer(spec)
  return setmetatable(spec, Layer)
end

-- A layer on its own behaves as a one-layer Sequential.
local function as_model(l)
  if not l._model then l._model = core.sequential({l}) end
  return l._model
end
function Layer:forward(x) return as_model(self):forward(x) end
function Layer:backward(x, dy) return as_model(self):backward(x, dy) end

local INITS = {"default", "zeros", "normal", "uniform", "glorot", "xavier", "he"}

-- The initialisation and bias options of Linear and Conv2d: init, std, a, b, bias.
local function init_options(f, arg, opts)
  local init = check.oneof(f, arg, "init", opts.init or "default", INITS)
  if init == "xavier" then init = "glorot" end
  local std, a, b = opts.std or 0.01, opts.a or -0.05, opts.b or 0.05
  check.number(f, arg, "std", std, 0, true)
  check.number(f, arg, "a", a)
  check.number(f, arg, "b", b, a, true)
  local bias = opts.bias
  if bias == nil then bias = true end
  check.boolean(f, arg, "bias", bias)
  return init, std, a, b, bias
end

function nn.Linear(in_features, out_features, opts)
  local f = "Linear"
  check.int(f, "#1", "in_features", in_features, 1, 1 << 24)
  check.int(f, "#2", "out_features", out_features, 1, 1 << 24)
  opts = check.options(f, "#3", opts, {init = true, std = true, a = true, b = true, bias = true})
  local init, std, a, b, bias = init_options(f, "#3", opts)
  return layer{kind = "Linear", in_features = math.tointeger(in_features), out_features = math.tointeger(out_features),
               init = init, std = std, a = a, b = b, bias = bias and 1 or 0,
               name = ("Linear(%d->%d)"):format(in_features, out_features)}
end

local function activation(kind)
  return function(...)
    if select("#", ...) > 0 then check.fail(kind, "#1", "takes no arguments") end
    return layer{kind = kind, name = kind}
  end
end
nn.ReLU = activation("ReLU")
nn.Sigmoid = activation("Sigmoid")
nn.Tanh = activation("Tanh")

function nn.Dropout(p)
  p = p == nil and 0.5 or p
  check.number("Dropout", "#1", "p", p, 0, true)
  if p >= 1 then check.fail("Dropout", "#1", ("p must be below 1, got %s"):format(p)) end
  return layer{kind = "Dropout", p = p, name = ("Dropout(%g)"):format(p)}
end

--- nn.RandomShift(k): in training, each c x h x w sample moved by whole
-- rows and columns drawn from -k..k (zeros moved in), a new draw each batch
-- from the model's random state; unchanged in evaluation. 0 turns it off.
function nn.RandomShift(k)
  check.int("RandomShift", "#1", "shift", k, 0, 1 << 24)
  return layer{kind = "RandomShift", shift = math.tointeger(k), name = ("RandomShift(%d)"):format(k)}
end

function nn.BatchNorm(features, opts)
  check.int("BatchNorm", "#1", "features", features, 1, 1 << 24)
  opts = check.options("BatchNorm", "#2", opts, {eps = true, momentum = true})
  local eps = check.number("BatchNorm", "#2", "eps", opts.eps or 1e-5, 0)
  local momentum = check.number("BatchNorm", "#2", "momentum", opts.momentum or 0.1, 0, true, 1)
  return layer{kind = "BatchNorm", features = math.tointeger(features), eps = eps, momentum = momentum,
               name = ("BatchNorm(%d)"):format(features)}
end

-- The smallest normal float: a fitted std below it (a constant feature) is taken as 1.
local FLT_MIN = 1.1754943508222875e-38
local FLT_MAX = 3.4028234663852886e38

-- The numbers of a list or a 1-D tensor given as Normalize's mean or std.
local function stat_values(name, v)
  if getmetatable(v) == debug.getregistry()["nnlab.Tensor"] then
    if #v:shape() ~= 1 then
      check.fail("Normalize", "#1", ("%s must be a 1-D tensor, got %d-D"):format(name, #v:shape()), 2)
    end
    v = v:totable()
  end
  if type(v) ~= "table" or #v == 0 then
    check.fail("Normalize", "#1", ("%s must be a list of numbers or a 1-D tensor, got %s"):format(
      name, type(v) == "table" and "an empty table" or check.describe(v)), 2)
  end
  local out = {}
  for j = 1, #v do
    out[j] = check.number("Normalize", "#1", ("%s[%d]"):format(name, j), v[j], -FLT_MAX, true, FLT_MAX)
  end
  return out
end

--- nn.Normalize(dataset): y = (x - mean) / std per feature, with each
-- feature's mean and (population) standard deviation over every item of the
-- dataset, scaled as its batches are; a constant feature gets std 1.
-- nn.Normalize{mean = {...}, std = {...}} (lists or 1-D tensors) takes
-- statistics as given, each std > 0. The model file keeps them.
function nn.Normalize(arg)
  local f = "Normalize"
  local mean, std
  if getmetatable(arg) == debug.getregistry()[DATASET] then
    local m, s = arg:feature_stats()
    mean, std = m:totable(), s:totable()
    for j, v in ipairs(std) do
      if v < FLT_MIN then std[j] = 1 end
    end
  elseif type(arg) == "table" and getmetatable(arg) == nil then
    check.options(f, "#1", arg, {mean = true, std = true})
    mean, std = stat_values("mean", arg.mean), stat_values("std", arg.std)
    if #mean ~= #std then
      check.fail(f, "#1", ("mean has %d values but std has %d"):format(#mean, #std))
    end
    for j, v in ipairs(std) do
      if v < FLT_MIN then
        check.fail(f, "#1", ("std[%d] must be at least %.9g (the smallest normal float), got %s"):format(j, FLT_MIN, v))
      end
    end
  else
    check.fail(f, "#1", "expected a dataset or {mean = ..., std = ...}, got " .. check.describe(arg))
  end
  return layer{kind = "Normalize", features = #mean, mean = mean, std = std, name = ("Normalize(%d)"):format(#mean)}
end

--- nn.Reshape{c, h, w}: each sample's values seen as c x h x w (a view,
-- no copy: N x 784 rows become N x 1 x 28 x 28 for nn.Conv2d).
function nn.Reshape(shape)
  if type(shape) ~= "table" or #shape < 1 or #shape > 3 then
    check.fail("Reshape", "#1", "expected {c, h, w}, got " .. check.describe(shape))
  end
  local names = {"c", "h", "w"}
  local dims = {}
  for d = 1, 3 do
    dims[d] = math.tointeger(check.int("Reshape", "#1", names[d], shape[d] or 1, 1, 1 << 24))
  end
  return layer{kind = "Reshape", channels = dims[1], height = dims[2], width = dims[3],
               name = ("Reshape(%dx%dx%d)"):format(dims[1], dims[2], dims[3])}
end

--- nn.Flatten(): c x h x w samples seen as flat rows again (a view).
function nn.Flatten(...)
  if select("#", ...) > 0 then check.fail("Flatten", "#1", "takes no arguments") end
  return layer{kind = "Flatten", name = "Flatten"}
end

--- nn.Conv2d(in_channels, out_channels, kernel_size, {stride = 1, padding = 0,
-- bias = true, init = "default", std, a, b}): weights out x in x k x k (PyTorch's).
function nn.Conv2d(in_channels, out_channels, kernel_size, opts)
  local f = "Conv2d"
  check.int(f, "#1", "in_channels", in_channels, 1, 1 << 24)
  check.int(f, "#2", "out_channels", out_channels, 1, 1 << 24)
  check.int(f, "#3", "kernel_size", kernel_size, 1, 1 << 24)
  opts = check.options(f, "#4", opts, {stride = true, padding = true, bias = true, init = true, std = true,
                                       a = true, b = true})
  local stride = check.int(f, "#4", "stride", opts.stride or 1, 1, 1 << 24)
  local padding = check.int(f, "#4", "padding", opts.padding or 0, 0, 1 << 24)
  local init, std, a, b, bias = init_options(f, "#4", opts)
  return layer{kind = "Conv2d", in_channels = math.tointeger(in_channels),
               out_channels = math.tointeger(out_channels), kernel_size = math.tointeger(kernel_size),
               stride = math.tointeger(stride), padding = math.tointeger(padding), init = init, std = std, a = a,
               b = b, bias = bias, name = ("Conv2d(%d->%d, %dx%d)"):format(in_channels, out_channels, kernel_size,
                                                                          kernel_size)}
end

local function pool(kind)
  return function(kernel_size, opts)
    check.int(kind, "#1", "kernel_size", kernel_size, 1, 1 << 24)
    opts = check.options(kind, "#2", opts, {stride = true, padding = true})
    local stride = check.int(kind, "#2", "stride", opts.stride or kernel_size, 1, 1 << 24)
    local padding = check.int(kind, "#2", "padding", opts.padding or 0, 0, kernel_size // 2)
    return layer{kind = kind, kernel_size = math.tointeger(kernel_size), stride = math.tointeger(stride),
                 padding = math.tointeger(padding), name = ("%s(%dx%d)"):format(kind, kernel_size, kernel_size)}
  end
end
--- nn.MaxPool2d(kernel_size, {stride = kernel_size, padding = 0}), nn.AvgPool2d(...)
nn.MaxPool2d = pool("MaxPool2d")
nn.AvgPool2d = pool("AvgPool2d")

function nn.Sequential(layers)
  if type(layers) ~= "table" then
    check.fail("Sequential", "#1", "expected a list of layers, got " .. check.describe(layers))
  end
  if #layers == 0 then check.fail("Sequential", "#1", "expected at least one layer") end
  for i, l in ipairs(layers) do
    if getmetatable(l) ~= Layer then
      check.fail("Sequential", "#1", ("item %d is %s, expected a layer such as nn.Linear(784, 10)"):format(
        i, check.describe(l)))
    end
  end
  return core.sequential(layers)
end

---------------------------------------------------------------- losses

function nn.CrossEntropyLoss(...)
  if select("#", ...) > 0 and ... ~= nil then
    check.options("CrossEntropyLoss", "#1", ..., {})
  end
  return core.loss("cross_entropy")
end

function nn.MSELoss(opts)
  opts = check.options("MSELoss", "#1", opts, {reduction = true})
  local r = check.oneof("MSELoss", "#1", "reduction", opts.reduction or "mean", {"mean", "sum_per_sample"})
  return core.loss(r == "mean" and "mse_mean" or "mse_sum_per_sample")
end

---------------------------------------------------------------- optimizers

-- The C core checks every option of each (src/lnn_optim.c).
--- nn.SGD{lr = 0.1, momentum = 0.9, nesterov = false, l2 = 0, l2_bias = false,
--         schedule = {kind = "step", step_size = 10, gamma = 0.1}}
nn.SGD = core.sgd
--- nn.Adam{lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, l2 = 0, weight_decay = 0, l2_bias = false, schedule = ...}
nn.Adam = core.adam
--- nn.AdamW{...}: nn.Adam with weight_decay = 0.01 by default
nn.AdamW = core.adamw
--- nn.RMSprop{lr = 0.01 (required), alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, l2 = 0, l2_bias = false,
--             schedule = ...}
nn.RMSprop = core.rmsprop

-- True when v is an optimizer (nn.SGD, nn.Adam, nn.AdamW, nn.RMSprop).
local function is_optimizer(v)
  if type(v) ~= "userdata" then return false end
  local mt, registry = getmetatable(v), debug.getregistry()
  for _, name in ipairs(OPTIMIZERS) do
    if mt == registry[name] then return true end
  end
  return false
end

---------------------------------------------------------------- data

local mnist_cache = setmetatable({}, {__mode = "v"})

local function find_file(dir, name)
  for _, candidate in ipairs{dir .. "/" .. name .. ".gz", dir .. "/" .. name} do
    local f = io.open(candidate, "rb")
    if f then
      f:close()
      return candidate
    end
  end
  error(("mnist: %s: no file %s or %s.gz"):format(dir, name, name), 3)
end

local function load_pair(dir, prefix, classes, files)
  local images = find_file(dir, prefix .. "-images-idx3-ubyte")
  local labels = find_file(dir, prefix .. "-labels-idx1-ubyte")
  files[#files + 1], files[#files + 2] = images, labels
  return core.load_idx(images, labels, classes, 1 / 255)
end

---------------------------------------------------------------- data identity

-- The data files read while a list is set by nn.track_data: a point's
-- identity includes what its data is, not only where it was found.
local data_tracker
local fingerprints = {}

--- The CRC-32 and size of a file's bytes: "crc32:xxxxxxxx:size".
local function fingerprint(path)
  local f = io.open(path, "rb")
  if not f then return "missing" end
  local size = f:seek("end")
  f:seek("set")
  local key = path .. "\0" .. size
  if not fingerprints[key] then
    fingerprints[key] = ("crc32:%08x:%d"):format(core.crc32(f:read("a") or ""), size)
  end
  f:close()
  return fingerprints[key]
end

--- Sets the list that data loaded from files is recorded in ({path, sum} per
-- file; nil stops recording); returns the list set before.
function nn.track_data(list)
  local old = data_tracker
  data_tracker = list
  return old
end

local function track(files)
  if not data_tracker then return end
  for _, path in ipairs(files) do data_tracker[#data_tracker + 1] = {path = path, sum = fingerprint(path)} end
end

--- The folder nn.mnist() reads without a dir: $NNLAB_DATA, else the first of
-- MNIST_DIRS holding the training images, else nil.
function nn.mnist_dir()
  local env = os.getenv("NNLAB_DATA")
  if env then return env end
  for _, dir in ipairs(MNIST_DIRS) do
    for _, name in ipairs{"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"} do
      local f = io.open(dir .. "/" .. name, "rb")
      if f then
        f:close()
        return dir
      end
    end
  end
  return nil
end

--- The MNIST training and test sets: {train = dataset, test = dataset}.
-- Looks in opts.dir, else $NNLAB_DATA, else the clone's data/mnist or the
-- installed copy (nn.mnist_dir()).
function nn.mnist(opts)
  opts = check.options("mnist", "#1", opts, {dir = true, scale = true, classes = true})
  local dir = opts.dir or nn.mnist_dir()
  if not dir then
    error("mnist: no MNIST files in " .. table.concat(MNIST_DIRS, ", ") .. "; give {dir = ...} or set NNLAB_DATA", 2)
  end
  if type(dir) ~= "string" then check.fail("mnist", "#1", "dir must be a string") end
  local scale = check.number("mnist", "#1", "scale", opts.scale or 1 / 255, 0, false, 3.4028234663852886e38 / 255)
  local classes = check.int("mnist", "#1", "classes", opts.classes or 10, 1, 256)
  local key = dir .. "\0" .. classes
  local base = mnist_cache[key]
  if not base then
    local files = {}
    base = {train = load_pair(dir, "train", classes, files), test = load_pair(dir, "t10k", classes, files),
            files = files}
    mnist_cache[key] = base
  end
  track(base.files)
  if scale == 1 / 255 then return {train = base.train, test = base.test, dir = dir} end
  return {train = base.train:with_scale(scale), test = base.test:with_scale(scale), dir = dir}
end

--- The usual experiment data: {train, validation, test}, a seeded split of
-- MNIST's training images into `train` and `validation` items, and its test set.
function nn.mnist_split(opts)
  opts = check.options("mnist_split", "#1", opts, {train = true, validation = true, scale = true, dir = true})
  local mnist = nn.mnist{scale = opts.scale, dir = opts.dir}
  local train, val = mnist.train:split{opts.train, opts.validation}
  return {train = train, validation = val, test = mnist.test}
end

-- A Lua table of rows given for a dataset's x or y, as a tensor.
local function as_tensor(v, key)
  if type(v) ~= "table" then return v end
  local ok, t = pcall(core.tensor, v)
  if not ok then
    check.fail("dataset", "#1", key .. ": " .. tostring(t):gsub("^.-bad argument #1 to '[^']*' %((.*)%)$", "%1"), 2)
  end
  return t
end

--- nn.dataset{x = items, y = labels or targets, classes = 10, scale, kind, targets = false}:
-- a dataset from tensors or Lua tables of rows. x is pixels (integers 0..255,
-- scaled by 1/255) or real-valued features (kind = "features", scale 1); y a
-- class label a row, or real-valued targets with targets = true.
function nn.dataset(opts)
  if type(opts) == "table" and (type(opts.x) == "table" or type(opts.y) == "table") then
    local copy = {}
    for k, v in pairs(opts) do copy[k] = v end
    copy.x, copy.y = as_tensor(opts.x, "x"), as_tensor(opts.y, "y")
    opts = copy
  end
  local d = core.dataset(opts)
  return d
end

--- nn.csv{path, label = name or index (or a list, with targets), header = true, sep = ",",
-- targets = false, scale = 1} -> dataset, class names (when the labels are names) or nil.
-- Every column but the label's is a real-valued feature.
function nn.csv(opts)
  local d, names = core.csv(opts)
  track{opts.path}
  return d, names
end

---------------------------------------------------------------- training

local function fmt_time(s)
  check.number("format_time", "#1", "seconds", s)
  if s < 0 or s >= 1e9 then return "?" end
  if s < 60 then return ("%.1fs"):format(s) end
  if s < 3600 then return ("%dm%02ds"):format(s // 60, math.floor(s % 60)) end
  return ("%dh%02dm"):format(s // 3600, math.floor(s % 3600) // 60)
end
nn.format_time = fmt_time

-- done: the epochs this call has trained, elapsed their seconds.
local function progress(e, epochs, done, h, elapsed, tty)
  local line = ("epoch %d/%d  cost %.4f  acc %.4f"):format(e, epochs, h.cost[e], h.train_accuracy[e])
  if h.val_accuracy and h.val_accuracy[e] then line = line .. ("  val_acc %.4f"):format(h.val_accuracy[e]) end
  line = line .. ("  %s  eta %s"):format(fmt_time(elapsed), fmt_time(elapsed / done * (epochs - e)))
  if tty then
    io.stderr:write("\r", line, "\27[K", e == epochs and "\n" or "")
  else
    io.stderr:write(line, "\n")
  end
  io.stderr:flush()
end

local TRAIN_OPTS = {model = true, loss = true, optimizer = true, data = true, batch = true, epochs = true,
                    shuffle = true, validation = true, verbose = true, on_epoch = true, eval_batch = true,
                    first_epoch = true, history = true}

local function check_train(o)
  local f = "train"
  if type(o) ~= "table" then check.fail(f, "#1", "expected a table of options") end
  check.options(f, "#1", o, TRAIN_OPTS)
  check.is(f, "#1", "model", o.model, MODEL, "a model (nn.Sequential)")
  check.is(f, "#1", "loss", o.loss, LOSS, "a loss (nn.CrossEntropyLoss or nn.MSELoss)")
  if not is_optimizer(o.optimizer) then
    check.fail(f, "#1", ("optimizer must be an optimizer (nn.SGD, nn.Adam, nn.AdamW or nn.RMSprop), got %s"):format(
      tostring(o.optimizer)))
  end
  check.is(f, "#1", "data", o.data, DATASET, "a dataset")
  if o.validation ~= nil then check.is(f, "#1", "validation", o.validation, DATASET, "a dataset") end
  local batch = o.batch
  if batch == nil or batch == "full" then batch = o.data:size() end
  batch = check.int(f, "#1", "batch", batch, 1, 0x7fffffff)
  local epochs = check.int(f, "#1", "epochs", o.epochs or 1, 0, 1 << 30)
  local first = check.int(f, "#1", "first_epoch", o.first_epoch or 1, 1, 1 << 30)
  if o.eval_batch ~= nil then check.int(f, "#1", "eval_batch", o.eval_batch, 1, 0x7fffffff) end
  return batch, epochs, first
end

--- An empty training history: the table nn.train fills, one entry per epoch.
function nn.new_history(validation)
  local h = {cost = {}, loss = {}, train_accuracy = {}, seconds = {}, lr = {}}
  if validation then h.val_loss, h.val_accuracy = {}, {} end
  return h
end

--- Trains a model; returns the history, one entry per epoch in cost, loss,
-- train_accuracy, lr, seconds (and val_loss, val_accuracy with validation).
function nn.train(o)
  local batch, epochs, first = check_train(o)
  local shuffle = o.shuffle
  if shuffle == nil then shuffle = true end
  local verbose = o.verbose
  if verbose == nil then verbose = core.isatty(2) end
  local tty = core.isatty(2)
  local eval_batch = o.eval_batch -- nil: 1000 rows or more (core.evaluate)
  local h = o.history or nn.new_history(o.validation)
  h.val_accuracy = h.val_accuracy or (o.validation and {}) or nil
  h.val_loss = h.val_loss or (o.validation and {}) or nil
  -- The model file keeps the data's pixel scale, so nnlab predict scales alike.
  o.model:input_scale(o.data:scale())
  local start = core.clock()
  for e = first, epochs do
    local t0 = core.clock()
    h.lr[e] = o.optimizer:set_epoch(e - 1)
    h.cost[e], h.loss[e], h.train_accuracy[e] =
      core.train_epoch(o.model, o.loss, o.optimizer, o.data, batch, shuffle)
    if o.validation then
      h.val_loss[e], h.val_accuracy[e] = core.evaluate(o.model, o.loss, o.validation, eval_batch)
      o.model:training()
    end
    h.seconds[e] = core.clock() - t0
    if verbose then progress(e, epochs, e - first + 1, h, core.clock() - start, tty) end
    if o.on_epoch and o.on_epoch(e, h) == false then break end
  end
  return h
end

--- Accuracy, mean loss, confusion matrix ([true][predicted], 1-based) and
-- per-class precision and recall of a model on a dataset, in eval mode.
function nn.evaluate(model, data, opts)
  local f = "evaluate"
  check.is(f, "#1", "model", model, MODEL, "a model")
  check.is(f, "#2", "data", data, DATASET, "a dataset")
  opts = check.options(f, "#3", opts, {loss = true, batch = true})
  local loss = opts.loss or nn.CrossEntropyLoss()
  check.is(f, "#3", "loss", loss, LOSS, "a loss")
  local batch = opts.batch ~= nil and check.int(f, "#3", "batch", opts.batch, 1, 0x7fffffff) or nil
  local l, acc, confusion, mse, mae = core.evaluate(model, loss, data, batch)
  if data:targets() > 0 or (model:out_features() == 1 and tostring(loss):match("^MSELoss")) then
    -- a regression: errors against the targets; accuracy counts outputs within 0.5 of them
    return {accuracy = acc, loss = l, mse = mse, mae = mae}
  end
  local k = #confusion
  local precision, recall = {}, {}
  for c = 1, k do
    local predicted, actual = 0, 0
    for r = 1, k do
      predicted = predicted + confusion[r][c]
      actual = actual + confusion[c][r]
    end
    precision[c] = predicted > 0 and confusion[c][c] / predicted or 0
    recall[c] = actual > 0 and confusion[c][c] / actual or 0
  end
  return {accuracy = acc, loss = l, confusion = confusion, precision = precision, recall = recall}
end

local function check_grad_args(f, o)
  if type(o) ~= "table" then check.fail(f, "#1", "expected {model = ..., loss = ..., data = ...}") end
  check.options(f, "#1", o, {model = true, loss = true, data = true, h = true, details = true, sample = true})
  local model = o.model or o[1]
  check.is(f, "#1", "model", model, MODEL, "a model")
  check.is(f, "#1", "loss", o.loss, LOSS, "a loss")
  check.is(f, "#1", "data", o.data, DATASET, "a dataset")
  if o.sample ~= nil then check.int(f, "#1", "sample", o.sample, 1, 1 << 40) end
  return model, check.number(f, "#1", "h", o.h or 1e-5, 0), o.sample and math.tointeger(o.sample)
end

--- The central-difference gradient of the mean loss over data, for every
-- parameter in the model's order (a 1-D tensor), computed in double. With
-- sample = K, only K parameters drawn from the seed (0 elsewhere), and a
-- second result: their 1-based indices.
function nn.numgrad(o)
  local model, h, sample = check_grad_args("numgrad", o)
  return core.numgrad(model, o.loss, o.data, h, sample)
end

--- The largest relative error |a - b| / (|a| + |b|) (2-norms over each
-- layer's weights and over its biases) between backpropagation and numgrad
-- (over the sample = K parameters numgrad draws, when given).
-- With details = true, a second result: {abs = largest element-wise
-- difference, layer = the layer of the largest relative error}.
function nn.gradcheck(o)
  local model, h, sample = check_grad_args("gradcheck", o)
  local rel, abs, layer_index = core.gradcheck(model, o.loss, o.data, h, sample)
  if o.details then return rel, {abs = abs, layer = layer_index} end
  return rel
end

--- Declares an experiment (see lua/nnlab/experiment.lua).
function nn.experiment(decl)
  return require("nnlab.experiment").define(decl)
end

--- Search spaces of a random search (search = {kind = "random", n, space}).
function nn.log_uniform(a, b) return require("nnlab.experiment").log_uniform(a, b) end
function nn.uniform(a, b) return require("nnlab.experiment").uniform(a, b) end
function nn.int_uniform(a, b) return require("nnlab.experiment").int_uniform(a, b) end
function nn.choice(list) return require("nnlab.experiment").choice(list) end

function nn.load(path)
  if type(path) ~= "string" then check.fail("load", "#1", "expected a file name, got " .. check.describe(path)) end
  return core.load(path)
end

return nn
