-- A hostile script's attacks on the binding (issue 12's class, found by an
-- adversarial pass): finalizers that close objects in the middle of a call,
-- debug-library tampering, aliasing, lookalike model files. Each runs in its
-- own process, so that a crash fails the spec instead of busted; under
-- `make test SANITIZE=1` build/nnlab is the sanitizer build.
local helper = require("helper")
local nn = helper.nn

local function run(script, env)
  local dir = helper.tmpdir()
  helper.write(dir .. "/s.lua", script)
  local code, out, err = helper.nnlab(dir .. "/s.lua", env)
  os.execute("rm -rf " .. dir)
  return code, out, err
end

describe("a hostile script", function()
  it("closing a model from an option table's __index cannot make nn.dataset read freed memory", function()
    local code, out, err = run([[
      local nn = require("nnlab")
      local m = nn.Sequential{nn.Linear(3, 4)}
      local x = m:forward(nn.tensor{{1, 2, 3}, {4, 5, 6}})
      local ok, e = pcall(nn.dataset, setmetatable({x = x, y = nn.tensor{0, 1}}, {__index = function(_, k)
        if k == "targets" then getmetatable(m).__close(m) end
      end}))
      print(ok, e)
    ]])
    assert.are.equal(0, code, err)
    assert.matches("false\t.*tensor belongs to a closed model", out)
  end)

  it("closing objects from finalizers in the middle of calls gets errors, never freed memory", function()
    local code, out, err = run([[
      local nn = require("nnlab")
      collectgarbage("incremental", 1, 100)
      local x = nn.zeros{200, 3}
      local ds = nn.dataset{x = nn.zeros{20, 3}, y = nn.zeros{20}}
      local errors, uses = 0, {
        function(m) return m:predict(x) end,
        function(_, v) return v:totable() end,
        function(_, v) return v:argmax() end,
        function(_, v) return v:clone() end,
        function(_, v) return v:shape() end,
        function(_, v) return v:reshape{v:numel()} end,
        function(m) return m:layers() end,
        function(m) return nn.evaluate(m, ds, {loss = nn.MSELoss()}) end,
      }
      for i = 1, 2400 do
        local m = nn.Sequential{nn.Linear(3, 1)}
        local v = m:forward(x)
        setmetatable({}, {__gc = function() getmetatable(m).__close(m) end})
        if not pcall(uses[i % #uses + 1], m, v) then errors = errors + 1 end
      end
      for _ = 1, 300 do
        local d = nn.dataset{x = nn.zeros{20, 3}, y = nn.zeros{20}}
        setmetatable({}, {__gc = function() getmetatable(d).__close(d) end})
        pcall(d.images, d, 1, 20); pcall(d.labels, d); pcall(d.subset, d, 1, 5); pcall(d.split, d, {10})
      end
      print("done", errors > 0)
    ]])
    assert.are.equal(0, code, err)
    assert.matches("done\ttrue", out)
  end)

  it("cannot free a view's owner with debug.setuservalue, nor swap a batch iterator's dataset", function()
    local code, out, err = run([[
      local nn = require("nnlab")
      local v = nn.Sequential{nn.Linear(3, 4)}:forward(nn.tensor{{1, 2, 3}})
      debug.setuservalue(v, nil, 1)
      collectgarbage(); collectgarbage()
      print(pcall(v.sum, v))
      local small = nn.dataset{x = nn.zeros{2, 3}, y = nn.zeros{2}}
      local big = nn.dataset{x = nn.zeros{200, 3}, y = nn.zeros{200}}
      local next_batch, _, _, it = small:batches{size = 1}
      debug.setuservalue(it, big, 1)
      print(pcall(next_batch))
    ]])
    assert.are.equal(0, code, err)
    assert.matches("false\t.*tensor belongs to a closed model", out)
    assert.matches("false\t.*batch iterator: its dataset was replaced", out)
  end)

  it("cannot pass one type off as another with debug.setmetatable", function()
    local code, out, err = run([[
      local nn = require("nnlab")
      local t = nn.zeros{2, 2}
      debug.setmetatable(t, getmetatable(nn.Sequential{nn.ReLU()}))
      print(pcall(t.forward, t, nn.zeros{1, 3}))
      local ds = nn.dataset{x = nn.zeros{2, 3}, y = nn.zeros{2}}
      debug.setmetatable(ds, getmetatable(nn.zeros{1}))
      print(pcall(ds.sum, ds))
    ]])
    assert.are.equal(0, code, err)
    assert.matches("false\t.*nnlab.Model expected", out)
    assert.matches("false\t.*nnlab.Tensor expected", out)
  end)

  it("does not crash plain lua5.4 at exit after many threads", function()
    local dir = helper.tmpdir()
    helper.write(dir .. "/s.lua", [[
      local nn = require("nnlab"); nn.threads(256)
      local m = nn.Sequential{nn.Linear(784, 300)}
      for _ = 1, 3 do m:forward(nn.zeros{200, 784}) end
    ]])
    local env = ("LUA_PATH='%s/lua/?.lua;;' LUA_CPATH='%s/build/?.so;;'"):format(helper.root, helper.root)
    for _ = 1, 10 do
      local ok, _, code = os.execute(("%s lua5.4 %s/s.lua"):format(env, dir))
      assert(ok, "exit status " .. tostring(code))
    end
    os.execute("rm -rf " .. dir)
  end)
end)

describe("numbers a hostile script cannot get wrong", function()
  it("backward uses the x it is given, whatever the first layer's width", function()
    local function grad_sum(width)
      nn.seed(1)
      local m = nn.Sequential{nn.Linear(4, width)}
      m:zero_grad()
      m:forward(nn.tensor{{1, 0, 0, 0}, {0, 0, 0, 0}})
      local dy = nn.zeros{2, width}
      for i = 1, width do dy:set(1, i, 1) end
      m:backward(nn.tensor{{0, 0, 0, 5}, {0, 0, 0, 0}}, dy)
      return m:gradients():sum()
    end
    assert.are.equal(255 * 6, grad_sum(255))
    assert.are.equal(256 * 6, grad_sum(256))
    -- a first convolution, whose training forward keeps its columns for backward
    local function conv_grads(x_forward, x_backward)
      nn.seed(1)
      local m = nn.Sequential{nn.Reshape{1, 4, 4}, nn.Conv2d(1, 2, 3)}
      m:training()
      m:zero_grad()
      m:forward(x_forward)
      local dy = nn.zeros{1, 8}
      for i = 1, 8 do dy:set(1, i, i) end
      m:backward(x_backward, dy)
      return m:gradients():totable()
    end
    local a = nn.tensor{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
    local b = nn.tensor{{0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}
    assert.are.same(conv_grads(b, b), conv_grads(a, b))
  end)

  it("backward with the model's own gradients as dy reads a copy", function()
    local function run_backward(alias)
      local m = nn.Sequential{nn.Linear(1, 1)}
      local x = nn.tensor{{2}, {3}}
      m:forward(x)
      local g = m:gradients()
      g:set(1, 1)
      g:set(2, 10)
      m:backward(x, alias and g or g:clone())
      return {g:get(1), g:get(2)}
    end
    assert.are.same(run_backward(false), run_backward(true))
  end)

  it("restore refuses a model file whose layers differ only in their biases", function()
    local a = nn.Sequential{nn.Linear(2, 2), nn.Linear(2, 2, {bias = false})}
    local b = nn.Sequential{nn.Linear(2, 2, {bias = false}), nn.Linear(2, 2)}
    assert.has_error(function() b:restore(a:encode()) end, "model: holds a different architecture than the model")
  end)

  it("nn.train prints its progress without a validation set", function()
    local code, _, err = run([[
      local nn = require("nnlab")
      local ds = nn.dataset{x = nn.tensor{{1, 2}, {3, 4}}, y = nn.tensor{0, 1}}
      nn.train{model = nn.Sequential{nn.Linear(2, 2)}, loss = nn.CrossEntropyLoss(),
               optimizer = nn.SGD{lr = 0.1}, data = ds, verbose = true}
    ]])
    assert.are.equal(0, code, err)
    assert.matches("epoch 1/1  cost %d%.%d+  acc", err)
  end)

  it("refuses pids that do not fit and file names with NUL bytes", function()
    local core = require("nnlab.core")
    assert.has_error(function() core.kill((1 << 32) + 1, "SIGHUP") end,
      "bad argument #1 to 'kill' (pid must be an integer in 1..2147483647, got 4294967297)")
    local m = nn.Sequential{nn.Linear(1, 1)}
    assert.has_error(function() m:save("x\0evil") end,
      "bad argument #1 to 'save' (a file name cannot contain a NUL byte)")
    assert.has_error(function() nn.load("x\0y") end,
      "bad argument #1 to 'load' (a file name cannot contain a NUL byte)")
  end)
end)

describe("settings that would leave the float range or a stuck state", function()
  it("are refused with the reason", function()
    assert.has_error(function() nn.Sequential{nn.Linear(2, 2, {init = "uniform", a = -1e308, b = 1e308})} end,
      "bad argument #1 to 'sequential' (layer 1, Linear(2->2): init needs 0 <= std <= 1e30 and " ..
      "-1e30 <= a <= b <= 1e30)")
    assert.has_error(function() nn.Sequential{nn.BatchNorm(2, {eps = 1e-300})} end,
      "bad argument #1 to 'sequential' (layer 1, BatchNorm(2): eps must be at least 1e-30 (1 / sqrt(eps) must be " ..
      "a float), got 1e-300)")
    assert.has_error(function() nn.SGD{lr = 1e308} end,
      "bad argument #1 to 'SGD' (lr must be a positive finite number, got 1e+308)")
    local ds = nn.dataset{x = nn.zeros{2, 3}, y = nn.zeros{2}}
    assert.error_matches(function() ds:with_scale(1e300) end, "keep every value within float range")
    assert.error_matches(function() ds:with_scale(0) end, "scale must be > 0")
    local m = nn.Sequential{nn.Linear(2, 2), nn.Dropout(0.5)}
    assert.has_error(function() m:rng_state(("\0"):rep(32)) end,
      "bad argument #1 to 'rng_state' (not a random-stream state (all zero))")
    assert.has_error(function() require("nnlab.core").rng_state(("\0"):rep(128)) end,
      "bad argument #1 to 'rng_state' (not a random-stream state (a stream is all zero))")
    local opt = nn.SGD{lr = 0.1, momentum = 0.9}
    assert.error_matches(function() opt:state(string.pack("<ffffff", 0, 0, 0 / 0, 0, 0, 0)) end,
      "not finite")
  end)
end)

describe("cross-entropy against rows of targets", function()
  it("takes class distributions only: no entry below 0, rows summing to 1", function()
    local ce = nn.CrossEntropyLoss()
    assert.is_near(math.log(2), ce:forward(nn.zeros{2, 2}, nn.tensor{{0.9, 0.1}, {0.05, 0.95}}), 1e-6)
    assert.has_error(function() ce:forward(nn.zeros{2, 2}, nn.tensor{{0.5, 0.5}, {3, 3}}) end,
      "bad argument #2 to 'forward' (CrossEntropyLoss: row 2 of the batch's targets sums to 6: a class distribution "
      .. "sums to 1 (real-valued targets take MSELoss))")
    assert.has_error(function() ce:forward(nn.zeros{1, 2}, nn.tensor{{-1, 2}}) end,
      "bad argument #2 to 'forward' (CrossEntropyLoss: row 1 of the batch's targets holds -1 (column 1): a class "
      .. "distribution has no entry below 0 (real-valued targets take MSELoss))")
    -- a regression's dataset trained with cross-entropy
    local x, y = {}, {}
    for i = 1, 20 do x[i] = {i / 10, (i % 3) / 3}; y[i] = {i, 0, 2 * i} end
    local d = nn.dataset{x = x, y = y, targets = true}
    assert.error_matches(function()
      nn.train{model = nn.Sequential{nn.Linear(2, 3)}, loss = ce, optimizer = nn.SGD{lr = 0.01}, data = d, batch = 5,
               epochs = 1, verbose = false}
    end, "of the batch's targets sums to %d+: a class distribution sums to 1 %(real%-valued targets take MSELoss%)")
  end)
end)

describe("messages for odd but possible inputs", function()
  it("name the function and the reason", function()
    local ce = nn.CrossEntropyLoss()
    assert.has_error(function() ce:forward(nn.zeros{0, 3}, nn.zeros{0}) end,
      "bad argument #1 to 'forward' (outputs must have at least one row and one column)")
    assert.has_error(function() ce:forward(nn.zeros{2, 0}, nn.zeros{2}) end,
      "bad argument #1 to 'forward' (outputs must have at least one row and one column)")
    assert.has_error(function() ce:forward(nn.zeros{2, 3}, nn.zeros{2, 3, 1}) end,
      "bad argument #2 to 'forward' (a target is one label a row (N or N x 1) or a matrix of the outputs' " ..
      "shape (N x C))")
    local ds = nn.dataset{x = nn.zeros{2, 2}, y = nn.zeros{2}}
    assert.has_error(function() ds:split{0.25, 0.25, 0.25, 0.25} end,
      "bad argument #1 to 'split' (part 2 (0.25 of 2 items) would be empty)")
    local parts = {nn.dataset{x = nn.zeros{10, 2}, y = nn.zeros{10}}:split{0.25, 0.25, 0.25, 0.25}}
    assert.are.same({3, 2, 3, 2}, {parts[1]:size(), parts[2]:size(), parts[3]:size(), parts[4]:size()})
    local bn = nn.Sequential{nn.Linear(2, 2), nn.BatchNorm(2)}
    local function train(data, batch)
      nn.train{model = bn, loss = ce, optimizer = nn.SGD{lr = 0.1}, data = data, batch = batch, verbose = false}
    end
    assert.error_matches(function() train(ds, 1) end, "a model with BatchNorm trains on batches of 2 or more items")
    assert.error_matches(function() train(ds:subset(1, 1), 2) end, "got a dataset of 1 item")
  end)

  it("nn.csv takes an integer-valued float as a column and refuses a column named twice", function()
    local dir = helper.tmpdir()
    helper.write(dir .. "/a.csv", "a,b,c\n1,2,0\n3,4,1\n")
    local d = nn.csv{path = dir .. "/a.csv", label = 3.0}
    assert.are.same({0, 1}, d:labels():totable())
    assert.has_error(function() nn.csv{path = dir .. "/a.csv", label = {"c", 3}, targets = true} end,
      "bad argument #1 to 'csv' (label names column 3 twice)")
    os.execute("rm -rf " .. dir)
  end)

  it("argmax and predict give a NaN output's position, never a class beside it", function()
    assert.are.equal(2, nn.tensor{1, 0 / 0, 5}:argmax())
    assert.are.same({3}, nn.tensor{{1, 2, 0 / 0}}:argmax())
  end)
end)
