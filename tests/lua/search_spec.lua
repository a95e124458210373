-- Issue 15, random search: search = {kind = "random", n, space} drawn from
-- the root seed, the same list in every process, extendable (a larger n
-- keeps the first trials and their results), and a plot of the metric
-- against each searched parameter.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local nn = require("nnlab")

local function search_file(dir, n, epochs)
  local path = dir .. "/search.lua"
  helper.write(path, ([[
local nn = require("nnlab")
return nn.experiment{
  name = "search",
  params = {seed = 1, lr = 0.1, c = 0, hidden = 16, epochs = %d, batch = 50},
  search = {kind = "random", n = %d, space = {lr = nn.log_uniform(1e-3, 1), c = nn.choice{0, 1e-4, 1e-3},
                                            hidden = nn.int_uniform(4, 32)}},
  data = function(p) return nn.mnist_split{train = 300, validation = 100} end,
  model = function(p) return nn.Sequential{nn.Linear(784, p.hidden), nn.ReLU(), nn.Linear(p.hidden, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr, l2 = p.c} end,
}
]]):format(epochs or 1, n))
  return path
end

describe("random search", function()
  it("draws the same list in two processes, and a longer search keeps the first points", function()
    local dir = helper.tmpdir()
    local path = search_file(dir, 30)
    local code1, list1 = helper.nnlab("run " .. path .. " --list")
    local code2, list2 = helper.nnlab("run " .. path .. " --list")
    assert.equal(0, code1)
    assert.equal(0, code2)
    assert.equal(list1, list2)
    assert.equal(30, select(2, list1:gsub("\n", "")))
    -- the values, from two fresh processes
    local dump = dir .. "/dump.lua"
    helper.write(dump, ([[
local exp = require("nnlab.experiment").load(%q)
for _, p in ipairs(exp:points({}, false)) do
  print(p.name, require("nnlab.tsv").value(p.params.lr), p.params.c, p.params.hidden)
end
]]):format(path))
    local _, v1 = helper.nnlab(dump)
    local _, v2 = helper.nnlab(dump)
    assert.equal(v1, v2)
    assert.equal(30, select(2, v1:gsub("\n", "")))
    -- the values lie in their spaces and are not all alike
    local seen = {}
    for name, lr, c, hidden in v1:gmatch("(%S+)\t(%S+)\t(%S+)\t(%S+)\n") do
      lr, c, hidden = tonumber(lr), tonumber(c), math.tointeger(tonumber(hidden))
      assert.is_true(lr >= 1e-3 and lr <= 1, name)
      assert.is_true(c == 0 or c == 1e-4 or c == 1e-3, name)
      assert.is_true(hidden and hidden >= 4 and hidden <= 32, name)
      seen[c] = true
    end
    assert.is_true(seen[0] and seen[1e-4] and seen[1e-3])
    -- n = 60 keeps the first 30 exactly
    search_file(dir, 60)
    local _, v60 = helper.nnlab(dump)
    assert.equal(60, select(2, v60:gsub("\n", "")))
    assert.equal(v1, v60:sub(1, #v1))
    -- another root seed, another list
    local other = nn.experiment{name = "s", params = {seed = 2, lr = 0.1},
      search = {kind = "random", n = 3, space = {lr = nn.log_uniform(1e-3, 1)}},
      data = function() end, model = function() end, optimizer = function() end}
    local same = nn.experiment{name = "s", params = {seed = 1, lr = 0.1},
      search = {kind = "random", n = 3, space = {lr = nn.log_uniform(1e-3, 1)}},
      data = function() end, model = function() end, optimizer = function() end}
    assert.are_not.equal(other:points({}, false)[1].params.lr, same:points({}, false)[1].params.lr)
  end)

  it("reuses the first points' results when extended, and plots the metric against each parameter", function()
    local dir = helper.tmpdir()
    local path = search_file(dir, 4)
    local out = dir .. "/out"
    local code, _, err = helper.nnlab(("run %s --out %s --quiet"):format(path, out))
    assert.equal(0, code, err)
    local grid = out .. "/search"
    local done1 = helper.read(grid .. "/trial=002/DONE")
    search_file(dir, 6)
    code, _, err = helper.nnlab(("run %s --out %s"):format(path, out))
    assert.equal(0, code, err)
    assert.truthy(err:find("trial=002: finished earlier, reused", 1, true))
    assert.falsy(err:find("trial=004: finished earlier", 1, true))
    assert.equal(done1, helper.read(grid .. "/trial=002/DONE"))
    local _, rows = tsv.read_table(grid .. "/summary.tsv")
    assert.equal(6, #rows)
    assert.equal("c:choice,hidden:lin,lr:log", tsv.read_kv(grid .. "/grid.tsv").search)
    local gp = helper.read(grid .. "/grid_search.gp")
    assert.truthy(gp:find("set logscale x\nset xlabel 'lr (log scale)'", 1, true))
    assert.truthy(gp:find("set multiplot layout 1,3", 1, true))
    local data = helper.read(grid .. "/grid_search.tsv")
    assert.equal(3, select(2, data:gsub("\n\n\n", "")) + 1)
    assert.equal(3, select(2, data:gsub("\t1\t0\n", ""))) -- the best point, circled in each panel
    if os.execute("command -v gnuplot >/dev/null 2>&1") then
      assert.truthy(io.open(grid .. "/grid_search.png"))
    end
  end)

  it("checks its declaration", function()
    local function bad(search)
      return function()
        nn.experiment{name = "s", params = {lr = 0.1}, search = search,
          data = function() end, model = function() end, optimizer = function() end}
      end
    end
    assert.error_matches(bad{kind = "grid", n = 3, space = {lr = nn.uniform(0, 1)}}, 'search.kind must be "random"')
    assert.error_matches(bad{kind = "random", n = 0, space = {lr = nn.uniform(0, 1)}}, "search.n must be an integer")
    assert.error_matches(bad{kind = "random", n = 3, space = {zz = nn.uniform(0, 1)}}, "search.space.zz is not a param")
    assert.error_matches(bad{kind = "random", n = 3, space = {lr = {1, 2}}}, "search.space.lr must be nn.log_uniform")
    assert.error_matches(function() nn.log_uniform(0, 1) end, "expected 0 < a < b")
  end)
end)
