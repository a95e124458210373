-- Issue 15, ranges: log:, lin: and int: in --set and in grid axes; point
-- names in short form (%.4g), the exact values in config.tsv.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local experiment = require("nnlab.experiment")

local function decl(grid)
  return experiment.define{name = "r", params = {lr = 0.1, hidden = 16, tag = "a"}, grid = grid,
    data = function() end, model = function() end, optimizer = function() end}
end

describe("ranges", function()
  it("give log-spaced, linear and integer values with exact ends", function()
    local v = assert(experiment.range("log:1e-3:1e-1:5"))
    assert.equal(5, #v)
    assert.equal(1e-3, v[1])
    assert.equal(1e-1, v[5])
    assert.is_true(math.abs(v[2] - 10 ^ -2.5) < 1e-15)
    assert.is_true(math.abs(v[3] - 1e-2) < 1e-15)
    assert.is_true(math.abs(v[4] - 10 ^ -1.5) < 1e-15)
    assert.same({16.0, 96.0, 176.0, 256.0}, experiment.range("lin:16:256:4"))
    local ints = experiment.range("int:16:256:4")
    assert.same({16, 96, 176, 256}, ints)
    assert.equal("integer", math.type(ints[2]))
    assert.same({1, 2, 3}, experiment.range("int:1:3:5")) -- repeated integers dropped
    assert.is_nil((experiment.range("0.1")))
    assert.truthy(select(2, experiment.range("log:0:1:3")):find("FROM and TO > 0"))
    assert.truthy(select(2, experiment.range("lin:1:2:1")):find("COUNT of 2 or more"))
    assert.truthy(select(2, experiment.range("int:1.5:3:2")):find("integer FROM and TO"))
  end)

  it("make axes in --set and in declarations, named in short form", function()
    local pts = assert(decl({}):points({"lr=log:1e-3:1e-1:3"}, false))
    assert.equal(3, #pts)
    assert.equal("lr=0.001", pts[1].name)
    assert.equal("lr=0.01", pts[2].name)
    assert.is_true(math.abs(pts[2].params.lr - 0.01) < 1e-15)
    local pts2 = assert(decl({lr = "log:1e-3:1e-1:5"}):points({"hidden=int:16:64:3"}, false))
    assert.equal(15, #pts2)
    assert.equal("hidden=16,lr=0.003162", pts2[2].name)
    assert.is_true(math.abs(pts2[2].params.lr - 10 ^ -2.5) < 1e-15)
    -- values the short form cannot tell apart keep their full text
    local pts3 = assert(decl({}):points({"lr=0.123451,0.123452"}, false))
    assert.equal("lr=0.123451", pts3[1].name)
    local _, err = decl({}):points({"lr=log:-1:1:3"}, false)
    assert.truthy(err:find("^%-%-set lr: 'log:%-1:1:3'"))
    assert.error_matches(function() decl{lr = "log:1:x:3"} end, "grid axis 'lr': 'log:1:x:3'")
  end)

  it("keep the exact value in config.tsv", function()
    local out = helper.tmpdir()
    local code, stdout, err = helper.nnlab(("run %s/tests/experiments/tiny_grid.lua --out %s --set lr=log:1e-3:1e-1:3 "
      .. "--set momentum=0 --set hidden=8 --set epochs=1 --quiet"):format(helper.root, out))
    assert.equal(0, code, err)
    assert.truthy(stdout:find("lr=0.01\t"))
    local _, list = helper.nnlab(("run %s/tests/experiments/tiny_grid.lua --out %s --set lr=log:1e-3:1e-1:3 "
      .. "--set momentum=0 --set hidden=8 --list")
      :format(helper.root, out))
    assert.equal("0\tlr=0.001\n1\tlr=0.01\n2\tlr=0.1\n", list)
    local grid = out .. "/" .. helper.grid_name(helper.root .. "/tests/experiments/tiny_grid.lua",
      "--set lr=log:1e-3:1e-1:3 --set momentum=0 --set hidden=8 --set epochs=1")
    local config = helper.read(grid .. "/lr=0.01/config.tsv")
    local exact = math.exp(math.log(1e-3) + (math.log(1e-1) - math.log(1e-3)) / 2)
    assert.truthy(config:find("lr\t" .. tsv.number(exact) .. "\n", 1, true))
  end)
end)
