-- Every public function and method driven with wrong types and with NaN,
-- +-inf, 0, -1, 2^31, 2^53, 2^63 and 1e300 in each numeric argument (and
-- each numeric option): each call either works or raises an error that
-- names the function and the argument. `make test SANITIZE=1` runs this
-- under AddressSanitizer and UBSan, where any bad access also fails it.
local helper = require("helper")
local nn = helper.nn

local NUMBERS = {0 / 0, math.huge, -math.huge, 0, -1, 0.5, 2 ^ 31, 1 << 31, 2 ^ 53, 1 << 53, 2 ^ 63,
                 math.maxinteger, math.mininteger, 1e300, -1e300}
local WRONG_TYPES = {"x", {}, true, function() end}

-- The objects the calls work on, made anew for each call.
local function fixtures()
  nn.seed(1)
  local x = nn.tensor{{0, 1, 2}, {3, 4, 5}}
  local ds = nn.dataset{x = nn.tensor{{0, 10, 20}, {30, 40, 50}, {60, 70, 80}, {90, 100, 110}},
                        y = nn.tensor{0, 1, 0, 1}, classes = 2}
  local m = nn.Sequential{nn.Linear(3, 2)}
  local loss = nn.CrossEntropyLoss()
  local opt = nn.SGD{lr = 0.1, momentum = 0.5}
  local adam = nn.AdamW{lr = 0.1, schedule = {kind = "cosine", t_max = 3}}
  local rms = nn.RMSprop{lr = 0.1, momentum = 0.5, centered = true}
  return {x = x, ds = ds, m = m, loss = loss, opt = opt, adam = adam, rms = rms, v = m:parameters()}
end

local function stop_after_one() return false end

-- name: the function's name in Lua's messages; args(f, n): the call's
-- arguments, with n at each position that `slots` lists; slot k is
-- reported as argument k.
local CALLS = {
  {"seed", 1, function(_, n) return nn.seed(n) end},
  {"threads", 1, function(_, n) return nn.threads(n) end},
  {"zeros", 1, function(_, n) return nn.zeros{2, n} end},
  {"tensor", 1, function(_, n) return nn.tensor{{n}} end},
  {"Linear", 1, function(_, n) return nn.Linear(n, 3) end},
  {"Linear", 2, function(_, n) return nn.Linear(3, n) end},
  {"Linear", 3, function(_, n) return nn.Linear(3, 3, {init = "normal", std = n}) end},
  {"Linear", 3, function(_, n) return nn.Linear(3, 3, {init = "uniform", a = n}) end},
  {"Dropout", 1, function(_, n) return nn.Dropout(n) end},
  {"RandomShift", 1, function(_, n) return nn.RandomShift(n) end},
  {"BatchNorm", 1, function(_, n) return nn.BatchNorm(n) end},
  {"BatchNorm", 2, function(_, n) return nn.BatchNorm(3, {eps = n}) end},
  {"BatchNorm", 2, function(_, n) return nn.BatchNorm(3, {momentum = n}) end},
  {"Reshape", 1, function(_, n) return nn.Reshape{n, 2, 2} end},
  {"Reshape", 1, function(_, n) return nn.Reshape{2, 2, n} end},
  {"Conv2d", 1, function(_, n) return nn.Conv2d(n, 2, 3) end},
  {"Conv2d", 2, function(_, n) return nn.Conv2d(1, n, 3) end},
  {"Conv2d", 3, function(_, n) return nn.Conv2d(1, 2, n) end},
  {"Conv2d", 4, function(_, n) return nn.Conv2d(1, 2, 3, {stride = n}) end},
  {"Conv2d", 4, function(_, n) return nn.Conv2d(1, 2, 3, {padding = n}) end},
  {"Conv2d", 4, function(_, n) return nn.Conv2d(1, 2, 3, {init = "normal", std = n}) end},
  {"MaxPool2d", 1, function(_, n) return nn.MaxPool2d(n) end},
  {"MaxPool2d", 2, function(_, n) return nn.MaxPool2d(2, {stride = n}) end},
  {"AvgPool2d", 2, function(_, n) return nn.AvgPool2d(3, {padding = n}) end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = n} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, momentum = n} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, l2 = n} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, schedule = {kind = "step", step_size = n}} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, schedule = {kind = "exponential", gamma = n}} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, schedule = {kind = "cosine", t_max = n, min_lr = 0}} end},
  {"SGD", 1, function(_, n) return nn.SGD{lr = 0.1, schedule = {kind = "cosine", t_max = 3, min_lr = n}} end},
  {"Adam", 1, function(_, n) return nn.Adam{lr = n} end},
  {"Adam", 1, function(_, n) return nn.Adam{betas = {n, 0.999}} end},
  {"Adam", 1, function(_, n) return nn.Adam{betas = {0.9, n}} end},
  {"Adam", 1, function(_, n) return nn.Adam{eps = n} end},
  {"Adam", 1, function(_, n) return nn.Adam{l2 = n} end},
  {"Adam", 1, function(_, n) return nn.Adam{weight_decay = n} end},
  {"Adam", 1, function(_, n) return nn.Adam{schedule = {kind = "step", step_size = n}} end},
  {"AdamW", 1, function(_, n) return nn.AdamW{lr = n} end},
  {"AdamW", 1, function(_, n) return nn.AdamW{weight_decay = n} end},
  {"AdamW", 1, function(_, n) return nn.AdamW{schedule = {kind = "cosine", t_max = 3, min_lr = n}} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = n} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = 0.1, alpha = n} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = 0.1, eps = n} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = 0.1, momentum = n} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = 0.1, l2 = n} end},
  {"RMSprop", 1, function(_, n) return nn.RMSprop{lr = 0.1, schedule = {kind = "exponential", gamma = n}} end},
  {"dataset", 1, function(_, n) return nn.dataset{x = nn.tensor{{n}}, y = nn.tensor{0}} end},
  {"dataset", 1, function(_, n) return nn.dataset{x = nn.tensor{{1}}, y = nn.tensor{n}} end},
  {"dataset", 1, function(_, n) return nn.dataset{x = nn.tensor{{1}}, y = nn.tensor{0}, classes = n} end},
  {"dataset", 1, function(_, n) return nn.dataset{x = nn.tensor{{1}}, y = nn.tensor{0}, scale = n} end},
  {"mnist", 1, function(_, n) return nn.mnist{scale = n} end},
  {"mnist", 1, function(_, n) return nn.mnist{classes = n} end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.opt, data = f.ds, batch = n,
                                             epochs = 1, verbose = false} end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.opt, data = f.ds, epochs = n,
                                             verbose = false, on_epoch = stop_after_one} end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.opt, data = f.ds, epochs = 1,
                                             first_epoch = n, verbose = false} end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.opt, data = f.ds, epochs = 1,
                                             validation = f.ds, eval_batch = n, verbose = false} end},
  {"evaluate", 3, function(f, n) return nn.evaluate(f.m, f.ds, {batch = n}) end},
  {"numgrad", 1, function(f, n) return nn.numgrad{model = f.m, loss = f.loss, data = f.ds, h = n} end},
  {"gradcheck", 1, function(f, n) return nn.gradcheck{model = f.m, loss = f.loss, data = f.ds, h = n} end},
  {"numgrad", 1, function(f, n) return nn.numgrad{model = f.m, loss = f.loss, data = f.ds, sample = n} end},
  {"gradcheck", 1, function(f, n) return nn.gradcheck{model = f.m, loss = f.loss, data = f.ds, sample = n} end},
  {"format_time", 1, function(_, n) return nn.format_time(n) end},
  -- tensors
  {"get", 1, function(f, n) return f.x:get(n, 1) end},
  {"get", 2, function(f, n) return f.x:get(1, n) end},
  {"set", 2, function(f, n) return f.x:set(1, n, 0) end},
  {"set", 3, function(f, n) return f.x:set(1, 1, n) end},
  {"get", 1, function(f, n) return f.v:get(n) end},
  {"set", 1, function(f, n) return f.v:set(n, 1) end},
  {"reshape", 1, function(f, n) return f.x:reshape{n, 3} end},
  {"reshape", 1, function(f, n) return f.x:reshape{n} end},
  -- models
  {"forward", 1, function(f, n) return f.m:forward(nn.tensor{{n, n, n}}) end},
  {"predict", 1, function(f, n) return f.m:predict(nn.tensor{{n, 0, 0}}) end},
  {"backward", 2, function(f, n) f.m:forward(f.x); return f.m:backward(f.x, nn.tensor{{n, 0}, {0, n}}) end},
  -- datasets
  {"subset", 1, function(f, n) return f.ds:subset(n, 1) end},
  {"subset", 2, function(f, n) return f.ds:subset(1, n) end},
  {"split", 1, function(f, n) return f.ds:split{n} end},
  {"split", 1, function(f, n) return f.ds:split{1, n} end},
  {"with_scale", 1, function(f, n) return f.ds:with_scale(n) end},
  {"images", 1, function(f, n) return f.ds:images(n, 1) end},
  {"images", 2, function(f, n) return f.ds:images(1, n) end},
  {"batches", 1, function(f, n) for _ in f.ds:batches{size = n} do end end},
  -- losses and the optimizer
  {"forward", 1, function(f, n) return f.loss:forward(nn.tensor{{n, 0}}, nn.tensor{0}) end},
  {"forward", 2, function(f, n) return f.loss:forward(nn.tensor{{1, 0}}, nn.tensor{n}) end},
  {"backward", 2, function(f, n) return f.loss:backward(nn.tensor{{1, 0}}, nn.tensor{{n, 0}}) end},
  {"forward", 2, function(_, n) return nn.MSELoss():forward(nn.tensor{{1}}, nn.tensor{n}) end},
  {"set_epoch", 1, function(f, n) return f.opt:set_epoch(n) end},
  {"set_epoch", 1, function(f, n) return f.adam:set_epoch(n) end},
  {"set_epoch", 1, function(f, n) return f.rms:set_epoch(n) end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.adam, data = f.ds, batch = n,
                                             epochs = 1, verbose = false} end},
  {"train", 1, function(f, n) return nn.train{model = f.m, loss = f.loss, optimizer = f.rms, data = f.ds, epochs = n,
                                             verbose = false, on_epoch = stop_after_one} end},
}

-- Calls whose every argument is replaced, in turn, by a value of each wrong type.
local TYPED = {
  {"seed", 1, function(v) return nn.seed(v) end},
  {"threads", 1, function(v) return nn.threads(v) end},
  {"zeros", 1, function(v) return nn.zeros(v) end},
  {"tensor", 1, function(v) return nn.tensor(v) end, valid = {table = true}},
  {"Linear", 1, function(v) return nn.Linear(v, 3) end},
  {"Linear", 3, function(v) return nn.Linear(3, 3, v) end, valid = {table = true}},
  {"Sequential", 1, function(v) return nn.Sequential(v) end},
  {"Reshape", 1, function(v) return nn.Reshape(v) end},
  {"Conv2d", 1, function(v) return nn.Conv2d(v, 2, 3) end},
  {"Conv2d", 4, function(v) return nn.Conv2d(1, 2, 3, v) end, valid = {table = true}},
  {"MaxPool2d", 1, function(v) return nn.MaxPool2d(v) end},
  {"AvgPool2d", 2, function(v) return nn.AvgPool2d(2, v) end, valid = {table = true}},
  {"Flatten", 1, function(v) return nn.Flatten(v) end},
  {"RandomShift", 1, function(v) return nn.RandomShift(v) end},
  {"MSELoss", 1, function(v) return nn.MSELoss(v) end, valid = {table = true}},
  {"SGD", 1, function(v) return nn.SGD(v) end},
  {"Adam", 1, function(v) return nn.Adam(v) end, valid = {table = true}},
  {"Adam", 1, function(v) return nn.Adam{betas = v} end},
  {"Adam", 1, function(v) return nn.Adam{betas = {v, 0.999}} end},
  {"Adam", 1, function(v) return nn.Adam{l2_bias = v} end, valid = {boolean = true}},
  {"AdamW", 1, function(v) return nn.AdamW(v) end, valid = {table = true}},
  {"AdamW", 1, function(v) return nn.AdamW{weight_decay = v} end},
  {"RMSprop", 1, function(v) return nn.RMSprop(v) end},
  {"RMSprop", 1, function(v) return nn.RMSprop{lr = 0.1, centered = v} end, valid = {boolean = true}},
  {"RMSprop", 1, function(v) return nn.RMSprop{lr = 0.1, schedule = v} end},
  {"dataset", 1, function(v) return nn.dataset(v) end},
  {"train", 1, function(v) return nn.train(v) end},
  {"evaluate", 1, function(v, f) return nn.evaluate(v, f.ds) end},
  {"evaluate", 2, function(v, f) return nn.evaluate(f.m, v) end},
  {"load", 1, function(v) return nn.load(v) end, valid = {string = true}},
  {"get", 1, function(v, f) return f.x:get(v, 1) end},
  {"reshape", 1, function(v, f) return f.x:reshape(v) end},
  {"forward", 1, function(v, f) return f.m:forward(v) end},
  {"backward", 1, function(v, f) return f.m:backward(v, f.x) end},
  {"save", 1, function(v, f) return f.m:save(v) end, valid = {string = true}},
  {"restore", 1, function(v, f) return f.m:restore(v) end},
  {"rng_state", 1, function(v, f) return f.m:rng_state(v) end},
  {"subset", 1, function(v, f) return f.ds:subset(v) end},
  {"split", 1, function(v, f) return f.ds:split(v) end},
  {"batches", 1, function(v, f) return f.ds:batches(v) end, valid = {table = true}},
  {"forward", 1, function(v, f) return f.loss:forward(v, f.x) end},
  {"forward", 2, function(v, f) return f.loss:forward(f.x, v) end},
  {"step", 1, function(v, f) return f.opt:step(v) end},
  {"state", 1, function(v, f) return f.opt:state(v) end},
  {"penalty", 1, function(v, f) return f.opt:penalty(v) end},
  {"step", 1, function(v, f) return f.adam:step(v) end},
  {"state", 1, function(v, f) return f.adam:state(v) end},
  {"penalty", 1, function(v, f) return f.adam:penalty(v) end},
  {"set_epoch", 1, function(v, f) return f.adam:set_epoch(v) end},
  {"step", 1, function(v, f) return f.rms:step(v) end},
  {"state", 1, function(v, f) return f.rms:state(v) end},
  {"train", 1, function(v, f) return nn.train{model = f.m, loss = f.loss, optimizer = v, data = f.ds,
                                             verbose = false} end},
}

local function describe_value(v)
  if type(v) == "number" then return ("%s (%s)"):format(tostring(v), math.type(v)) end
  return type(v)
end

-- Lua names a method's object "self" and its other arguments from 1.
local function names(err, name, arg)
  return err:find(("bad argument #%d to '%s'"):format(arg, name), 1, true) ~= nil
end

describe("every public function", function()
  it("given each awkward number in each numeric argument works or names itself and the argument", function()
    local calls, errors = 0, 0
    for _, c in ipairs(CALLS) do
      local name, arg, call = c[1], c[2], c[3]
      for _, n in ipairs(NUMBERS) do
        local ok, err = pcall(call, fixtures(), n)
        calls = calls + 1
        if not ok then
          errors = errors + 1
          assert(type(err) == "string" and names(err, name, arg),
                 ("%s(#%d = %s) raised: %s"):format(name, arg, describe_value(n), tostring(err)))
        end
      end
    end
    assert.are.equal(#CALLS * #NUMBERS, calls)
    assert.is_true(errors > #CALLS) -- most calls refuse most of these values
  end)

  it("given a value of the wrong type names itself and the argument", function()
    for _, c in ipairs(TYPED) do
      local name, arg, call = c[1], c[2], c[3]
      for _, v in ipairs(WRONG_TYPES) do
        if c.valid and c.valid[type(v)] then goto next end
        local f = fixtures()
        local ok, err = pcall(call, v, f)
        assert(not ok, ("%s(#%d = %s) was accepted"):format(name, arg, describe_value(v)))
        assert(type(err) == "string" and names(err, name, arg),
               ("%s(#%d = %s) raised: %s"):format(name, arg, describe_value(v), tostring(err)))
        ::next::
      end
    end
  end)
end)
