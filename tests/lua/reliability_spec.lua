local helper = require("helper")
local tsv = require("nnlab.tsv")
local nn = helper.nn

describe("writes", function()
  it("that fail name the path and leave the earlier file intact", function()
    local dir = helper.tmpdir()
    local m = nn.Sequential{nn.Linear(784, 10)}
    m:save(dir .. "/m.nnl")
    local before = helper.read(dir .. "/m.nnl")
    nn.seed(9)
    helper.write(dir .. "/s.lua", ([[
      local nn = require("nnlab")
      nn.Sequential{nn.Linear(784, 10)}:save("%s/m.nnl")
    ]]):format(dir))
    -- a file-size limit makes the write fail part-way, like a full disk
    local ok, _, code = os.execute(("sh -c 'trap \"\" XFSZ; ulimit -f 8; exec %s/build/nnlab %s/s.lua' 2>%s/err")
      :format(helper.root, dir, dir))
    assert.is_falsy(ok)
    assert.are.equal(1, code)
    assert.matches("m.nnl: cannot write %(File too large%)", helper.read(dir .. "/err"))
    assert.are.equal(before, helper.read(dir .. "/m.nnl"))
    assert.error_matches(function() m:save("/dev/full") end, "/dev/full: cannot write %(not a regular file%)")
    assert.error_matches(function() m:save(dir) end, "cannot write %(not a regular file%)")
    local leftovers = io.popen("ls " .. dir):read("a")
    assert.are.equal("err\nm.nnl\ns.lua\n", leftovers)
    os.execute("rm -rf " .. dir)
  end)
end)

describe("a grid point whose script raises an error", function()
  it("is FAILED with the error; the others finish and the command exits 1", function()
    local dir = helper.tmpdir()
    helper.write(dir .. "/exp.lua", [[
      local nn = require("nnlab")
      return nn.experiment{
        params = {broken = false, epochs = 2, batch = 50},
        grid = {broken = {false, true}},
        data = function() return {train = nn.mnist().test:subset(1, 200)} end,
        model = function(p)
          if p.broken then error("no model for you") end
          return nn.Sequential{nn.Linear(784, 10)}
        end,
        optimizer = function() return nn.SGD{lr = 0.1} end,
      }
    ]])
    local code, stdout, stderr = helper.nnlab(("run %s/exp.lua --out %s/out --quiet"):format(dir, dir))
    assert.are.equal(1, code)
    assert.matches("broken=false\tDONE", stdout)
    assert.matches("1 of 2 points failed: broken=true", stderr)
    assert.matches("no model for you", helper.read(dir .. "/out/exp/broken=true/FAILED"))
    local _, rows = tsv.read_table(dir .. "/out/exp/summary.tsv")
    assert.are.same({"DONE", "FAILED"}, {rows[1].status, rows[2].status})
    os.execute("rm -rf " .. dir)
  end)
end)

describe("bad arguments", function()
  it("name the function and the argument", function()
    local m = nn.Sequential{nn.Linear(2, 2)}
    assert.error_matches(function() m:forward(5) end,
      "bad argument #1 to 'forward' %(nnlab.Tensor expected, got number%)")
    assert.error_matches(function() m:forward(nn.zeros{2}) end, "a batch is a 2%-D tensor")
    assert.error_matches(function() nn.zeros{2, 2}:get(1.5, 1) end, "bad argument #1 to 'get'")
    assert.error_matches(function() nn.seed(-1) end,
      "bad argument #1 to 'seed' %(seed must be an integer >= 0, got %-1%)")
    assert.error_matches(function() nn.threads(0) end, "bad argument #1 to 'threads'")
    assert.error_matches(function() nn.load(42) end, "bad argument #1 to 'load' %(expected a file name, got 42%)")
    assert.error_matches(function() nn.mnist{scale = 0 / 0} end, "scale must be a finite number, got nan")
    assert.error_matches(function() nn.evaluate(m, 3) end, "bad argument #2 to 'evaluate' %(data must be a dataset")
    assert.error_matches(function() nn.numgrad{model = m, loss = nn.MSELoss(), data = 1} end,
      "bad argument #1 to 'numgrad' %(data must be a dataset")
    assert.error_matches(function() nn.gradcheck{model = m, loss = nn.MSELoss(), data = nn.mnist().test, h = -1} end,
      "h must be > 0, got %-1")
    assert.error_matches(function() nn.experiment{model = 1} end, "experiment: 'data' must be a function")
  end)
end)
