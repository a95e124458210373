-- Issue 15, `nnlab status OUT/GRID`: a line per point (PENDING, RUNNING with
-- its epoch and host, DONE, FAILED with its reason, PRUNED, INTERRUPTED),
-- the totals and an ETA, read from the folders alone; --watch refreshes.
local helper = require("helper")
local tsv = require("nnlab.tsv")
local core = require("nnlab.core")
local rundir = require("nnlab.rundir")

local TINY = helper.root .. "/tests/experiments/tiny_grid.lua"

describe("nnlab status", function()
  it("gives each point's state, the totals and an ETA", function()
    local out = helper.tmpdir()
    local sets = "--set momentum=0.9 --set hidden=8 --set epochs=2"
    local code, _, err = helper.nnlab(("run %s --out %s %s --quiet"):format(TINY, out, sets))
    assert.equal(1, code, err) -- lr = 30 diverges
    local grid = out .. "/" .. helper.grid_name(TINY, sets)
    -- lr=0.003 interrupted, lr=0.03 running (its lock held by this process),
    -- a pending point and a pruned one beside them
    os.remove(grid .. "/lr=0.003/DONE")
    helper.write(grid .. "/lr=0.003/checkpoint.nnl", "x")
    os.remove(grid .. "/lr=0.03/DONE")
    local lock = assert(rundir.lock(grid .. "/lr=0.03"))
    for _, name in ipairs{"lr=99", "lr=98"} do
      os.execute("mkdir " .. grid .. "/" .. name)
      tsv.write_kv(grid .. "/" .. name .. "/config.tsv", {epochs = 2, lr = 99})
    end
    helper.write(grid .. "/lr=98/PRUNED", "rung 1 of 3\n")
    local code2, stdout = helper.nnlab("status " .. grid)
    lock:unlock()
    assert.equal(0, code2)
    local lines = {}
    for l in stdout:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(7, #lines)
    assert.matches("^lr=0%.003 +INTERRUPTED +checkpoint after epoch 2/2$", lines[1])
    assert.matches(("^lr=0%%.03 +RUNNING +epoch 2/2 on %s %%(pid %d, since "):format(core.hostname():gsub("%p", "%%%0"),
      core.getpid()), lines[2])
    assert.matches("^lr=0%.3 +DONE +val_accuracy 0%.%d+ +test_accuracy 0%.%d+", lines[3])
    assert.matches("^lr=30 +FAILED +diverged at epoch %d", lines[4])
    assert.matches("^lr=98 +PRUNED +after epoch 0 %(rung 1 of 3%)$", lines[5])
    assert.matches("^lr=99 +PENDING$", lines[6])
    assert.matches(": 6 points: 1 DONE, 1 RUNNING, 1 INTERRUPTED, 1 PENDING, 1 PRUNED, 1 FAILED; eta %S+", lines[7])
    -- --watch refreshes until the grid has finished
    local t0 = core.clock()
    local log = out .. "/watch.log"
    assert.is_true(os.execute(("%s/build/nnlab status --watch 0.2 %s >%s & pid=$!; sleep 1; kill -INT $pid; wait $pid")
      :format(helper.root, grid, log)))
    local wout = helper.read(log)
    assert.is_true(select(2, wout:gsub("6 points: ", "")) >= 2)
    for _, name in ipairs{"lr=0.003", "lr=99", "lr=98"} do os.execute("rm -r " .. grid .. "/" .. name) end
    helper.write(grid .. "/lr=0.03/DONE", "")
    local fcode, fout = helper.nnlab("status --watch 0.2 " .. grid)
    assert.equal(0, fcode)
    assert.matches("3 points: 2 DONE, 1 FAILED; finished\n$", fout)
    assert.is_true(core.clock() - t0 < 30)
    assert.equal(2, (helper.nnlab("status " .. out .. "/nothing")))
  end)
end)
