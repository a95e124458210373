-- Installing nnlab: make install DESTDIR=... / make uninstall, luarocks make
-- into a temporary tree, and the README's Quick start against .ci/run. Each
-- installed copy runs a script and `nnlab run` from a folder outside the
-- repository, with an experiment file outside it, and no path of the clone.
local helper = require("helper")
local root = helper.root

local function sh(cmd)
  local out = os.tmpname()
  local ok, _, code = os.execute(("(%s) >%s 2>&1"):format(cmd, out))
  local text = helper.read(out)
  os.remove(out)
  return ok and 0 or code, text
end

-- The commands below must not see the clone's module paths (tests/run.sh
-- sets them). Under make test SANITIZE=1 the copies are built with the
-- sanitizers too, and the runtimes tests/run.sh preloads stay.
local CLEAN_ENV = "env -u LUA_PATH -u LUA_CPATH"

local EXPERIMENT = [[
local nn = require("nnlab")
return nn.experiment{
  name = "outside",
  params = {seed = 1, lr = 0.5, epochs = 2, batch = 100},
  data = function()
    local m = nn.mnist()
    local train, val = m.train:subset(1, 3000):split{2000, 1000}
    return {train = train, validation = val, test = m.test:subset(1, 1000)}
  end,
  model = function() return nn.Sequential{nn.Linear(784, 10)} end,
  optimizer = function(p) return nn.SGD{lr = p.lr} end,
}
]]

local SCRIPT = [[
local nn = require("nnlab")
local m = nn.mnist()
print("api " .. package.searchpath("nnlab.api", package.path))
print("mnist " .. nn.info().mnist)
print("version " .. nn.info().nnlab)
print("items " .. m.train:size() .. " " .. m.test:size())
]]

--- A folder outside the repository holding the experiment and the script.
local function outside_folder()
  local dir = helper.tmpdir()
  helper.write(dir .. "/outside.lua", EXPERIMENT)
  helper.write(dir .. "/script.lua", SCRIPT)
  return dir
end

--- Runs the script and `nnlab run` with the installed command in dir.
local function check_installed_command(nnlab, dir, modules, mnist)
  local code, out = sh(("cd %s && %s %s script.lua"):format(dir, CLEAN_ENV, nnlab))
  assert.are.equal(0, code, out)
  assert.matches("api " .. modules:gsub("%p", "%%%0") .. "/nnlab/api%.lua", out)
  assert.matches("mnist " .. mnist:gsub("%p", "%%%0"), out)
  assert.matches("items 60000 10000", out)
  code, out = sh(("cd %s && %s %s run outside.lua --quiet"):format(dir, CLEAN_ENV, nnlab))
  assert.are.equal(0, code, out)
  assert.matches("default\tDONE\tval_accuracy 0%.%d+\ttest_accuracy 0%.%d+", out)
  assert.truthy(io.open(dir .. "/results/outside/default/model.nnl"))
  assert.truthy(io.open(dir .. "/results/outside/summary.tsv"))
  -- nnlab slurm's job scripts call this installed command
  code, out = sh(("cd %s && %s %s slurm outside.lua"):format(dir, CLEAN_ENV, nnlab))
  assert.are.equal(0, code, out)
  local sbatch = helper.read(dir .. "/results/outside/slurm/outside.sbatch")
  assert.truthy(sbatch:find(nnlab, 1, true), sbatch)
end

local function files_under(dir)
  local _, out = sh(("cd %s && find . -type f | sort"):format(dir))
  local files = {}
  for line in out:gmatch("[^\n]+") do files[#files + 1] = line end
  return files
end

describe("make install", function()
  it("installs under DESTDIR, runs from outside the repository, and make uninstall removes it all", function()
    local dest = helper.tmpdir()
    local code, out = sh(("cd %s && %s make install PREFIX=/usr/local DESTDIR=%s"):format(root, CLEAN_ENV, dest))
    assert.are.equal(0, code, out)
    local prefix = dest .. "/usr/local"
    local files = files_under(dest)
    local want = {"./usr/local/bin/nnlab", "./usr/local/lib/lua/5.4/nnlab.so", "./usr/local/share/man/man1/nnlab.1",
                  "./usr/local/share/lua/5.4/nnlab/api.lua", "./usr/local/share/lua/5.4/nnlab/cli.lua",
                  "./usr/local/share/lua/5.4/nnlab/predict.lua",
                  "./usr/local/share/nnlab/data/mnist/train-images-idx3-ubyte.gz",
                  "./usr/local/share/nnlab/data/mnist/t10k-labels-idx1-ubyte.gz"}
    local have = {}
    for _, f in ipairs(files) do have[f] = true end
    for _, f in ipairs(want) do assert.is_true(have[f] ~= nil, f .. " not installed") end

    local dir = outside_folder()
    check_installed_command(prefix .. "/bin/nnlab", dir, prefix .. "/share/lua/5.4",
      prefix .. "/share/nnlab/data/mnist")
    -- plain lua5.4 with the installed folders on its paths
    code, out = sh(("cd %s && %s LUA_PATH='%s/share/lua/5.4/?.lua;;' LUA_CPATH='%s/lib/lua/5.4/?.so;;' "
      .. "lua5.4 script.lua"):format(dir, CLEAN_ENV, prefix, prefix))
    assert.are.equal(0, code, out)
    assert.matches("version %d+%.%d+%.%d+", out)
    assert.matches("items 60000 10000", out)
    -- the man page renders
    code, out = sh(("man -l %s/share/man/man1/nnlab.1 | grep -c predict"):format(prefix))
    if code == 0 then assert.is_true(tonumber(out) > 0) end

    code, out = sh(("cd %s && %s make uninstall PREFIX=/usr/local DESTDIR=%s"):format(root, CLEAN_ENV, dest))
    assert.are.equal(0, code, out)
    assert.are.same({}, files_under(dest))
    assert.is_nil(io.open(prefix .. "/share/nnlab"))
    assert.is_nil(io.open(prefix .. "/share/lua/5.4/nnlab"))
    os.execute("rm -rf " .. dest .. " " .. dir)
  end)
end)

local have_luarocks = os.execute("command -v luarocks >/dev/null 2>&1")
local lr_it = have_luarocks and it or pending

describe("luarocks make", function()
  lr_it("builds a copy of the source into a tree; require 'nnlab' and the nnlab command work from anywhere", function()
    local tmp = helper.tmpdir()
    local src, tree = tmp .. "/src", tmp .. "/tree"
    local code, out = sh(("mkdir -p %s && tar -C %s --exclude=./build --exclude=./results -cf - . | tar -C %s -xf -")
      :format(src, root, src))
    assert.are.equal(0, code, out)
    -- offline: the only rocks server is an empty folder, so any download would fail
    local server = tmp .. "/no-server"
    os.execute("mkdir -p " .. server)
    code, out = sh(("cd %s && %s MAKEFLAGS=-j2 luarocks --lua-version 5.4 --only-server=%s make --tree %s")
      :format(src, CLEAN_ENV, server, tree))
    assert.are.equal(0, code, out)
    assert.matches("nnlab scm%-1 is now installed", out)
    local dir = outside_folder()
    code, out = sh(("cd %s && %s sh -c 'eval \"$(luarocks --lua-version 5.4 path --tree %s)\"; "
      .. "lua5.4 -e \"print(require(\\\"nnlab\\\").info().nnlab)\" && lua5.4 script.lua'"):format(dir, CLEAN_ENV, tree))
    assert.are.equal(0, code, out)
    assert.matches("^%d+%.%d+%.%d+\n", out)
    assert.matches("api " .. (tree .. "/share/lua/5.4"):gsub("%p", "%%%0"), out)
    assert.matches("items 60000 10000", out)
    os.execute("rm -rf " .. src)  -- the tree must not need the source
    check_installed_command(tree .. "/bin/nnlab", dir, tree .. "/share/lua/5.4",
      tree .. "/share/lua/5.4/nnlab/data/mnist")
    os.execute("rm -rf " .. tmp .. " " .. dir)
  end)
end)

describe("Quick start", function()
  local readme = helper.read(root .. "/README.md")
  local block = readme:match("## Quick start.-```sh\n(.-)```")
  local lines = {}
  for line in (block or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end

  it("is two commands: install, build and run the main job; install the test tools and run every test", function()
    assert.are.equal(2, #lines)
    assert.matches("^sh %.ci/install%-deps%.sh && make && build/nnlab run experiments/mlp_784_32_16%.lua$", lines[1])
    assert.matches("^sh %.ci/install%-deps%.sh %-%-dev && make test$", lines[2])
  end)

  it("is what .ci/run runs: the same install step, then exactly the test command", function()
    local ci = {}
    for line in helper.read(root .. "/.ci/run"):gmatch("[^\n]+") do
      if not line:match("^#") and not line:match("^set ") and not line:match("^cd ") then ci[#ci + 1] = line end
    end
    assert.are.same({lines[1]:match("^(sh %.ci/install%-deps%.sh) &&"), lines[2]}, ci)
  end)

  it("install-deps.sh lists the runtime packages, adds the test tools with --dev, rejects other arguments", function()
    local code, runtime = sh(("sh %s/.ci/install-deps.sh --list"):format(root))
    assert.are.equal(0, code)
    local _, dev = sh(("sh %s/.ci/install-deps.sh --dev --list"):format(root))
    for _, p in ipairs{"liblua5.4-dev", "libopenblas-dev", "zlib1g-dev", "libpng-dev", "gnuplot-nox",
                       "lua-argparse"} do
      assert.matches(" " .. p:gsub("%p", "%%%0") .. "[ \n]", " " .. runtime)
    end
    for _, p in ipairs{"lua-busted", "libcmocka-dev", "lua-check", "cppcheck", "clang", "valgrind", "slurm-wlm",
                       "munge", "parallel", "luarocks", "python3-torch"} do
      assert.is_nil(runtime:find(" " .. p .. "[ \n]"), p .. " is a test tool")
      assert.matches(" " .. p:gsub("%p", "%%%0") .. "[ \n]", " " .. dev)
    end
    code = sh(("sh %s/.ci/install-deps.sh --frobnicate"):format(root))
    assert.are.equal(2, code)
  end)
end)
