-- The optimizers: Adam, AdamW and RMSprop against steps computed here in
-- double precision from PyTorch's formulas, their schedules, their state in
-- checkpoints (a killed Adam run resumes to the same figures) and their
-- refusals of wrong options.
local helper = require("helper")
local nn = helper.nn

-- A Linear(3, 2): parameters 1..6 are the weights, 7..8 the biases.
local NPARAMS, NWEIGHTS = 8, 6
local START = {0.5, -0.25, 1.5, -2, 0.75, 0.1, 0.3, -0.4}

local function model()
  local m = nn.Sequential{nn.Linear(3, 2, {init = "zeros"})}
  local p = m:parameters()
  for i = 1, NPARAMS do p:set(i, START[i]) end
  return m
end

-- The gradient of step t (varied in sign and size; never near zero).
local function grad(t, i)
  return math.sin(1.7 * i + 0.9 * t) + (i % 2 == 0 and 0.3 or -0.2)
end

local function set_grads(m, t)
  local g = m:gradients()
  for i = 1, NPARAMS do g:set(i, grad(t, i)) end
end

local function params(m)
  local p, out = m:parameters(), {}
  for i = 1, NPARAMS do out[i] = p:get(i) end
  return out
end

local function assert_close(expected, got, tol, what)
  for i = 1, #expected do
    local d = math.abs(expected[i] - got[i])
    assert(d <= tol * math.max(1, math.abs(expected[i])),
           ("%s: parameter %d is %.9g, expected %.9g (difference %.3g)"):format(what, i, got[i], expected[i], d))
  end
end

-- References in double, one state per parameter; s.lr(t) is step t's rate.
local function decayed(s, i) return i <= NWEIGHTS or s.l2_bias end

local function adam_ref(s, p, t)
  s.m, s.v = s.m or {}, s.v or {}
  local lr = s.lr(t)
  for i = 1, NPARAMS do
    local g = grad(t, i)
    if decayed(s, i) then
      g = g + s.l2 * p[i]
      p[i] = p[i] * (1 - lr * s.wd)
    end
    s.m[i] = s.b1 * (s.m[i] or 0) + (1 - s.b1) * g
    s.v[i] = s.b2 * (s.v[i] or 0) + (1 - s.b2) * g * g
    local denom = math.sqrt(s.v[i]) / math.sqrt(1 - s.b2 ^ t) + s.eps
    p[i] = p[i] - lr / (1 - s.b1 ^ t) * s.m[i] / denom
  end
end

local function rmsprop_ref(s, p, t)
  s.sq, s.buf, s.ga = s.sq or {}, s.buf or {}, s.ga or {}
  local lr = s.lr(t)
  for i = 1, NPARAMS do
    local g = grad(t, i)
    if decayed(s, i) then g = g + s.l2 * p[i] end
    s.sq[i] = s.alpha * (s.sq[i] or 0) + (1 - s.alpha) * g * g
    local avg
    if s.centered then
      s.ga[i] = s.alpha * (s.ga[i] or 0) + (1 - s.alpha) * g
      avg = math.sqrt(s.sq[i] - s.ga[i] ^ 2) + s.eps
    else
      avg = math.sqrt(s.sq[i]) + s.eps
    end
    if s.momentum > 0 then
      s.buf[i] = s.momentum * (s.buf[i] or 0) + g / avg
      p[i] = p[i] - lr * s.buf[i]
    else
      p[i] = p[i] - lr * g / avg
    end
  end
end

-- Runs `steps` steps of opt (set_epoch(e) before each when epochs) and of the
-- reference, comparing the parameters after each.
local function compare(opt, ref, s, steps, what, tol, epochs)
  local m, p = model(), {table.unpack(START)}
  for t = 1, steps do
    if epochs then opt:set_epoch(t - 1) end
    set_grads(m, t)
    opt:step(m)
    ref(s, p, t)
    assert_close(p, params(m), tol or 2e-6, ("%s, step %d"):format(what, t))
  end
end

local function const(lr) return function() return lr end end

local function adam_settings(o)
  local s = {lr = const(o.lr or 1e-3), b1 = 0.9, b2 = 0.999, eps = 1e-8, l2 = 0, wd = 0}
  for k, v in pairs(o) do s[k] = v end
  if type(s.lr) == "number" then s.lr = const(s.lr) end
  return s
end

describe("Adam", function()
  it("moves each parameter by lr on its first step, against the gradient's sign", function()
    local m = model()
    set_grads(m, 1)
    nn.Adam{lr = 0.01}:step(m)
    local p = params(m)
    for i = 1, NPARAMS do
      local sign = grad(1, i) > 0 and 1 or -1
      assert.is_near(START[i] - 0.01 * sign, p[i], 1e-6)
    end
  end)

  it("follows PyTorch's steps, with bias correction, over 20 steps", function()
    compare(nn.Adam{lr = 0.05}, adam_ref, adam_settings{lr = 0.05}, 20, "Adam")
    compare(nn.Adam{lr = 0.02, betas = {0.5, 0.9}, eps = 1e-3}, adam_ref,
            adam_settings{lr = 0.02, b1 = 0.5, b2 = 0.9, eps = 1e-3}, 20, "Adam betas and eps")
  end)

  it("adds l2 to the gradient of the weights only (all with l2_bias), and to the cost", function()
    local opt = nn.Adam{lr = 0.05, l2 = 0.3}
    local m = model()
    local half = 0
    for i = 1, NWEIGHTS do half = half + START[i] ^ 2 / 2 end
    assert.is_near(0.3 * half, opt:penalty(m), 1e-6)
    compare(opt, adam_ref, adam_settings{lr = 0.05, l2 = 0.3}, 10, "Adam l2")
    compare(nn.Adam{lr = 0.05, l2 = 0.3, l2_bias = true}, adam_ref,
            adam_settings{lr = 0.05, l2 = 0.3, l2_bias = true}, 10, "Adam l2 with biases")
  end)

  it("decays the weights apart from the gradient with weight_decay (AdamW's)", function()
    compare(nn.Adam{lr = 0.05, weight_decay = 0.5}, adam_ref, adam_settings{lr = 0.05, wd = 0.5}, 10, "Adam wd")
    compare(nn.Adam{lr = 0.05, weight_decay = 0.5, l2 = 0.1, l2_bias = true}, adam_ref,
            adam_settings{lr = 0.05, wd = 0.5, l2 = 0.1, l2_bias = true}, 10, "Adam wd, l2, biases")
    -- weight_decay is not in the cost
    assert.are.equal(0, nn.Adam{lr = 0.05, weight_decay = 0.5}:penalty(model()))
  end)
end)

describe("AdamW", function()
  it("is Adam with weight_decay 0.01 by default", function()
    compare(nn.AdamW{lr = 0.05}, adam_ref, adam_settings{lr = 0.05, wd = 0.01}, 10, "AdamW")
    local a, b = model(), model()
    local oa, ob = nn.AdamW{lr = 0.05}, nn.Adam{lr = 0.05, weight_decay = 0.01}
    for t = 1, 5 do
      set_grads(a, t); set_grads(b, t)
      oa:step(a); ob:step(b)
    end
    assert.are.same(params(b), params(a))
    assert.are.same(ob:state(), oa:state())
    compare(nn.AdamW{lr = 0.05, weight_decay = 0}, adam_ref, adam_settings{lr = 0.05}, 5, "AdamW without decay")
  end)
end)

describe("RMSprop", function()
  local function settings(o)
    local s = {alpha = 0.99, eps = 1e-8, momentum = 0, l2 = 0, centered = false}
    for k, v in pairs(o) do s[k] = v end
    s.lr = const(o.lr)
    return s
  end

  it("follows PyTorch's steps: plain, with momentum, centered, with l2", function()
    compare(nn.RMSprop{lr = 0.01}, rmsprop_ref, settings{lr = 0.01}, 20, "RMSprop")
    compare(nn.RMSprop{lr = 0.01, alpha = 0.9, eps = 1e-4}, rmsprop_ref,
            settings{lr = 0.01, alpha = 0.9, eps = 1e-4}, 20, "RMSprop alpha, eps")
    compare(nn.RMSprop{lr = 0.01, momentum = 0.9}, rmsprop_ref, settings{lr = 0.01, momentum = 0.9}, 20,
            "RMSprop momentum")
    compare(nn.RMSprop{lr = 0.01, centered = true}, rmsprop_ref, settings{lr = 0.01, centered = true}, 20,
            "RMSprop centered")
    compare(nn.RMSprop{lr = 0.01, momentum = 0.5, centered = true, l2 = 0.2}, rmsprop_ref,
            settings{lr = 0.01, momentum = 0.5, centered = true, l2 = 0.2}, 20, "RMSprop all")
  end)

  it("moves a parameter by lr / sqrt(1 - alpha) on its first step", function()
    local m = model()
    set_grads(m, 1)
    nn.RMSprop{lr = 0.001}:step(m)
    local p = params(m)
    for i = 1, NPARAMS do
      local sign = grad(1, i) > 0 and 1 or -1
      assert.is_near(START[i] - 0.001 / math.sqrt(0.01) * sign, p[i], 1e-6)
    end
  end)
end)

describe("against torch.optim (Debian's python3-torch 1.13)", function()
  local PY = "/usr/bin/python3"
  local have_torch = os.execute(PY .. " -c 'import torch' >/dev/null 2>&1")
  -- name, kind, steps, the options in nnlab's words and torch's (decay_bias: the biases' group decays too)
  local RUNS = {
    {"adam", "Adam", 30, {lr = 0.05}, "lr=0.05"},
    {"adam_betas", "Adam", 30, {lr = 0.02, betas = {0.5, 0.9}, eps = 1e-3}, "lr=0.02 beta1=0.5 beta2=0.9 eps=1e-3"},
    {"adam_l2", "Adam", 30, {lr = 0.05, l2 = 0.3}, "lr=0.05 weight_decay=0.3"},
    {"adam_l2_bias", "Adam", 30, {lr = 0.05, l2 = 0.3, l2_bias = true}, "lr=0.05 weight_decay=0.3 decay_bias=1"},
    {"adamw", "AdamW", 30, {lr = 0.05}, "lr=0.05 weight_decay=0.01 decay_bias=1", l2_bias = true},
    {"adamw_weights", "AdamW", 30, {lr = 0.05, weight_decay = 0.5}, "lr=0.05 weight_decay=0.5"},
    {"adamw_cosine", "AdamW", 30, {lr = 0.05, weight_decay = 0.2, schedule = {kind = "cosine", t_max = 20,
     min_lr = 0.001}}, "lr=0.05 weight_decay=0.2 schedule=cosine:20:0.001"},
    {"adam_step", "Adam", 30, {lr = 0.05, schedule = {kind = "step", step_size = 7, gamma = 0.5}},
     "lr=0.05 schedule=step:7:0.5"},
    {"rmsprop", "RMSprop", 30, {lr = 0.01}, "lr=0.01"},
    {"rmsprop_momentum", "RMSprop", 30, {lr = 0.01, momentum = 0.9, alpha = 0.9}, "lr=0.01 momentum=0.9 alpha=0.9"},
    {"rmsprop_centered", "RMSprop", 30, {lr = 0.01, centered = true, l2 = 0.1, l2_bias = true},
     "lr=0.01 centered=1 weight_decay=0.1 decay_bias=1"},
    {"rmsprop_all", "RMSprop", 30, {lr = 0.01, momentum = 0.5, centered = true, eps = 1e-4, l2 = 0.2,
     schedule = {kind = "exponential", gamma = 0.9}}, "lr=0.01 momentum=0.5 centered=1 eps=1e-4 weight_decay=0.2 "
     .. "schedule=exponential:0.9"},
  }

  it("gives the same trajectories to float precision", function()
    if not have_torch then
      pending("python3-torch is not installed")
      return
    end
    local input = os.tmpname()
    local lines = {}
    for _, r in ipairs(RUNS) do lines[#lines + 1] = table.concat({r[1], r[2], r[3], r[5]}, " ") end
    helper.write(input, table.concat(lines, "\n") .. "\n")
    local pipe = assert(io.popen(("%s %s/tests/scripts/torch_optim.py < %s"):format(PY, helper.root, input)))
    local torch = {}
    for line in pipe:lines() do
      local f = {}
      for v in line:gmatch("[^\t]+") do f[#f + 1] = v end
      torch[f[1] .. "/" .. f[2]] = {table.unpack(f, 3)}
    end
    assert(pipe:close(), "tests/scripts/torch_optim.py failed")
    os.remove(input)
    local worst, bitwise, total = 0, 0, 0
    for _, r in ipairs(RUNS) do
      local opts = {}
      for k, v in pairs(r[4]) do opts[k] = v end
      if r.l2_bias then opts.l2_bias = true end
      local opt, m = nn[r[2]](opts), model()
      for t = 1, r[3] do
        opt:set_epoch(t - 1)
        set_grads(m, t)
        opt:step(m)
        local want, got = assert(torch[r[1] .. "/" .. t], r[1] .. ": no torch figures"), params(m)
        for i = 1, NPARAMS do
          local w = tonumber(want[i])
          local d = math.abs(w - got[i]) / math.max(1, math.abs(w))
          worst = math.max(worst, d)
          total = total + 1
          if ("%.9g"):format(got[i]) == want[i] then bitwise = bitwise + 1 end
          assert(d <= 2e-6, ("%s step %d parameter %d: nnlab %.9g, torch %s"):format(r[1], t, i, got[i], want[i]))
        end
      end
    end
    print(("\n# against torch.optim: %d of %d parameter values identical, largest relative difference %.3g")
      :format(bitwise, total, worst))
  end)
end)

describe("schedules", function()
  local SCHEDULES = {
    {kind = "step", step_size = 2, gamma = 0.5},
    {kind = "exponential", gamma = 0.8},
    {kind = "cosine", t_max = 4, min_lr = 0.001},
  }
  local function rate(sched, lr, e)
    if sched.kind == "step" then return lr * sched.gamma ^ (e // sched.step_size) end
    if sched.kind == "exponential" then return lr * sched.gamma ^ e end
    local c = math.min(e, sched.t_max)
    return sched.min_lr + (lr - sched.min_lr) * (1 + math.cos(math.pi * c / sched.t_max)) / 2
  end

  it("give each optimizer its rate per epoch; cosine stays at min_lr from t_max on", function()
    local makers = {
      function(s) return nn.SGD{lr = 0.1, momentum = 0.9, schedule = s} end,
      function(s) return nn.Adam{lr = 0.1, schedule = s} end,
      function(s) return nn.AdamW{lr = 0.1, schedule = s} end,
      function(s) return nn.RMSprop{lr = 0.1, schedule = s} end,
    }
    for _, make in ipairs(makers) do
      for _, sched in ipairs(SCHEDULES) do
        local o = make(sched)
        for e = 0, 9 do
          assert.is_near(rate(sched, 0.1, e), o:set_epoch(e), 1e-15)
          assert.is_near(rate(sched, 0.1, e), o:lr(), 1e-15)
        end
      end
    end
    local o = nn.Adam{lr = 0.1, schedule = SCHEDULES[3]}
    assert.are.equal(0.001, o:set_epoch(4))
    assert.are.equal(0.001, o:set_epoch(1000))
  end)

  it("set the rate Adam's and RMSprop's steps use, AdamW's decay included", function()
    for _, sched in ipairs(SCHEDULES) do
      local lr = function(t) return rate(sched, 0.05, t - 1) end
      compare(nn.AdamW{lr = 0.05, weight_decay = 0.3, schedule = sched}, adam_ref,
              adam_settings{lr = lr, wd = 0.3}, 8, "AdamW " .. sched.kind, nil, true)
      local s = {alpha = 0.99, eps = 1e-8, momentum = 0.5, l2 = 0, lr = lr}
      compare(nn.RMSprop{lr = 0.05, momentum = 0.5, schedule = sched}, rmsprop_ref, s, 8, "RMSprop " .. sched.kind,
              nil, true)
    end
  end)

  it("are followed by nn.train, one rate per epoch in the history", function()
    local data = nn.mnist().train:subset(1, 200)
    local runs = {{nn.Adam{lr = 1e-3, schedule = SCHEDULES[1]}, SCHEDULES[1]},
                  {nn.RMSprop{lr = 1e-3, schedule = SCHEDULES[3]}, SCHEDULES[3]}}
    for _, r in ipairs(runs) do
      local m = nn.Sequential{nn.Linear(784, 10)}
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = r[1], data = data, batch = 50,
                         epochs = 6, verbose = false}
      for e = 1, 6 do assert.is_near(rate(r[2], 1e-3, e - 1), h.lr[e], 1e-15) end
    end
  end)
end)

describe("training with each optimizer", function()
  local mnist = nn.mnist()
  local function run(make, epochs, first, m, opt, h)
    nn.seed(5)
    local data = mnist.train:subset(1, 2000)
    m = m or nn.Sequential{nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)}
    opt = opt or make()
    h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = opt, data = data, batch = 100,
                 epochs = epochs, first_epoch = first, history = h, shuffle = false, verbose = false}
    return m, opt, h
  end
  local MAKERS = {
    Adam = function() return nn.Adam{lr = 1e-3, l2 = 1e-4} end,
    AdamW = function() return nn.AdamW{lr = 2e-3, schedule = {kind = "cosine", t_max = 4}} end,
    RMSprop = function() return nn.RMSprop{lr = 1e-3, momentum = 0.5, centered = true} end,
    SGD = function() return nn.SGD{lr = 0.1, momentum = 0.9} end,
  }

  it("lowers the cost", function()
    for name, make in pairs(MAKERS) do
      local _, _, h = run(make, 3)
      assert(h.cost[3] < h.cost[1] and h.train_accuracy[3] > 0.8,
             ("%s: cost %g -> %g, accuracy %g"):format(name, h.cost[1], h.cost[3], h.train_accuracy[3]))
    end
  end)

  it("gives the same numbers to the bit on one thread and on two (a first layer shared among threads)", function()
    local data = mnist.train:subset(1, 1000)
    local function train(threads, make)
      nn.threads(threads)
      nn.seed(4)
      local m = nn.Sequential{nn.Linear(784, 96), nn.ReLU(), nn.Linear(96, 10)} -- 75264 weights in one range
      local h = nn.train{model = m, loss = nn.CrossEntropyLoss(), optimizer = make(), data = data, batch = 200,
                         epochs = 2, verbose = false}
      return {h.cost[2], m:parameters():sum()}
    end
    local before = nn.info().threads
    for name, make in pairs(MAKERS) do
      assert.are.same(train(1, make), train(2, make), name)
    end
    nn.threads(before)
  end)

  it("resumes from the model's and the optimizer's state to the same parameters", function()
    for name, make in pairs(MAKERS) do
      local whole = run(make, 4)
      local half, opt, h = run(make, 2)
      local saved_model, saved_opt = half:encode(), opt:state()
      nn.seed(99) -- another initialisation, overwritten by the restore
      local m2 = nn.Sequential{nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)}
      m2:restore(saved_model)
      local opt2 = make()
      assert.are.equal(saved_opt, opt2:state(saved_opt))
      local resumed = run(make, 4, 3, m2, opt2, h)
      assert.are.same(whole:parameters():totable(), resumed:parameters():totable(), name)
    end
  end)

  it("refuses another kind's state, or another model's", function()
    local a = nn.Adam{}
    local m = model()
    set_grads(m, 1)
    a:step(m)
    assert.has_error(function() nn.RMSprop{lr = 0.1}:state(a:state()) end,
      "bad argument #1 to 'state' (the state is an Adam's, not an RMSprop's)")
    assert.has_error(function() nn.SGD{lr = 0.1}:state(a:state()) end,
      "bad argument #1 to 'state' (the state is an Adam's, not an SGD's)")
    assert.has_error(function() nn.RMSprop{lr = 0.1, momentum = 0.9}:state(nn.RMSprop{lr = 0.1}:state()) end,
      "bad argument #1 to 'state' (the state holds 1 buffers, this RMSprop keeps 2 (another momentum or centered "
      .. "setting))")
    assert.has_error(function() a:state(a:state():sub(1, -2)) end)
    assert.has_error(function() a:state("not a state") end, "bad argument #1 to 'state' (not an optimizer state)")
    -- a damaged or hand-edited state: a negative average of squares (Adam's v, RMSprop's s), a rate past float
    local bytes = a:state()
    local header = #bytes - 2 * NPARAMS * 4
    local function with_float(b, at, v) return b:sub(1, at - 1) .. string.pack("<f", v) .. b:sub(at + 4) end
    assert.has_error(function() nn.Adam{}:state(with_float(bytes, header + NPARAMS * 4 + 1, -1)) end,
      "bad argument #1 to 'state' (the optimizer state holds a negative average of squared gradients (-1, value "
      .. (NPARAMS + 1) .. "))")
    nn.Adam{}:state(with_float(bytes, header + 1, -1)) -- a negative first moment is fine
    local r = nn.RMSprop{lr = 0.1}
    r:step(m)
    local rb = r:state()
    assert.has_error(function() nn.RMSprop{lr = 0.1}:state(with_float(rb, #rb - NPARAMS * 4 + 1, -0.5)) end,
      "bad argument #1 to 'state' (the optimizer state holds a negative average of squared gradients (-0.5, value 1))")
    local lr_at = assert(bytes:find(string.pack("<d", a:lr()), 1, true), "the rate in the header")
    assert.has_error(function() nn.Adam{}:state(bytes:sub(1, lr_at - 1) .. string.pack("<d", 1e300)
      .. bytes:sub(lr_at + 8)) end, "bad argument #1 to 'state' (damaged optimizer state)")
    assert.has_error(function() a:step(nn.Sequential{nn.Linear(2, 2)}) end,
      "Adam: its state is for 8 parameters, the model has 6 (an optimizer serves one model)")
    -- SGD still takes the bare velocity its checkpoints held before
    local s = nn.SGD{lr = 0.1, momentum = 0.9}
    s:state(string.pack("<ffffffff", 1, 2, 3, 4, 5, 6, 7, 8))
    local m2 = model()
    for i = 1, NPARAMS do m2:gradients():set(i, 0) end
    s:step(m2)
    assert.is_near(START[1] - 0.1 * 0.9 * 1, params(m2)[1], 1e-6)
  end)

  it("is refused by nn.train when not an optimizer", function()
    assert.has_error(function()
      nn.train{model = model(), loss = nn.CrossEntropyLoss(), optimizer = "Adam", data = mnist.test, verbose = false}
    end, "bad argument #1 to 'train' (optimizer must be an optimizer (nn.SGD, nn.Adam, nn.AdamW or nn.RMSprop), "
      .. "got Adam)")
  end)
end)

describe("the optimizers' options", function()
  it("are checked, each error naming the option", function()
    local cases = {
      {function() nn.Adam{lr = -1} end, "Adam", "lr must be a positive finite number, got -1"},
      {function() nn.Adam{lr = 0 / 0} end, "Adam", "lr must be a finite number, got nan"},
      {function() nn.Adam{betas = {0.9}} end, "Adam",
       "betas must be a list of two finite numbers such as {0.9, 0.999}, got another table"},
      {function() nn.Adam{betas = 0.9} end, "Adam",
       "betas must be a list of two finite numbers such as {0.9, 0.999}, got number"},
      {function() nn.Adam{betas = {1, 0.999}} end, "Adam", "betas[1] must be in [0, 1), got 1"},
      {function() nn.Adam{betas = {0 / 0, 0.999}} end, "Adam",
       "betas[1] must be a finite number, got " .. tostring(0 / 0)},
      {function() nn.Adam{betas = {0.9, "x"}} end, "Adam", "betas[2] must be a finite number, got string"},
      {function() nn.Adam{betas = {0.9, -0.1}} end, "Adam", "betas[2] must be in [0, 1), got -0.1"},
      {function() nn.Adam{eps = 0} end, "Adam", "eps must be a positive finite number, got 0"},
      {function() nn.Adam{eps = 1e-46} end, "Adam", "eps must be at least 1.4013e-45 (the smallest float), got 1e-46"},
      {function() nn.RMSprop{lr = 0.01, eps = 1e-300} end, "RMSprop",
       "eps must be at least 1.4013e-45 (the smallest float), got 1e-300"},
      {function() nn.Adam{l2 = -1} end, "Adam", "l2 must be a finite number >= 0, got -1"},
      {function() nn.Adam{weight_decay = -0.1} end, "Adam", "weight_decay must be a finite number >= 0, got -0.1"},
      {function() nn.Adam{l2_bias = "yes"} end, "Adam", "l2_bias must be true or false, got string"},
      {function() nn.Adam{lr = 0.1, momentum = 0.9} end, "Adam",
       "unknown option 'momentum' (known: lr, betas, eps, l2, weight_decay, l2_bias, schedule)"},
      {function() nn.Adam{schedule = {kind = "cosine"}} end, "Adam",
       "schedule: t_max must be an integer >= 1, got nil"},
      {function() nn.Adam(0.1) end, "Adam", "expected a table of options such as {lr = 1e-3}"},
      {function() nn.AdamW{lr = 1, weight_decay = 2} end, "AdamW",
       "weight_decay * lr must be below 1 (each step scales the weights by 1 - lr * weight_decay), got 2"},
      {function() nn.AdamW{lr = 1e-3, wd = 0.1} end, "AdamW",
       "unknown option 'wd' (known: lr, betas, eps, l2, weight_decay, l2_bias, schedule)"},
      {function() nn.RMSprop{} end, "RMSprop", "lr must be a finite number, got nil"},
      {function() nn.RMSprop{lr = 0.01, alpha = 1} end, "RMSprop", "alpha must be in [0, 1), got 1"},
      {function() nn.RMSprop{lr = 0.01, eps = -1} end, "RMSprop", "eps must be a positive finite number, got -1"},
      {function() nn.RMSprop{lr = 0.01, momentum = 1} end, "RMSprop", "momentum must be in [0, 1), got 1"},
      {function() nn.RMSprop{lr = 0.01, centered = 2} end, "RMSprop", "centered must be true or false, got 2"},
      {function() nn.RMSprop{lr = 0.01, nesterov = true} end, "RMSprop",
       "unknown option 'nesterov' (known: lr, alpha, eps, momentum, centered, l2, l2_bias, schedule)"},
    }
    for _, c in ipairs(cases) do
      assert.has_error(c[1], ("bad argument #1 to '%s' (%s)"):format(c[2], c[3]))
    end
  end)

  it("default to PyTorch's", function()
    -- Adam{} and Adam with every default spelt out step alike.
    local a, b = model(), model()
    local oa = nn.Adam{}
    local ob = nn.Adam{lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, l2 = 0, weight_decay = 0}
    for t = 1, 3 do
      set_grads(a, t); set_grads(b, t)
      oa:step(a); ob:step(b)
    end
    assert.are.same(params(b), params(a))
    assert.are.equal(1e-3, nn.Adam{}:lr())
    assert.matches("^nnlab%.AdamW", tostring(nn.AdamW{}))
    assert.matches("^nnlab%.RMSprop", tostring(nn.RMSprop{lr = 0.01}))
  end)
end)

describe("nnlab run with Adam", function()
  local out
  before_each(function() out = helper.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. out) end)

  it("continues a killed run from its checkpoint (moments and step count) to the same final figures", function()
    local exp = out .. "/adam_resume.lua"
    helper.write(exp, [[
local nn = require("nnlab")
return nn.experiment{
  name = "adam_resume",
  params = {seed = 2, lr = 2e-3, epochs = 4, batch = 100},
  settings = {checkpoint_seconds = 0},
  data = function() return nn.mnist_split{train = 5000, validation = 1000} end,
  model = function() return nn.Sequential{nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10)} end,
  optimizer = function(p)
    return nn.AdamW{lr = p.lr, weight_decay = 0.05, schedule = {kind = "cosine", t_max = p.epochs}}
  end,
}
]])
    local args = ("run %s --quiet"):format(exp)
    local point = "/" .. helper.grid_name(exp) .. "/default/"
    assert.are.equal(0, (helper.nnlab(args .. " --out " .. out .. "/a")))
    local ckpt = out .. "/b" .. point .. "checkpoint.nnl"
    local cmd = ("%s/build/nnlab %s --out %s/b >/dev/null 2>&1 & pid=$!; "
      .. "n=0; while [ ! -f %s ] && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done; kill -9 $pid; wait $pid")
      :format(helper.root, args, out, ckpt)
    os.execute(cmd)
    assert.is_truthy(io.open(ckpt))
    assert.is_falsy(io.open(out .. "/b" .. point .. "DONE"))
    local code, _, stderr = helper.nnlab(("run %s --out %s/b"):format(exp, out))
    assert.are.equal(0, code, stderr)
    assert.matches("continuing from its checkpoint after epoch %d", stderr)
    local tsv = require("nnlab.tsv")
    local function final(dir)
      local t = assert(tsv.read_kv(dir .. point .. "final.tsv"))
      t.seconds = nil
      return t
    end
    assert.are.same(final(out .. "/a"), final(out .. "/b"))
    assert.are.equal(helper.read(out .. "/a" .. point .. "metrics.tsv"):gsub("\t[%d.e+-]+\n", "\n"),
                     helper.read(out .. "/b" .. point .. "metrics.tsv"):gsub("\t[%d.e+-]+\n", "\n"))
  end)
end)
