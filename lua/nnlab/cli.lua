--- The command line of build/nnlab: `nnlab script.lua args...` runs a script
-- as lua5.4 does; `nnlab --version` reports versions.
local cli = {}

local USAGE = [[
usage: nnlab SCRIPT.lua [ARGS...]   run a Lua script with require "nnlab" available
       nnlab --version              versions, BLAS library and kernel, threads
       nnlab --help                 this text]]

local function version()
  local nn = require("nnlab")
  local i = nn.info()
  print(("nnlab %s (%s, zlib %s)"):format(i.version, i.lua, i.zlib))
  print(("BLAS: %s; kernel %s; %d thread%s"):format(i.blas, i.blas_kernel, i.threads, i.threads == 1 and "" or "s"))
end

local function run_script(argv)
  local script = argv[1]
  local chunk, err = loadfile(script)
  if not chunk then
    io.stderr:write("nnlab: ", err, "\n")
    return 1
  end
  local script_arg = {[-1] = argv[0], [0] = script}
  for i = 2, #argv do script_arg[i - 1] = argv[i] end
  _G.arg = script_arg
  local ok, msg = xpcall(chunk, debug.traceback, table.unpack(script_arg, 1, #script_arg))
  if not ok then
    io.stderr:write("nnlab: ", tostring(msg), "\n")
    return 1
  end
  return 0
end

function cli.main(argv)
  local first = argv[1]
  if first == nil or first == "-h" or first == "--help" or first == "help" then
    print(USAGE)
    return first == nil and 2 or 0
  end
  if first == "--version" or first == "-v" then
    version()
    return 0
  end
  if first:match("%.lua$") or first:find("/") then
    return run_script(argv)
  end
  io.stderr:write(("nnlab: unknown command '%s'\n%s\n"):format(first, USAGE))
  return 2
end

return cli
