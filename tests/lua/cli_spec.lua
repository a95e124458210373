local helper = require("helper")

describe("build/nnlab", function()
  it("reports versions, BLAS and threads", function()
    local code, out = helper.nnlab("--version")
    assert.are.equal(0, code)
    assert.matches("^nnlab %d+%.%d+%.%d+ %(Lua 5%.4", out)
    assert.matches("BLAS: OpenBLAS", out)
  end)

  it("picks OpenBLAS's AVX-512 kernel on a CPU that has it, unless told to keep OpenBLAS's choice", function()
    local f = assert(io.open("/proc/cpuinfo"))
    local flags = (f:read("a"):match("\nflags%s*:([^\n]*)") or "") .. " "
    f:close()
    local avx512 = true
    for _, want in ipairs{"avx512f", "avx512bw", "avx512vl", "avx512dq"} do
      avx512 = avx512 and flags:find(" " .. want .. " ", 1, true) ~= nil
    end
    local _, out = helper.nnlab("--version", "OPENBLAS_CORETYPE=Haswell")
    assert.matches(avx512 and "kernel SkylakeX;" or "kernel Haswell;", out)
    _, out = helper.nnlab("--version", "OPENBLAS_CORETYPE=Haswell NNLAB_KEEP_BLAS_CORE=1")
    assert.matches("kernel Haswell;", out)
  end)

  it("runs a script with its arguments from any folder", function()
    local dir = helper.tmpdir()
    helper.write(dir .. "/s.lua", 'local nn = require("nnlab"); print(arg[1], nn.mnist().test:size())')
    local code, out = helper.nnlab(("%s/s.lua hello"):format(dir))
    assert.are.equal(0, code)
    assert.are.equal("hello\t10000\n", out)
    os.execute("rm -rf " .. dir)
  end)

  it("fails with a message on a script error, a missing script or a bad command", function()
    local dir = helper.tmpdir()
    helper.write(dir .. "/bad.lua", 'local nn = require("nnlab"); nn.Linear(0, 1)')
    local code, _, err = helper.nnlab(dir .. "/bad.lua")
    assert.are.equal(1, code)
    assert.matches("bad argument #1 to 'Linear' %(in_features must be an integer in 1..16777216, got 0%)", err)
    code, _, err = helper.nnlab(dir .. "/missing.lua")
    assert.are.equal(1, code)
    assert.matches("cannot open", err)
    code, _, err = helper.nnlab("frobnicate")
    assert.are.equal(2, code)
    assert.matches("unknown command 'frobnicate'", err)
    os.execute("rm -rf " .. dir)
  end)

  it("passes the engine's acceptance script", function()
    local code, out, err = helper.nnlab(helper.root .. "/tests/scripts/engine_acceptance.lua")
    assert.are.equal(0, code, err)
    local v = {}
    for k, x in out:gmatch("(%S+)\t(%S+)") do v[k] = tonumber(x) end
    assert.is_true(v.mlp_test_accuracy >= 0.90, out)
    assert.are.equal(1, v.reload_same)
    assert.is_true(v.loop_test_accuracy >= 0.92, out)
    assert.is_true(v.gradcheck_ce < 1e-4 and v.gradcheck_mse < 1e-4, out)
    assert.is_near(0.444, v.softmax_cost_after_100, 0.01)
  end)
end)
