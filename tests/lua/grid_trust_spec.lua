-- Issue 13: grids you can trust (names and paths, identity, concurrency and
-- signals, the run folder's one home).
local helper = require("helper")
local tsv = require("nnlab.tsv")
local core = require("nnlab.core")
local lfs = require("lfs")
local q = require("nnlab.shell").quote

local NNLAB = helper.root .. "/build/nnlab"

-- A grid of two points over a string axis, a few milliseconds each.
local TINY = [[
local nn = require("nnlab")
return nn.experiment{
  name = "tiny",
  params = {tag = "a", lr = 0.1, epochs = 2, batch = "full", shuffle = false, n = 200},
  grid = {tag = {"a", "b"}},
  quick = {epochs = 1},
  data = function(p)
    local train, val = nn.mnist().train:subset(1, p.n):split{p.n // 2, p.n // 2}
    return {train = train, validation = val}
  end,
  model = function() return nn.Sequential{nn.Linear(784, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr} end,
}
]]

local function new_tiny()
  local dir = helper.tmpdir()
  helper.write(dir .. "/tiny.lua", TINY)
  return dir, dir .. "/tiny.lua"
end

local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok and 0 or code
end

local function listing(dir)
  local p = io.popen("cd " .. q(dir) .. " && find . | sort")
  local s = p:read("a")
  p:close()
  return s
end

local function statuses(grid)
  local _, rows = assert(tsv.read_table(grid .. "/summary.tsv"))
  local t = {}
  for _, r in ipairs(rows) do t[tostring(r.point)] = r.status end
  return t
end

local function wait_until(pred, seconds)
  local t0 = core.clock()
  while core.clock() - t0 < (seconds or 60) do
    if pred() then return true end
    core.sleep(0.05)
  end
  return false
end

local function one_line(s)
  return select(2, s:gsub("\n", "")) == 1
end

describe("names and paths", function()
  local dir, exp
  before_each(function() dir, exp = new_tiny() end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  it("a value with / or .. is one folder inside the grid, its exact value in config.tsv", function()
    local code, stdout, stderr = helper.nnlab(("run %s --set %s --out %s/a/b --quiet"):format(exp,
      q("tag=ok,/../../../x"), dir))
    assert.are.equal(0, code, stderr)
    local grid = dir .. "/a/b/" .. helper.grid_name(exp, "--set tag=ok,/../../../x")
    assert.are.equal("tiny+tag=ok,~2F..~2F..~2F..~2Fx", grid:match("[^/]*$"))
    assert.matches("tag=~2F..~2F..~2F..~2Fx\tDONE", stdout, 1, true)
    assert.are.equal("/../../../x", tsv.read_kv(grid .. "/tag=~2F..~2F..~2F..~2Fx/config.tsv").tag)
    -- nothing anywhere else: the only folders are a, a/b and the grid
    local found = listing(dir)
    assert.is_nil(found:find("\n%./x"), found)
    assert.is_nil(found:find("\n%./a/x"), found)
    assert.are.same({["tag=ok"] = "DONE", ["tag=~2F..~2F..~2F..~2Fx"] = "DONE"}, statuses(grid))
  end)

  it("a long value gets a name of at most 120 bytes that ends with a hash of the whole", function()
    local long = ("v"):rep(300)
    local code, _, stderr = helper.nnlab(("run %s --set tag=%s,w --out %s --quiet --list"):format(exp, long, dir))
    assert.are.equal(0, code, stderr)
    local grid = helper.grid_name(exp, "--set tag=" .. long .. ",w")
    assert.is_true(#grid <= 120)
    assert.matches("~%x%x%x%x%x%x%x%x$", grid)
    local _, out = helper.nnlab(("run %s --set tag=%s,w --list"):format(exp, long))
    local first = out:match("^0\t([^\n]*)")
    assert.is_true(#first <= 120)
    assert.matches("^tag=vvvv.*~%x%x%x%x%x%x%x%x$", first)
  end)

  it("--restart never follows a link out of the grid; a point folder that is a link is refused", function()
    assert.are.equal(0, (helper.nnlab(("run %s --out %s/out --quiet"):format(exp, dir))))
    local grid = dir .. "/out/tiny"
    os.execute(("mkdir -p %s/outside && touch %s/outside/keep && ln -s %s/outside %s/tag=a/evil"):format(
      q(dir), q(dir), q(dir), q(grid)))
    assert.are.equal(0, (helper.nnlab(("run %s --out %s/out --quiet --restart"):format(exp, dir))))
    assert.is_truthy(io.open(dir .. "/outside/keep"))
    assert.is_nil(lfs.symlinkattributes(grid .. "/tag=a/evil"))
    os.execute(("mkdir %s/outside2 && rm -rf %s/tag=b && ln -s %s/outside2 %s/tag=b"):format(q(dir), q(grid),
      q(dir), q(grid)))
    local code, _, stderr = helper.nnlab(("run %s --out %s/out --quiet --restart"):format(exp, dir))
    assert.are.equal(2, code)
    assert.matches("tag=b: is a symbolic link, not a folder; nnlab writes only into folders inside", stderr)
    assert.are.equal(".\n", listing(dir .. "/outside2"))
  end)

  it("no value or folder name reaches gnuplot as code, in a run or in collect and plot", function()
    local evil = [[x"; system("touch P"); #]]
    local evil2 = [[y'; system('touch Q'); #]]
    local code, _, stderr = helper.nnlab(("run %s --set %s --out %s/out --quiet"):format(exp,
      q("tag=" .. evil .. "," .. evil2), dir))
    assert.are.equal(0, code, stderr)
    local grid = dir .. "/out/" .. (io.popen("ls " .. q(dir .. "/out")):read("l"))
    assert.is_truthy(io.open(grid .. "/grid_cost.png"), listing(dir))
    -- results received from someone else: folder names that are code
    local point = io.popen("ls " .. q(grid) .. " | grep '^tag='"):read("l")
    for _, name in ipairs{[[r"; system("touch R"); #]], "s'; system('touch S'); #", "t`touch T`\n"} do
      assert.are.equal(0, sh(("cp -r %s %s"):format(q(grid .. "/" .. point), q(grid .. "/" .. name))))
    end
    code, _, stderr = helper.nnlab("collect " .. q(grid))
    assert.are.equal(0, code, stderr)
    code, _, stderr = helper.nnlab("plot " .. q(grid))
    assert.are.equal(0, code, stderr)
    local found = listing(dir)
    for _, f in ipairs{"P", "Q", "R", "S", "T"} do
      assert.is_nil(found:find("/" .. f .. "\n", 1, true), found)
      assert.is_nil(io.open(helper.root .. "/" .. f), f)
    end
    assert.matches("'r\"; system%(\"touch R\"%); #/metrics.tsv' using", helper.read(grid .. "/grid_cost.gp"))
    assert.matches("'s''; system%(''touch S''%); #/metrics.tsv' using", helper.read(grid .. "/grid_cost.gp"))
  end)

  it("--jobs passes {} in --out and --set through as text", function()
    local code, _, stderr = helper.nnlab(("run %s --set %s --out %s --quiet --jobs 2"):format(exp,
      q("tag=x{}y,b"), q(dir .. "/o{}")))
    assert.are.equal(0, code, stderr)
    local grid = dir .. "/o{}/tiny+tag=x~7B~7Dy,b"
    assert.are.same({["tag=x~7B~7Dy"] = "DONE", ["tag=b"] = "DONE"}, statuses(grid))
    assert.are.equal("x{}y", tsv.read_kv(grid .. "/tag=x~7B~7Dy/config.tsv").tag)
  end)

  it("a value with a tab or a newline is refused with one line and exit status 2", function()
    for _, v in ipairs{"a\tb", "a\nb"} do
      local code, _, stderr = helper.nnlab(("run %s --set %s --out %s/out"):format(exp, q("tag=" .. v), dir))
      assert.are.equal(2, code)
      assert.matches("^nnlab: %-%-set tag: a value cannot contain control characters %(tab, newline, ...%)\n$",
        stderr)
    end
    assert.is_nil(lfs.attributes(dir .. "/out"))
  end)

  it("sbatch scripts quote paths for sbatch (a space, a % doubled) and for the shell in the body", function()
    local out = dir .. "/with space %j"
    local code, stdout, stderr = helper.nnlab(("slurm %s --out %s"):format(exp, q(out)))
    assert.are.equal(0, code, stderr)
    local script = helper.read(out .. "/tiny/slurm/tiny.sbatch")
    local escaped = (out:gsub("%%", "%%%%") .. "/tiny/slurm/tiny"):gsub("%p", "%%%0")
    assert.matches('\n#SBATCH %-%-output="' .. escaped .. '%-%%A_%%a%.log"\n', script)
    assert.matches('\n#SBATCH %-%-output="' .. escaped .. '%-collect%-%%j%.log"\n',
      helper.read(out .. "/tiny/slurm/tiny-collect.sbatch"))
    assert.matches("%-%-out '" .. out:gsub("%p", "%%%0") .. "' ", script)
    assert.are.equal(0, sh("bash -n " .. q(out .. "/tiny/slurm/tiny.sbatch")))
    assert.matches("submit: id=%$%(sbatch %-%-parsable '" .. (out .. "/tiny/slurm/tiny.sbatch"):gsub("%p", "%%%0")
      .. "'%)", stdout)
    local _
    code, _, stderr = helper.nnlab(("slurm %s --out %s %s"):format(exp, q(dir .. "/o2"),
      q("--sbatch-arg=--account=x\necho owned")))
    assert.are.equal(2, code)
    assert.matches("an #SBATCH line cannot hold a control character", stderr)
    code, _, stderr = helper.nnlab(("slurm %s --out %s"):format(exp, q(dir .. '/o"3')))
    assert.are.equal(2, code)
    assert.matches('o"3/tiny/slurm/tiny: a path for sbatch cannot hold a double quote', stderr, 1, true)
  end)
end)

describe("identity", function()
  local dir, exp
  before_each(function() dir, exp = new_tiny() end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  it("covers the data's contents, not runner settings or threads", function()
    local base = ("run %s --out %s/out"):format(exp, dir)
    assert.are.equal(0, (helper.nnlab(base .. " --quiet")))
    local config = tsv.read_kv(dir .. "/out/tiny/tag=a/config.tsv")
    assert.matches("^crc32:%x+$", config.data)
    assert.is_false(config.quick)
    assert.is_nil(config.checkpoint_seconds)
    -- other files under NNLAB_DATA (as Fashion-MNIST would be): another configuration
    local data = dir .. "/data"
    os.execute("mkdir " .. q(data))
    for _, prefix in ipairs{"train", "t10k"} do
      helper.write_idx_pair(data, prefix, 300, 28, 28, function(i, k) return (i * 7 + k) % 256 end,
        function(i) return i % 10 end)
    end
    local code, _, stderr = helper.nnlab(base, "NNLAB_DATA=" .. q(data))
    assert.are.equal(2, code)
    assert.matches("data=crc32:%x+ on disk, data=crc32:%x+ asked%); run with %-%-restart", stderr)
    -- settings and threads do not change the numbers: reused
    code, _, stderr = helper.nnlab(base .. " --set checkpoint_seconds=7", "NNLAB_THREADS=2")
    assert.are.equal(0, code, stderr)
    assert.matches("tag=a: finished earlier, reused", stderr)
    assert.matches("tag=b: finished earlier, reused", stderr)
    code, _, stderr = helper.nnlab(base .. " --set checkpoint_seconds=0,1")
    assert.are.equal(2, code)
    assert.matches("%-%-set checkpoint_seconds: '0,1' is not a number", stderr)
  end)

  it("--quick results live in NAME-quick and never stand in for the full run", function()
    local code, _, stderr = helper.nnlab(("run %s --out %s/out --quick --quiet"):format(exp, dir))
    assert.are.equal(0, code, stderr)
    assert.is_true(tsv.read_kv(dir .. "/out/tiny-quick/tag=a/config.tsv").quick)
    assert.are.equal(1, tsv.read_kv(dir .. "/out/tiny-quick/tag=a/config.tsv").epochs)
    code, _, stderr = helper.nnlab(("run %s --out %s/out"):format(exp, dir))
    assert.are.equal(0, code, stderr)
    assert.is_nil(stderr:find("reused"))
    assert.are.equal(2, tsv.read_kv(dir .. "/out/tiny/tag=a/config.tsv").epochs)
    local _, rows = tsv.read_table(dir .. "/out/tiny/tag=a/metrics.tsv")
    assert.are.equal(2, #rows)
  end)

  it("a pinned parameter makes its own grid folder; the default grid's summary holds only its points", function()
    assert.are.equal(0, (helper.nnlab(("run %s --out %s/out --quiet"):format(exp, dir))))
    assert.are.equal(0, (helper.nnlab(("run %s --out %s/out --quiet --set lr=0.5"):format(exp, dir))))
    assert.are.equal(0, (helper.nnlab(("run %s --out %s/out --quiet --set tag=a,b,c"):format(exp, dir))))
    local code, stdout = helper.nnlab(("collect %s/out/tiny"):format(dir))
    assert.are.equal(0, code)
    assert.matches("2 points %(2 done", stdout)
    local _, rows = tsv.read_table(dir .. "/out/tiny/summary.tsv")
    for _, r in ipairs(rows) do assert.are.equal(0.1, r.lr) end
    assert.are.same({["tag=a"] = "DONE", ["tag=b"] = "DONE"}, statuses(dir .. "/out/tiny+lr=0.5"))
    assert.are.equal(3, #select(2, tsv.read_table(dir .. "/out/tiny+tag=a,b,c/summary.tsv")))
    -- the same values as the base grid's are the base grid
    assert.are.equal("tiny", helper.grid_name(exp, "--set lr=0.1 --set tag=a,b"))
  end)

  local SGD_LR = "must be a positive finite number, got %-1%)\n$"
  it("numeric --set values are checked before anything runs: one line, exit status 2", function()
    local cases = {
      {"epochs=2.5", "^nnlab: %-%-set epochs=2%.5: epochs must be an integer >= 1\n$"},
      {"epochs=0", "^nnlab: %-%-set epochs=0: epochs must be an integer >= 1\n$"},
      {"batch=abc", "^nnlab: %-%-set batch=abc: batch must be an integer >= 1 or \"full\"\n$"},
      {"seed=-1", "^nnlab: %-%-set seed=%-1: seed must be an integer >= 0\n$"},
      {"lr=-1", "^nnlab: %-%-set lr=%-1: .*bad argument #1 to 'SGD' %(lr " .. SGD_LR},
      {"lr=1,-1", "^nnlab: %-%-set lr=%-1: .*bad argument #1 to 'SGD' %(lr " .. SGD_LR},
    }
    for _, c in ipairs(cases) do
      local code, _, stderr = helper.nnlab(("run %s --out %s/out --set %s"):format(exp, dir, c[1]))
      assert.are.equal(2, code, c[1])
      assert.matches(c[2], stderr)
      assert.is_true(one_line(stderr), stderr)
      assert.is_nil(lfs.attributes(dir .. "/out"), c[1])
    end
    -- a model built from the data (iris fits nn.Normalize on its training set)
    local code0, _, err0 = helper.nnlab(("run experiments/iris.lua --out %s/out --set hidden=0"):format(dir))
    assert.are.equal(2, code0, err0)
    assert.matches("^nnlab: %-%-set hidden=0: .*Linear.*\n$", err0)
    assert.is_true(one_line(err0), err0)
    assert.is_nil(lfs.attributes(dir .. "/out"))
    -- a number for a parameter whose default is "full" is a batch size
    local code, _, stderr = helper.nnlab(("run %s --out %s/out --set batch=30 --quiet"):format(exp, dir))
    assert.are.equal(0, code, stderr)
    assert.are.equal(30, tsv.read_kv(dir .. "/out/tiny+batch=30/tag=a/config.tsv").batch)
  end)
end)

describe("locks", function()
  it("are fcntl locks: held by one process at a time, never dropped by a look from the holder", function()
    local dir = helper.tmpdir()
    local path = dir .. "/lock"
    local lock = assert(core.lock_point(path, "pid 1 on here"))
    assert.are.equal("pid 1 on here", core.lock_holder(path))
    local again, holder = core.lock_point(path, "me again")
    assert.is_false(again)
    assert.are.equal("pid 1 on here", holder)
    local function from_other()
      local p = io.popen(("lua5.4 -e %s"):format(q(('package.cpath = %q .. package.cpath '
        .. 'local c = require("nnlab.core") local l, h = c.lock_point(%q, "child") '
        .. 'io.write(l and "locked" or h)'):format(helper.root .. "/build/?.so;", path))))
      local s = p:read("a")
      p:close()
      return s
    end
    assert.are.equal("pid 1 on here", from_other())
    lock:unlock()
    lock:unlock()
    assert.is_nil(core.lock_holder(path))
    assert.are.equal("locked", from_other())
    os.execute("rm -rf " .. q(dir))
  end)
end)

describe("concurrency", function()
  local dir, exp
  before_each(function() dir, exp = new_tiny() end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  local LONG = "--set epochs=1000000 --set checkpoint_seconds=0 --set n=400"

  it("a point another process trains is skipped naming its holder, and RUNNING in the summary", function()
    local grid = dir .. "/out/" .. helper.grid_name(exp, LONG)
    local pidfile = dir .. "/pid"
    os.execute(("%s run %s %s --point 0 --quiet --out %s/out >/dev/null 2>&1 & echo $! > %s"):format(NNLAB, exp,
      LONG, dir, pidfile))
    local pid = tonumber(helper.read(pidfile))
    assert.is_true(wait_until(function()
      return core.lock_holder(grid .. "/tag=a/lock") ~= nil and lfs.attributes(grid .. "/tag=a/checkpoint.nnl")
    end), "the first run did not start")
    local code, _, stderr = helper.nnlab(("run %s %s --point 0 --out %s/out"):format(exp, LONG, dir))
    assert.are.equal(0, code, stderr)
    assert.matches("tag=a: being trained by pid " .. pid .. " on [^\n]+ since [%dT:Z%-]+; skipped", stderr)
    assert.matches("1 point trained by another process, skipped: tag=a %(pid " .. pid, stderr)
    local stdout
    code, stdout = helper.nnlab(("collect %s"):format(grid))
    assert.are.equal(0, code)
    assert.matches("1 running", stdout)
    assert.are.equal("RUNNING", statuses(grid)["tag=a"])
    os.execute("kill -TERM " .. pid)
    assert.is_true(wait_until(function() return core.lock_holder(grid .. "/tag=a/lock") == nil end, 30))
    helper.nnlab(("collect %s"):format(grid))
    assert.are.equal("INTERRUPTED", statuses(grid)["tag=a"])
  end)

  for _, how in ipairs{"SIGINT to the process group", "SIGTERM to the parent"} do
    it("--jobs: one " .. how .. " stops every worker after its checkpoint; unfinished points, exit 130", function()
      local sets = LONG .. " --set tag=a,b,c,d"
      local grid = dir .. "/out/" .. helper.grid_name(exp, sets)
      os.execute(("(setsid sh -c 'echo $$ > %s/pid; exec %s run %s %s --jobs 2 --out %s/out' >%s/stdout 2>%s/stderr;"
        .. " echo $? > %s/rc) &"):format(dir, NNLAB, exp, sets, dir, dir, dir, dir))
      assert.is_true(wait_until(function() return io.open(dir .. "/pid") ~= nil end))
      local pid = tonumber(helper.read(dir .. "/pid"))
      assert.is_true(wait_until(function()
        return lfs.attributes(grid .. "/tag=a/checkpoint.nnl") and lfs.attributes(grid .. "/tag=b/checkpoint.nnl")
      end), "the workers did not start")
      if how:match("SIGINT") then os.execute("/bin/kill -INT -- -" .. pid) else os.execute("kill -TERM " .. pid) end
      assert.is_true(wait_until(function() return io.open(dir .. "/rc") ~= nil end, 60), "did not stop")
      assert.are.equal("130", helper.read(dir .. "/rc"):match("%d+"))
      -- without the sanitizer runtime that SANITIZE=1 preloads: ps hangs under it
      local ps = io.popen("env -u LD_PRELOAD ps -eo args"):read("a")
      assert.is_nil(ps:find(dir .. "/out", 1, true), "a worker is left: " .. ps)
      local st = statuses(grid)
      assert.are.same({["tag=a"] = "INTERRUPTED", ["tag=b"] = "INTERRUPTED", ["tag=c"] = "PENDING",
                       ["tag=d"] = "PENDING"}, st)
      local stderr = helper.read(dir .. "/stderr")
      assert.matches("nnlab: interrupted; 4 points unfinished %(tag=a INTERRUPTED, tag=b INTERRUPTED, "
        .. "tag=c PENDING, tag=d PENDING%); run the same command again", stderr)
      assert.is_nil(stderr:find("failed: "))
      assert.matches("stopped by SIG%u+ after epoch %d+; checkpoint written", helper.read(grid .. "/tag=a/worker.log"))
    end)
  end

  it("--jobs: each worker on max(1, cores / N) threads unless NNLAB_THREADS is set; one progress line", function()
    local code, _, stderr = helper.nnlab(("run %s --out %s/out --jobs 2"):format(exp, dir), "env -u NNLAB_THREADS")
    assert.are.equal(0, code, stderr)
    local want = math.max(1, core.cpu_count() // 2)
    assert.are.equal(want, tsv.read_kv(dir .. "/out/tiny/tag=a/meta.tsv").threads)
    assert.matches("%[grid%] 2/2 done, 0 running, 0 failed", stderr)
    assert.is_nil(stderr:find("epoch"), stderr)
    code, _, stderr = helper.nnlab(("run %s --out %s/out --jobs 2 --restart"):format(exp, dir), "NNLAB_THREADS=3")
    assert.are.equal(0, code, stderr)
    assert.are.equal(3, tsv.read_kv(dir .. "/out/tiny/tag=b/meta.tsv").threads)
  end)

  it("removes the temporaries of killed writes on the next run; two collects at once both succeed", function()
    local base = ("run %s --out %s/out --quiet"):format(exp, dir)
    assert.are.equal(0, (helper.nnlab(base)))
    local grid = dir .. "/out/tiny"
    helper.write(grid .. "/tag=a/metrics.tsv.tmp.Ab12Cd", "half")
    helper.write(grid .. "/summary.tsv.tmp.Zz99Yy", "half")
    assert.are.equal(0, (helper.nnlab(base)))
    assert.is_nil(io.open(grid .. "/tag=a/metrics.tsv.tmp.Ab12Cd"))
    assert.is_nil(io.open(grid .. "/summary.tsv.tmp.Zz99Yy"))
    for _ = 1, 3 do
      local cmd = ("%s collect %s >/dev/null 2>%s/e1 & a=$!; %s collect %s >/dev/null 2>%s/e2 & b=$!; "
        .. "wait $a; ra=$?; wait $b; rb=$?; [ $ra -eq 0 ] && [ $rb -eq 0 ]"):format(NNLAB, grid, dir, NNLAB, grid, dir)
      assert.are.equal(0, sh(cmd), helper.read(dir .. "/e1") .. helper.read(dir .. "/e2"))
      assert.are.equal("", helper.read(dir .. "/e1") .. helper.read(dir .. "/e2"))
    end
    assert.is_nil(listing(grid):find("%.tmp"), listing(grid))
  end)
end)

describe("the run folder's layout", function()
  local function source(name)
    return helper.read(helper.root .. "/lua/nnlab/" .. name .. ".lua")
  end

  it("has one home: no other module spells its file names", function()
    for _, m in ipairs{"runner", "results", "cli", "slurm", "plot", "experiment"} do
      local s = source(m):gsub("%-%-[^\n]*", "") -- code, not comments
      for _, f in ipairs{"config.tsv", "metrics.tsv", "final.tsv", "meta.tsv", "checkpoint.nnl", "model.nnl",
                         "summary.tsv", "grid.tsv", "/DONE", "/FAILED", "/lock"} do
        assert.is_nil(s:find(f, 1, true), m .. ".lua spells " .. f)
      end
    end
    local rundir = require("nnlab.rundir")
    assert.are.equal("config.tsv", rundir.FILES.config)
    assert.are.equal("checkpoint.nnl", rundir.FILES.checkpoint)
  end)

  it("is written through one atomic-file module", function()
    for _, m in ipairs{"runner", "results", "cli", "slurm", "plot", "tsv", "api", "rundir"} do
      assert.is_nil(source(m):find("write_file", 1, true), m)
    end
    assert.is_truthy(source("atomic"):find("core.write_file", 1, true))
  end)

  it("keeps runner settings apart from the experiment's parameters", function()
    local exp = require("nnlab.experiment")
    local e = exp.define{data = function() end, model = function() end, optimizer = function() end}
    assert.is_nil(e.params.checkpoint_seconds)
    assert.are.equal(1, e.settings.checkpoint_seconds)
    assert.error_matches(function()
      exp.define{params = {checkpoint_seconds = 2}, data = function() end, model = function() end,
                 optimizer = function() end}
    end, "checkpoint_seconds is a runner setting, not a parameter")
  end)
end)
